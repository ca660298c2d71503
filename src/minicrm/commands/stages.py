"""`crm stage` and `crm pipeline`: moving through the funnel, and the board."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work


def register(app: typer.Typer) -> None:
    app.command("stage")(stage)
    app.command("pipeline")(pipeline)


def stage(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="Id, exact email, or part of the name.")
    ],
    new_stage: Annotated[str, typer.Argument(metavar="STAGE", help="e.g. interest, won, lost.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required for lost; asked on a terminal).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When the move happened (default: now).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Move a contact in the funnel; every move is kept in its history."""
    from minicrm.commands import _output as out
    from minicrm.commands._prompts import ask_lost_reason
    from minicrm.dates import parse_when
    from minicrm.services.deals.stages import move_stage
    from minicrm.services.records.config import local_zone_of

    now = datetime.now(UTC)
    if new_stage.strip().casefold() == "lost" and not reason and out.interactive():
        reason = ask_lost_reason()
    with unit_of_work(ctx) as session:
        when = (
            parse_when(at, now=now, zone=local_zone_of(session), looking_back=True) if at else None
        )
        contact = move_stage(session, ref, new_stage, reason=reason, at=when, now=now)
    if json_:
        out.print_json(contact.to_json())
    else:
        out.info(f"#{contact.id} {contact.name} is now in {contact.stage}")


def pipeline(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=0, help="Deals shown per stage.")] = 3,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """The board: one column per stage with its deals' count and value, and the
    best-scored deals (title, company, value, expected close)."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.stages import pipeline as board

    with unit_of_work(ctx, write=False) as session:
        columns = board(session, top=top)
    if json_:
        out.print_json([c.to_json() for c in columns])
        return
    if out.stdout_is_tty():
        _print_board(columns)
    else:
        _print_plain(columns)


def _summary(column) -> str:
    from minicrm.commands._values import money as _money

    value = _money(column.value_cents) or "0"
    noun = "deal" if column.count == 1 else "deals"
    return f"{column.count} {noun} · {value}"


def _card(deal) -> list[str]:
    """A deal card's lines: title, then company · value · close date."""
    from minicrm.commands._values import money as _money

    details = [deal.company or deal.contact_name or "", _money(deal.value_cents) or ""]
    if deal.expected_close:
        details.append(f"closes {deal.expected_close.isoformat()}")
    return [f"#{deal.id} {deal.title} ({deal.score})", " · ".join(d for d in details if d)]


def _print_board(columns) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True, expand=True, header_style="bold")
    for column in columns:
        table.add_column(f"{column.stage}\n{_summary(column)}", overflow="fold", ratio=1)
    deepest = max((len(c.top) for c in columns), default=0)
    for row in range(deepest):
        table.add_row(
            *(
                "\n".join(line for line in _card(c.top[row]) if line) if row < len(c.top) else ""
                for c in columns
            )
        )
    Console(highlight=False).print(table)


def _print_plain(columns) -> None:
    for column in columns:
        print(f"{column.stage}: {_summary(column)}")
        for deal in column.top:
            title, details = _card(deal)
            print(f"  {title}" + (f" — {details}" if details else ""))
