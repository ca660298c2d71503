"""Follow-ups: schedule, list the agenda, close (recurring ones roll on), snooze."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Select, func, select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import Contact, FollowUp, FollowUpRead
from minicrm.services.records.contacts import resolve_ref
from minicrm.services.records.text_match import same_text
from minicrm.services.records.validation import clean_text
from minicrm.settings import current_user

WINDOWS = ("overdue", "today", "week", "all")
WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
_FREQ = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
RULE_EXAMPLES = "day, week, 2 weeks, 2w, 30d, month, weekday, or an RRULE like FREQ=WEEKLY;BYDAY=MO"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -------------------------------------------------------------- recurrence


def parse_recurrence(every: str | None) -> str | None:
    """`--every` in words or as an RFC 5545 RRULE -> the RRULE we store."""
    if every is None or not every.strip():
        return None
    from minicrm.services.records.intervals import read_interval

    text = " ".join(every.strip().lower().split())
    if text in ("weekday", "weekdays"):
        return WORKDAYS
    try:  # the same grammar as `cadence set`: week, 2 weeks, 2w, 30d…
        found = read_interval(text, what="--every")
    except ValidationError as exc:
        raise ValidationError(exc.message, field="recurrence") from None
    if found:
        count, unit = found
        interval = f";INTERVAL={count}" if count > 1 else ""
        return f"FREQ={_FREQ[unit]}{interval}"
    rule = every.strip().upper().removeprefix("RRULE:")
    if rule.startswith("FREQ=") or ";FREQ=" in rule:
        _check_rrule(rule, every)
        return rule
    raise ValidationError(f"cannot read --every {every!r}; use {RULE_EXAMPLES}", field="recurrence")


def _check_rrule(rule: str, typed: str) -> None:
    from dateutil.rrule import rrulestr

    interval = re.search(r"(?:^|;)INTERVAL=(\d+)", rule)
    if interval and int(interval.group(1)) < 1:  # dateutil would loop forever
        raise ValidationError(f"invalid RRULE {typed!r}: INTERVAL must be 1 or more", "recurrence")
    try:
        rrulestr(_floating_until(rule, UTC), dtstart=datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"invalid RRULE {typed!r}: {exc}", field="recurrence") from exc


_UTC_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z")


def _floating_until(rule: str, zone: tzinfo) -> str:
    """We expand rules in local wall-clock time (naive), and dateutil then
    refuses a UTC UNTIL: rewrite it as the same instant's local time."""

    def local(match: re.Match) -> str:
        instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")

    return _UTC_UNTIL.sub(local, rule)


def remaining_rule(rule: str) -> str | None:
    """The rule for the occurrences after this one: COUNT counts down as
    occurrences are done; None when this was the last."""
    count = re.search(r"(?:^|;)COUNT=(\d+)", rule)
    if not count:
        return rule
    left = int(count.group(1)) - 1
    if left < 1:
        return None
    return rule[: count.start(1)] + str(left) + rule[count.end(1) :]


def next_occurrence(rule: str, due_at: datetime, after: datetime, zone: tzinfo) -> datetime | None:
    """The rule's first occurrence strictly after `after`, counted from
    `due_at` in local wall-clock time (9:00 stays 9:00 across DST).
    None when the rule has run out (COUNT or UNTIL)."""
    from dateutil.rrule import rrulestr

    from minicrm.dates import wall_clock

    start = due_at.astimezone(zone).replace(tzinfo=None)
    expanded = rrulestr(_floating_until(rule, zone), dtstart=start)
    following = expanded.after(after.astimezone(zone).replace(tzinfo=None))
    if following is None:
        return None
    return wall_clock(following, zone).astimezone(UTC)


def first_occurrence(rule: str, due_at: datetime, zone: tzinfo) -> datetime:
    """The first date the rule produces from `due_at` on (its wall-clock time
    kept): `--every FREQ=WEEKLY;BYDAY=MO,TH` said on a Friday starts on
    Monday, not that Friday. A rule that produces nothing keeps `due_at`."""
    from dateutil.rrule import rrulestr

    from minicrm.dates import wall_clock

    start = due_at.astimezone(zone).replace(tzinfo=None)
    first = rrulestr(_floating_until(rule, zone), dtstart=start).after(start, inc=True)
    if first is None or first == start:
        return due_at
    return wall_clock(first, zone).astimezone(UTC)


# ----------------------------------------------------------------- writes


def add_followup(
    session: Session,
    ref: str | int,
    due_at: datetime,
    note: str | None = None,
    *,
    every: str | None = None,
    owner: str | None = None,
    deal: str | int | None = None,
    now: datetime | None = None,
) -> FollowUpRead:
    """Schedule a follow-up; its owner is `owner`, else the contact's, else you.
    `deal` (a deal REF) links it to one of the contact's live deals."""
    now = _now(now)
    contact = resolve_ref(session, ref)
    deal_id = None
    if deal is not None and str(deal).strip():
        from minicrm.services.deals.deals import live_deal_for

        deal_id = live_deal_for(session, deal, contact.id).id
    recurrence = parse_recurrence(every)
    if recurrence:
        from minicrm.services.records.config import local_zone_of

        due_at = first_occurrence(recurrence, due_at, local_zone_of(session))
    row = FollowUp(
        contact_id=contact.id,
        deal_id=deal_id,
        due_at=due_at,
        note=clean_text(note),
        recurrence=recurrence,
        owner=clean_text(owner) or contact.owner or current_user(),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return _read(row, contact.name)


@dataclass
class DoneResult:
    closed: FollowUpRead
    next: FollowUpRead | None  # the recurring follow-up's next occurrence


def complete_followup(
    session: Session, followup_id: int, *, zone: tzinfo, now: datetime | None = None
) -> DoneResult:
    """Close a follow-up; a recurring one schedules its next occurrence after
    the later of its due time and now (missed occurrences are not replayed).
    The next occurrence is a new row of the same series: same series_id, and
    a series_revision that counts this row's moves (its snoozes and being
    done), so the series' calendar entry is updated, not duplicated."""
    now = _now(now)
    row, contact = _open_followup(session, followup_id)
    row.done_at = row.updated_at = now
    row.version += 1
    following = None
    rule = remaining_rule(row.recurrence) if row.recurrence else None
    if rule:
        due = next_occurrence(row.recurrence, row.due_at, max(row.due_at, now), zone)
        if due is not None:
            following = FollowUp(
                contact_id=row.contact_id, deal_id=row.deal_id, due_at=due, note=row.note,
                recurrence=rule, owner=row.owner, created_at=now, updated_at=now,
                series_id=row.series_id or row.id,
                series_revision=row.series_revision + row.snoozed + 1,
            )  # fmt: skip
            session.add(following)
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return DoneResult(
        _read(row, contact.name), _read(following, contact.name) if following else None
    )


def snooze_followup(
    session: Session, followup_id: int, due_at: datetime, *, now: datetime | None = None
) -> FollowUpRead:
    now = _now(now)
    if due_at <= now:
        raise ValidationError("snooze to a time in the future, e.g. 'tomorrow 9am' or '+2h'")
    row, contact = _open_followup(session, followup_id)
    row.due_at, row.updated_at = due_at, now
    row.snoozed += 1
    row.version += 1
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return _read(row, contact.name)


def remove_followup(session: Session, followup_id: int) -> FollowUpRead:
    row, contact = _get(session, followup_id)
    gone = _read(row, contact.name)
    session.delete(row)
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id)
    return gone


def _get(session: Session, followup_id: int) -> tuple[FollowUp, Contact]:
    found = session.execute(
        select(FollowUp, Contact)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .where(FollowUp.id == followup_id, Contact.deleted_at.is_(None))
    ).first()
    if found is None:
        raise NotFoundError(f"no follow-up #{followup_id}; see `crm followup list --all`")
    return found[0], found[1]


def _open_followup(session: Session, followup_id: int) -> tuple[FollowUp, Contact]:
    row, contact = _get(session, followup_id)
    if session.get_bind().dialect.name != "sqlite":
        # Lock it (PostgreSQL): two people closing the same follow-up at
        # once must not both roll a recurring one on.
        session.refresh(row, with_for_update=True)
    if row.done_at is not None:
        raise UserError(f"follow-up #{followup_id} is already done")
    return row, contact


def _read(row: FollowUp, contact_name: str) -> FollowUpRead:
    return FollowUpRead.model_validate({**row.model_dump(), "contact_name": contact_name})


# ------------------------------------------------------------------ reads


def window_end(window: str, *, now: datetime, zone: tzinfo) -> datetime | None:
    """The exclusive end of an agenda window; None for no end."""
    from minicrm.dates import start_of_day

    if window == "overdue":
        return now
    if window == "today":
        return start_of_day(now, zone, days_later=1)
    if window == "week":
        return start_of_day(now, zone, days_later=8)
    if window == "all":
        return None
    raise UserError(f"unknown window {window!r}; choose one of: {', '.join(WINDOWS)}")


@dataclass(slots=True)
class AgendaItem:
    """One open follow-up on the agenda: FollowUpRead's fields, and its very
    is_overdue and to_json (so the same JSON), without pydantic. An agenda can
    hold tens of thousands of rows; a model per row was most of its cost."""

    id: int
    contact_id: int
    deal_id: int | None
    due_at: datetime
    note: str | None
    recurrence: str | None
    snoozed: int
    owner: str | None
    series_id: int | None
    series_revision: int
    contact_name: str
    done_at: datetime | None = None  # open, by definition of the agenda

    is_overdue = FollowUpRead.is_overdue
    to_json = FollowUpRead.to_json


def list_followups(
    session: Session,
    window: str = "week",
    *,
    owner: str | None = None,
    zone: tzinfo,
    now: datetime | None = None,
) -> list[AgendaItem]:
    """Open follow-ups of live contacts due before the window ends, soonest
    (so overdue) first. `today` and `week` include what is overdue."""
    now = _now(now)
    end = window_end(window, now=now, zone=zone)
    # AgendaItem's fields in order, up to done_at (NULL on every open one).
    columns = (
        FollowUp.id, FollowUp.contact_id, FollowUp.deal_id, FollowUp.due_at, FollowUp.note,
        FollowUp.recurrence, FollowUp.snoozed, FollowUp.owner, FollowUp.series_id,
        FollowUp.series_revision, Contact.name,
    )  # fmt: skip
    query = _open_followups(session, select(*columns), None, end, owner)
    # Core rows, no ORM bookkeeping per row; Core does not autoflush, so
    # flush: the agenda still shows what this session has just changed.
    session.flush()
    return [AgendaItem(*row) for row in session.connection().execute(query)]


def agenda_between(
    session: Session,
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int,
    owner: str | None = None,
) -> list[AgendaItem]:
    """The first `limit` open follow-ups due in [start, end), soonest first,
    as list_followups gives them: for a panel that shows a few of many."""
    columns = (
        FollowUp.id, FollowUp.contact_id, FollowUp.deal_id, FollowUp.due_at, FollowUp.note,
        FollowUp.recurrence, FollowUp.snoozed, FollowUp.owner, FollowUp.series_id,
        FollowUp.series_revision, Contact.name,
    )  # fmt: skip
    query = _open_followups(session, select(*columns), start, end, owner).limit(limit)
    session.flush()
    return [AgendaItem(*row) for row in session.connection().execute(query)]


def count_open_followups(
    session: Session, start: datetime | None, end: datetime | None, *, owner: str | None = None
) -> int:
    """How many open follow-ups of live contacts are due in [start, end)."""
    counted = select(func.count()).select_from(FollowUp)
    query = _open_followups(session, counted, start, end, owner).order_by(None)
    session.flush()
    return session.execute(query).scalar_one()


_READ_COLUMNS = (
    "id", "contact_id", "deal_id", "due_at", "note", "done_at", "recurrence", "snoozed", "owner",
    "series_id", "series_revision",
)  # fmt: skip


def open_followups_between(
    session: Session, start: datetime | None, end: datetime | None, *, owner: str | None = None
) -> list[FollowUpRead]:
    # Plain columns and model_construct: building ORM objects and
    # re-validating them is most of the cost of a long list.
    columns = (*(getattr(FollowUp, name) for name in _READ_COLUMNS), Contact.name)
    query = _open_followups(session, select(*columns), start, end, owner)
    return [
        FollowUpRead.model_construct(
            **dict(zip(_READ_COLUMNS, row[:-1], strict=True)), contact_name=row[-1]
        )
        for row in session.execute(query)
    ]


def _open_followups(
    session: Session, query: Select, start: datetime | None, end: datetime | None, owner: str | None
) -> Select:
    """`query` narrowed to open follow-ups of live contacts, soonest first."""
    query = (
        query.join(Contact, Contact.id == FollowUp.contact_id)
        .where(FollowUp.done_at.is_(None), Contact.deleted_at.is_(None))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    if start is not None:
        query = query.where(FollowUp.due_at >= start)
    if end is not None:
        query = query.where(FollowUp.due_at < end)
    if owner:
        query = query.where(same_text(session, FollowUp.owner, owner))
    return query
