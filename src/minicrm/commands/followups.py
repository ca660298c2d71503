"""`crm log` and `crm followup …`: what happened, and what to do next."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

app = typer.Typer(help="Follow-ups: schedule, list the agenda, done, snooze, remove.")

Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
Ref = Annotated[str, typer.Argument(metavar="REF", help="Id, exact email, or part of the name.")]
FollowUpId = Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")]
When = Annotated[
    str, typer.Argument(metavar="WHEN", help="e.g. tomorrow 9am, next friday, +2d, 2026-12-24.")
]


def register(root: typer.Typer) -> None:
    root.command("log")(log)
    root.add_typer(app, name="followup")


def _now() -> datetime:
    return datetime.now(UTC)


def log(
    ctx: typer.Context,
    ref: Ref,
    kind: Annotated[
        str, typer.Argument(help="call, email, meeting, note, sms, visit, quote or purchase.")
    ],
    summary: Annotated[str | None, typer.Argument(help="What happened.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it happened (default: now).")] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Money involved (purchases, quotes).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who did it (default: you).")] = None,
    deal: Annotated[
        str | None,
        typer.Option("--deal", metavar="ID", help="Link it to this deal of the contact."),
    ] = None,
    json_: Json = False,
) -> None:
    """Record an interaction with a contact; prints its id."""
    from minicrm.commands import _output as out
    from minicrm.dates import parse_when
    from minicrm.errors import UserError
    from minicrm.services.followups.interactions import log_interaction
    from minicrm.services.records.config import local_zone_of

    now = _now()
    with unit_of_work(ctx) as session:
        when = (
            parse_when(at, now=now, zone=local_zone_of(session), looking_back=True) if at else now
        )
        if when > now:
            raise UserError(
                f"--at {at!r} is in the future; an interaction is something that has "
                "happened (leave --at out for now, or schedule it: crm followup add)"
            )
        interaction = log_interaction(
            session, ref, kind, summary, at=when, amount=amount, owner=owner, deal=deal, now=now
        )
    if json_:
        out.print_json(interaction.to_json())
    else:
        print(interaction.id)


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Ref,
    when: When,
    note: Annotated[str | None, typer.Argument(help="What to do.")] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", help="Repeat: day, week, '2 weeks', month, weekday, or an RRULE."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who follows up (default: the contact's owner).")
    ] = None,
    deal: Annotated[
        str | None,
        typer.Option("--deal", metavar="ID", help="Link it to this deal of the contact."),
    ] = None,
    past: Annotated[
        bool, typer.Option("--past", help="Allow a time already past (overdue at once).")
    ] = False,
    json_: Json = False,
) -> None:
    """Schedule a follow-up; prints its id and when it is due."""
    from minicrm.commands import _output as out
    from minicrm.dates import already_past, format_local, parse_when
    from minicrm.errors import UserError
    from minicrm.services.followups.followups import add_followup
    from minicrm.services.records.config import local_zone_of

    now = _now()
    with unit_of_work(ctx) as session:
        zone = local_zone_of(session)
        due = parse_when(when, now=now, zone=zone, scheduling=True)
        if already_past(due, now) and not past:
            raise UserError(
                f"{when!r} is {format_local(due, zone)}, in the past; add --past to "
                "schedule it overdue, or give a later time (tomorrow 9am, +2h)"
            )
        followup = add_followup(
            session, ref, due, note, every=every, owner=owner, deal=deal, now=now
        )
    if json_:
        out.print_json(followup.to_json(now))
        return
    print(followup.id)
    out.info(f"follow up with {followup.contact_name} on {format_local(followup.due_at, zone)}")


@app.command("list")
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only what is overdue.")] = False,
    today: Annotated[bool, typer.Option("--today", help="Overdue and due today.")] = False,
    week: Annotated[
        bool, typer.Option("--week", help="Overdue and due in the next 7 days (the default).")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Every open follow-up.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this person's.")] = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only yours (CRM_USER, else your login).")
    ] = False,
    json_: Json = False,
) -> None:
    """The agenda of open follow-ups, overdue first."""
    from minicrm.commands._values import mine_or as _mine_or

    owner = _mine_or(owner, mine)
    from minicrm.commands import _output as out
    from minicrm.dates import format_local
    from minicrm.services.followups.followups import list_followups
    from minicrm.services.records.config import local_zone_of

    chosen = [name for name, on in (("overdue", overdue), ("today", today), ("week", week),
                                    ("all", all_)) if on]  # fmt: skip
    if len(chosen) > 1:
        out.fail("choose one of --overdue, --today, --week and --all")
    now = _now()
    with unit_of_work(ctx, write=False) as session:
        zone = local_zone_of(session)
        followups = list_followups(
            session, chosen[0] if chosen else "week", owner=owner, zone=zone, now=now
        )
    if json_:
        out.print_json([f.to_json(now) for f in followups])
        return
    if not followups:
        out.info("nothing due")
        return
    rows = (
        [str(f.id), format_local(f.due_at, zone), "overdue" if f.is_overdue(now) else "",
         f.contact_name, f.note or "", f.owner or "", "↻" if f.recurrence else ""]
        for f in followups
    )  # fmt: skip
    out.print_table(["ID", "Due", "", "Contact", "Note", "Owner", "Repeats"], rows)


@app.command("done")
def done(ctx: typer.Context, followup_id: FollowUpId, json_: Json = False) -> None:
    """Mark a follow-up done; a recurring one schedules its next occurrence."""
    from minicrm.commands import _output as out
    from minicrm.dates import format_local
    from minicrm.services.followups.followups import complete_followup
    from minicrm.services.records.config import local_zone_of

    now = _now()
    with unit_of_work(ctx) as session:
        zone = local_zone_of(session)
        result = complete_followup(session, followup_id, zone=zone, now=now)
    if json_:
        out.print_json(
            {
                "done": result.closed.to_json(now),
                "next": result.next.to_json(now) if result.next else None,
            }
        )
        return
    out.info(f"done: #{result.closed.id} {result.closed.contact_name}")
    if result.next:
        out.info(f"next: #{result.next.id} on {format_local(result.next.due_at, zone)}")


@app.command("snooze")
def snooze(ctx: typer.Context, followup_id: FollowUpId, when: When, json_: Json = False) -> None:
    """Move a follow-up to a later time (counts the snoozes)."""
    from minicrm.commands import _output as out
    from minicrm.dates import format_local, parse_when
    from minicrm.services.followups.followups import snooze_followup
    from minicrm.services.records.config import local_zone_of

    now = _now()
    with unit_of_work(ctx) as session:
        zone = local_zone_of(session)
        followup = snooze_followup(
            session, followup_id, parse_when(when, now=now, zone=zone, scheduling=True), now=now
        )
    if json_:
        out.print_json(followup.to_json(now))
        return
    out.info(
        f"snoozed #{followup.id} to {format_local(followup.due_at, zone)} ({followup.snoozed}×)"
    )


@app.command("rm")
def rm(ctx: typer.Context, followup_id: FollowUpId, json_: Json = False) -> None:
    """Delete a follow-up."""
    from minicrm.commands import _output as out
    from minicrm.services.followups.followups import remove_followup

    with unit_of_work(ctx) as session:
        gone = remove_followup(session, followup_id)
    if json_:  # the follow-up as it was
        out.print_json(gone.to_json(_now()))
        return
    out.info(f"removed follow-up #{gone.id} with {gone.contact_name}")
