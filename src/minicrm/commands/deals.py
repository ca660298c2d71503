"""`crm deal …`: deals by id — add, list, show, edit, rm, restore, stage,
won, lost and their lines."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

app = typer.Typer(help="Deals: what moves through the funnel (add, list, show, stage, lines…).")
line_app = typer.Typer(
    help="A deal's lines: add 'PRODUCT x QTY @ PRICE -DISCOUNT%' (price and discount optional), rm."
)
app.add_typer(line_app, name="line")

TTY_LIST_LIMIT = 100
Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
DealRef = Annotated[str, typer.Argument(metavar="ID", help="The deal's id: 12 or #12.")]
Title = Annotated[str | None, typer.Option("--title", help="What is being sold.")]
CompanyOpt = Annotated[str | None, typer.Option("--company", help="Company name (created if new).")]
Value = Annotated[str | None, typer.Option("--value", help="Deal value, e.g. 1250.50.")]
Close = Annotated[
    str | None,
    typer.Option("--close", metavar="WHEN", help="Expected close date: 2026-12-31, end of month…"),
]
Owner = Annotated[str | None, typer.Option("--owner", help="Salesperson responsible.")]
Source = Annotated[str | None, typer.Option("--source", help="Lead source.")]
LINE_HELP = "'PRODUCT x QTY @ PRICE -DISCOUNT%', price and discount optional; repeatable."

CSV_COLUMNS = [
    "id", "title", "contact_id", "contact_name", "company_id", "company", "stage", "value",
    "expected_close", "closed_at", "lost_reason", "lost_at_stage", "owner", "source", "score",
    "notes", "created_at", "updated_at",
]  # fmt: skip
LIST_HEADER = ["ID", "Title", "Contact", "Company", "Stage", "Value", "Close", "Score", "Owner"]


def _now() -> datetime:
    return datetime.now(UTC)


def _money(cents) -> str:
    from minicrm.commands._values import money

    return money(cents)


def _done(deal, json_: bool, message: str) -> None:
    from minicrm.commands import _output as out

    if json_:
        out.print_json(deal.to_json())
    else:
        out.info(message)


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[
        str | None, typer.Argument(metavar="[REF]", help="The contact: id, email or name part.")
    ] = None,
    company: CompanyOpt = None,
    title: Title = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Default: the first stage.")] = None,
    value: Value = None,
    close: Close = None,
    owner: Owner = None,
    source: Source = None,
    lost_reason: Annotated[
        str | None, typer.Option("--lost-reason", help="Needed with --stage lost.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free-text notes.")] = None,
    line: Annotated[list[str] | None, typer.Option("--line", help=LINE_HELP)] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Custom field.")
    ] = None,
    json_: Json = False,
) -> None:
    """Open a deal (for a contact, a company, or neither with --title); prints its id."""
    from minicrm.commands._values import assignments as _assignments
    from minicrm.services.deals.deals import DealInput, add_deal

    data = DealInput(
        contact=ref, company=company, title=title, stage=stage, value=value, close=close,
        owner=owner, source=source, notes=note, lost_reason=lost_reason, lines=line or [],
        extra=_assignments(set_),
    )  # fmt: skip
    with unit_of_work(ctx) as session:
        deal = add_deal(session, data, now=_now())
    if json_:
        from minicrm.commands import _output as out

        out.print_json(deal.to_json())
    else:
        print(deal.id)


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[str | None, typer.Option("--stage", help="Only deals in this stage.")] = None,
    owner: Owner = None,
    company: Annotated[str | None, typer.Option("--company", help="Only this company's.")] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", metavar="REF", help="Only this contact's.")
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open deals (the default).")] = False,
    won: Annotated[bool, typer.Option("--won", help="Won deals.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Lost deals.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Open and closed.")] = False,
    closing: Annotated[
        str | None,
        typer.Option("--closing", metavar="WHEN", help="Expected to close on or before WHEN."),
    ] = None,
    stale: Annotated[
        int | None,
        typer.Option(
            "--stale", metavar="DAYS", help="Open, no stage move or interaction for DAYS."
        ),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="value, close, score or updated.")] = "close",
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N deals.")] = None,
    json_: Json = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Write CSV to stdout.")] = False,
) -> None:
    """Deals as a table (or JSON/CSV): open ones unless --won, --lost or --all."""
    from operator import itemgetter

    from minicrm.commands import _output as out
    from minicrm.services.deals.listing import DealFilter, count_deals, list_deals

    if json_ and csv_:
        out.fail("choose one of --json and --csv")
    statuses = [n for n, on in (("open", open_), ("won", won), ("lost", lost), ("all", all_)) if on]
    if len(statuses) > 1:
        out.fail("choose one of --open, --won, --lost and --all")
    now = _now()
    filters = DealFilter(
        stage=stage, owner=owner, company=company, contact=contact,
        status=statuses[0] if statuses else None, closing=closing, stale=stale,
    )  # fmt: skip
    on_screen = not (json_ or csv_) and out.stdout_is_tty()
    shown = limit if limit is not None or not on_screen else TTY_LIST_LIMIT
    with unit_of_work(ctx, write=False) as session:
        deals = list_deals(session, filters, sort=sort, limit=shown, now=now)
        if json_:
            out.print_json_array(d.to_json() for d in deals)
        elif csv_:
            columns = itemgetter(*CSV_COLUMNS)
            out.print_csv(CSV_COLUMNS, (columns(d.to_json()) for d in deals))
        else:
            out.print_table(LIST_HEADER, (_row(d) for d in deals))
            if limit is None and on_screen:
                total = count_deals(session, filters, now=now)
                if total > TTY_LIST_LIMIT:
                    out.info(f"showing {TTY_LIST_LIMIT} of {total}; use --limit N or --csv")


def _row(deal) -> list[str]:
    return [
        str(deal.id), deal.title, deal.contact_name or "", deal.company or "", deal.stage,
        _money(deal.value_cents), deal.expected_close.isoformat() if deal.expected_close else "",
        str(deal.score), deal.owner or "",
    ]  # fmt: skip


@app.command("show")
def show(ctx: typer.Context, ref: DealRef, json_: Json = False) -> None:
    """A deal: its fields, lines, stage history and linked interactions."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.deals import deal_detail
    from minicrm.services.records.config import local_zone_of

    with unit_of_work(ctx, write=False) as session:
        detail = deal_detail(session, ref)
        zone = local_zone_of(session)
    if json_:
        out.print_json(detail.to_json())
        return
    print("\n".join(_detail_lines(detail, zone)))


def _detail_lines(detail, zone) -> list[str]:
    from minicrm.dates import format_local

    deal = detail.deal
    lines = [f"deal #{deal.id}  {deal.title}"]
    contact = f"#{deal.contact_id} {deal.contact_name}" if deal.contact_id else None
    close = deal.expected_close.isoformat() if deal.expected_close else None
    fields = [
        ("Contact", contact), ("Company", deal.company), ("Stage", deal.stage),
        ("Value", _money(deal.value_cents)), ("Close", close),
        ("Closed", format_local(deal.closed_at, zone) if deal.closed_at else None),
        ("Lost reason", deal.lost_reason), ("Lost at", deal.lost_at_stage),
        ("Owner", deal.owner), ("Source", deal.source), ("Score", str(deal.score)),
        ("Notes", deal.notes), *deal.extra.items(),
        ("Created", format_local(deal.created_at, zone)),
    ]  # fmt: skip
    lines += [f"  {label + ':':<13}{value}" for label, value in fields if value not in (None, "")]
    lines.append("")
    lines.append("Lines:" if deal.lines else "Lines: none")
    for line in deal.lines:
        what = line.product or line.description
        discount = f" -{_number(line.discount)}%" if line.discount else ""
        lines.append(
            f"  [{line.id}] {what} x {_number(line.quantity)} @ "
            f"{_money(line.unit_price_cents) or '0'}{discount} = {_money(line.total_cents) or '0'}"
        )
    lines.append("")
    lines.append("History:")
    for change in detail.history:
        reason = f" ({change.reason})" if change.reason else ""
        step = (
            f"{change.from_stage} → {change.to_stage}"
            if change.from_stage
            else (f"created in {change.to_stage}")
        )
        lines.append(f"  {format_local(change.at, zone)}  {step}{reason}")
    lines.append("")
    lines.append("Interactions:" if detail.interactions else "Interactions: none linked")
    for i in detail.interactions:
        amount = f" ({_money(i.amount_cents)})" if i.amount_cents is not None else ""
        lines.append(
            f"  {format_local(i.at, zone)}  {i.kind}{amount}: {i.summary or ''}".rstrip(": ")
        )
    return lines


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: DealRef,
    title: Title = None,
    value: Value = None,
    close: Close = None,
    owner: Owner = None,
    source: Source = None,
    company: CompanyOpt = None,
    contact: Annotated[
        str | None, typer.Option("--contact", metavar="REF", help="Move to another contact.")
    ] = None,
    note: Annotated[str | None, typer.Option("--notes", "--note", help="Free-text notes.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Custom field.")
    ] = None,
    json_: Json = False,
) -> None:
    """Change a deal's fields (an empty value clears one)."""
    from minicrm.commands._values import assignments as _assignments
    from minicrm.services.deals.deals import DealChanges, edit_deal

    given = {
        "title": title, "value": value, "close": close, "owner": owner, "source": source,
        "company": company, "contact": contact, "notes": note,
    }  # fmt: skip
    changes = DealChanges(
        fields={k: v for k, v in given.items() if v is not None}, set_extra=_assignments(set_)
    )
    with unit_of_work(ctx) as session:
        deal = edit_deal(session, ref, changes, now=_now())
    _done(deal, json_, f"updated deal #{deal.id} {deal.title}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    ref: DealRef,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_: Json = False,
) -> None:
    """Move a deal to the trash (undo: crm deal restore ID)."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.deals import trash_deal
    from minicrm.services.deals.reading import get_deal

    if not yes and out.interactive():
        with unit_of_work(ctx, write=False) as session:
            deal = get_deal(session, ref)
        if not typer.confirm(f"Move deal #{deal.id} {deal.title} to the trash?", default=False):
            out.fail("nothing deleted", 1)
    with unit_of_work(ctx) as session:
        deal = trash_deal(session, ref, now=_now())
    if json_:
        out.print_json(deal.to_json())
        return
    out.info(f"moved deal #{deal.id} {deal.title} to the trash (undo: crm deal restore {deal.id})")


@app.command("restore")
def restore(ctx: typer.Context, ref: DealRef, json_: Json = False) -> None:
    """Take a deal back out of the trash."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.deals import restore_deal

    with unit_of_work(ctx) as session:
        deal = restore_deal(session, ref, now=_now())
    if json_:
        out.print_json(deal.to_json())
        return
    out.info(f"restored deal #{deal.id} {deal.title}")


@app.command("stage")
def stage(
    ctx: typer.Context,
    ref: DealRef,
    new_stage: Annotated[str, typer.Argument(metavar="STAGE", help="e.g. interest, won, lost.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required for lost; asked on a terminal).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When the move happened (default: now).")
    ] = None,
    json_: Json = False,
) -> None:
    """Move one deal in the funnel; every move is kept in its history."""
    from minicrm.commands import _output as out
    from minicrm.commands._prompts import ask_lost_reason
    from minicrm.dates import parse_when
    from minicrm.services.deals.deals import stage_deal
    from minicrm.services.records.config import local_zone_of

    now = _now()
    if new_stage.strip().casefold() == "lost" and not reason and out.interactive():
        reason = ask_lost_reason()
    with unit_of_work(ctx) as session:
        when = (
            parse_when(at, now=now, zone=local_zone_of(session), looking_back=True) if at else None
        )
        deal = stage_deal(session, ref, new_stage, reason=reason, at=when, now=now)
    _done(deal, json_, f"deal #{deal.id} {deal.title} is now in {deal.stage}")


@app.command("won")
def won(ctx: typer.Context, ref: DealRef, json_: Json = False) -> None:
    """Mark a deal won."""
    from minicrm.services.deals.deals import win_deal

    with unit_of_work(ctx) as session:
        deal = win_deal(session, ref, now=_now())
    _done(deal, json_, f"deal #{deal.id} {deal.title} is won")


@app.command("lost")
def lost(
    ctx: typer.Context,
    ref: DealRef,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why it was lost (asked on a terminal).")
    ] = None,
    json_: Json = False,
) -> None:
    """Mark a deal lost, with the reason."""
    from minicrm.commands import _output as out
    from minicrm.commands._prompts import ask_lost_reason
    from minicrm.services.deals.deals import lose_deal

    if not reason and out.interactive():
        reason = ask_lost_reason()
    with unit_of_work(ctx) as session:
        deal = lose_deal(session, ref, reason, now=_now())
    _done(deal, json_, f"deal #{deal.id} {deal.title} is lost ({deal.lost_reason})")


@line_app.command("add")
def line_add(
    ctx: typer.Context,
    ref: DealRef,
    spec: Annotated[list[str], typer.Argument(metavar="SPEC…", help=LINE_HELP)],
    json_: Json = False,
) -> None:
    """Add lines to a deal; its value becomes the lines' total."""
    from minicrm.services.deals.deals import add_deal_lines

    with unit_of_work(ctx) as session:
        deal = add_deal_lines(session, ref, spec, now=_now())
    _done(deal, json_, f"deal #{deal.id} {deal.title} is now worth {_money(deal.value_cents) or 0}")


@line_app.command("rm")
def line_rm(
    ctx: typer.Context,
    ref: DealRef,
    line_id: Annotated[int, typer.Argument(metavar="LINE_ID", help="See `crm deal show ID`.")],
    json_: Json = False,
) -> None:
    """Remove a line from a deal (the value follows the remaining lines)."""
    from minicrm.services.deals.deals import remove_deal_line

    with unit_of_work(ctx) as session:
        deal = remove_deal_line(session, ref, line_id, now=_now())
    _done(
        deal,
        json_,
        f"removed line {line_id}; deal #{deal.id} is worth {_money(deal.value_cents) or 0}",
    )
