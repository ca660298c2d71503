"""Exports: contacts as CSV, JSON or vCard, everything as one JSON document,
and open follow-ups as iCalendar (RFC 5545) for calendar apps.

Everything streams into a text file object the caller opens, item by item,
so 100,000 contacts and a million interactions never sit in memory at once.

`crm export all --format json` is a lossless backup: SPEC §10's five keys,
plus `cadences`, `companies`, `products` and `deals` (with their `lines`;
see services/transfer/backup.py). It carries every contact (trashed ones too, with
`deleted_at`, and `stage_entered_at`), every interaction and follow-up
(done ones too) with their `created_at`/`updated_at`, every stage change,
and the settings stored in the database (defaults are not written; the SMTP
password never is stored). Ids are kept so references resolve on import.
Import batches and the reminder ledger are bookkeeping, not data, and stay out.

A follow-up is naturally a VTODO (something to do by a time, with a status),
but Google Calendar and several phone calendars ignore VTODO, so `kind="event"`
gives a short VEVENT at the due time instead. Both carry the RRULE of a
recurring follow-up and a display alarm shortly before.

One-off follow-ups are written in UTC: an exact instant needs no zone. A
recurring one is written in the local zone (TZID plus VTIMEZONE) when that
zone has a name, because a calendar expands an RRULE in the zone of DTSTART:
in UTC "every Monday 09:00 Berlin" would drift to 10:00 in summer, while
minicrm itself keeps 09:00 local (followups.next_occurrence).

Module-level imports stay light (no SQLModel, no file-format libraries):
commands/_output takes csv_cell from here for every `--csv` listing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

from minicrm.errors import UserError

if TYPE_CHECKING:
    from sqlmodel import Session

    from minicrm.models import ContactRead, FollowUpRead

# The contact object of SPEC §10, in its documented order: the CSV header.
CONTACT_COLUMNS = (
    "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
    "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
    "score", "lost_reason", "open_deals", "created_at", "updated_at",
)  # fmt: skip
ALL_SECTIONS = (
    "contacts", "interactions", "followups", "stage_changes", "settings", "cadences",
    "companies", "products", "deals",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000  # rows fetched per round trip while streaming

ICS_KINDS = ("todo", "event")
PRODID = "-//minicrm//minicrm follow-ups//EN"
EVENT_LENGTH = timedelta(minutes=15)
ALARM_BEFORE = timedelta(minutes=15)
TIMEZONE_YEARS = 10  # how far ahead a generated VTIMEZONE lists the DST changes


def open_followups_for_export(session: Session, *, owner: str | None = None) -> list[FollowUpRead]:
    """Every open follow-up of a live (not trashed) contact, soonest first."""
    from minicrm.services.followups.followups import open_followups_between

    return open_followups_between(session, None, None, owner=owner)


def followup_uid(followup: FollowUpRead) -> str:
    """Stable across exports, so a re-imported calendar updates, not duplicates."""
    return f"followup-{followup.id}@minicrm"


def followups_to_ics(
    followups: list[FollowUpRead],
    *,
    now: datetime,
    calendar_name: str = "minicrm follow-ups",
    kind: str = "todo",
    zone: tzinfo | None = None,
) -> bytes:
    """An iCalendar file with one VTODO (or VEVENT) per open follow-up.

    `zone` is the local zone: recurring follow-ups are written in it, and a
    floating UNTIL in their rule is read in it (as next_occurrence does)."""
    from icalendar import Calendar

    if kind not in ICS_KINDS:
        raise UserError(f"unknown calendar entry kind {kind!r}; choose todo or event")
    rule_zone = zone or UTC
    named_zone = zone if _zone_name(zone) else None
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", calendar_name)
    calendar.add("x-wr-calname", calendar_name)
    stamp = _whole_seconds(now).astimezone(UTC)
    written = [f for f in followups if f.done_at is None]
    for followup in written:
        entry_zone = named_zone if followup.recurrence and named_zone else UTC
        calendar.add_component(_entry(followup, kind, stamp, entry_zone, rule_zone))
    recurring_days = [f.due_at.astimezone(rule_zone).date() for f in written if f.recurrence]
    if named_zone is not None and recurring_days:
        first = min(recurring_days)
        calendar.add_missing_timezones(
            first_date=first - timedelta(days=1),
            last_date=date(max(recurring_days).year + TIMEZONE_YEARS, 1, 1),
        )
    return calendar.to_ical()


def _entry(followup: FollowUpRead, kind: str, stamp: datetime, zone: tzinfo, rule_zone: tzinfo):
    from icalendar import Alarm, Event, Todo

    start = _whole_seconds(followup.due_at).astimezone(zone)
    summary = f"Follow up: {followup.contact_name}"
    if followup.note:
        summary += " — " + " ".join(followup.note.split())
    entry = Todo() if kind == "todo" else Event()
    entry.add("uid", followup_uid(followup))
    entry.add("dtstamp", stamp)
    entry.add("dtstart", start)
    if kind == "todo":
        entry.add("due", start)
        entry.add("status", "NEEDS-ACTION")
    else:
        entry.add("dtend", (start.astimezone(UTC) + EVENT_LENGTH).astimezone(zone))
        entry.add("transp", "TRANSPARENT")  # a reminder, not a meeting: the time stays free
    entry.add("summary", summary)
    entry.add("description", _description(followup))
    entry.add("sequence", followup.snoozed)  # each snooze is a new revision of the entry
    if followup.recurrence:
        entry.add("rrule", _rrule(followup, rule_zone))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -ALARM_BEFORE)
    alarm.add("description", summary)
    entry.add_component(alarm)
    return entry


def _description(followup: FollowUpRead) -> str:
    lines = [followup.note, ""] if followup.note else []
    lines.append(f"Contact: {followup.contact_name} (crm show {followup.contact_id})")
    if followup.owner:
        lines.append(f"Owner: {followup.owner}")
    return "\n".join(lines)


def _rrule(followup: FollowUpRead, zone: tzinfo) -> Any:
    """The stored rule as a vRecur. RFC 5545 wants UNTIL in UTC whenever
    DTSTART has a time, so a floating UNTIL is read as local wall time."""
    from icalendar import vRecur

    try:
        rule = vRecur.from_ical(followup.recurrence)
    except ValueError as exc:
        raise UserError(
            f"follow-up #{followup.id} repeats by a rule calendars cannot read "
            f"({followup.recurrence!r}): {exc}"
        ) from exc
    if "UNTIL" in rule:
        rule["UNTIL"] = [_utc_until(value, zone) for value in rule["UNTIL"]]
    return rule


def _utc_until(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))  # how dateutil reads a date UNTIL
    if value.tzinfo is None:
        from minicrm.dates import wall_clock

        value = wall_clock(value, zone)
    return value.astimezone(UTC)


def _zone_name(zone: tzinfo | None) -> str | None:
    """The IANA name of a zone worth a TZID (not UTC, not a bare offset)."""
    name = getattr(zone, "key", None)
    return name if name and name not in ("UTC", "Etc/UTC", "Etc/GMT") else None


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


# ---------------------------------------------------------------- contacts


def neutralize_formula(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection):
    a cell starting with = + - @ tab or CR gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: Any) -> str:
    """One CSV cell: lists comma-joined, objects as JSON, then neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return neutralize_formula(str(value))


def write_contacts_csv(contacts: Iterable[ContactRead], out: TextIO) -> int:
    """The SPEC contact keys as header, one row per contact; returns the count.
    `out` should be opened with newline="" (rows end in CRLF, RFC 4180)."""
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF also gets a bare CR quoted
    writer.writerow(CONTACT_COLUMNS)
    count = 0
    for contact in contacts:
        data = contact.to_json()
        writer.writerow([csv_cell(data[column]) for column in CONTACT_COLUMNS])
        count += 1
    return count


def write_contacts_json(contacts: Iterable[ContactRead], out: TextIO) -> int:
    """A JSON array of SPEC contact objects; returns the count."""
    count = _write_array((c.to_json() for c in contacts), out, indent="")
    out.write("\n")
    return count


def write_contacts_vcf(
    contacts: Iterable[ContactRead], out: TextIO, *, version: str = "3.0"
) -> int:
    from minicrm.services.transfer.vcard_writing import write_vcards

    return write_vcards(contacts, out, version=version)


# -------------------------------------------------------------- everything


def write_all_json(session: Session, out: TextIO, *, now: datetime | None = None) -> dict:
    """Everything, as one JSON object streamed section by section (see the
    module docstring for what it holds); returns the count per section."""
    _snapshot(session)
    counts: dict[str, int] = {}
    out.write("{")
    for index, (key, section) in enumerate(_sections(session, now or datetime.now(UTC))):
        out.write(",\n  " if index else "\n  ")
        out.write(f"{json.dumps(key)}: ")
        if isinstance(section, dict):
            out.write(_dumps(section))
            counts[key] = len(section)
        else:
            counts[key] = _write_array(section, out, indent="  ")
    out.write("\n}\n")
    return counts


def export_all_json(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """The same document as write_all_json, as a dict (tests, small data)."""
    _snapshot(session)
    return {
        key: section if isinstance(section, dict) else list(section)
        for key, section in _sections(session, now or datetime.now(UTC))
    }


def _snapshot(session: Session) -> None:
    """One consistent view across the sections' queries. SQLite's read
    transaction already is one; PostgreSQL's default (READ COMMITTED) sees
    each statement's own, so ask for REPEATABLE READ before the first query."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _sections(session: Session, now: datetime) -> Iterator[tuple[str, Any]]:
    """(key, lazy rows or a dict) in ALL_SECTIONS order; queries run as consumed."""
    yield "contacts", _all_contacts(session)
    yield "interactions", _all_interactions(session)
    yield "followups", _all_followups(session, now)
    yield "stage_changes", _all_stage_changes(session)
    yield "settings", _stored_settings(session)
    yield "cadences", _all_cadences(session)
    from minicrm.services.transfer import backup

    yield "companies", backup.all_companies(session)
    yield "products", backup.all_products(session)
    yield "deals", backup.all_deals(session)


def _all_contacts(session: Session) -> Iterator[dict[str, Any]]:
    from sqlalchemy import select

    from minicrm.models import Contact
    from minicrm.services.records.contacts import read_contacts

    query = select(Contact).order_by(Contact.id).execution_options(yield_per=BATCH)
    for batch in session.execute(query).scalars().partitions():
        for contact in read_contacts(session, list(batch)):
            yield {
                **contact.to_json(),
                "stage_entered_at": _iso(contact.stage_entered_at),
                "deleted_at": _iso(contact.deleted_at),
            }


def _all_interactions(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import Interaction, InteractionRead

    for row in _rows(session, Interaction, *InteractionRead.model_fields, "created_at"):
        # to_json reads attributes only, and a row has the same ones: one
        # definition of the keys without a million pydantic objects.
        yield {**InteractionRead.to_json(row), "created_at": _iso(row.created_at)}


def _all_followups(session: Session, now: datetime) -> Iterator[dict[str, Any]]:
    from sqlalchemy import select

    from minicrm.models import Contact, FollowUp, FollowUpRead

    columns = [
        getattr(FollowUp, name) for name in FollowUpRead.model_fields if name != "contact_name"
    ]
    query = (
        select(
            *columns, Contact.name.label("contact_name"), FollowUp.created_at, FollowUp.updated_at
        )
        .join(Contact, Contact.id == FollowUp.contact_id)
        .order_by(FollowUp.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query).mappings():
        followup = FollowUpRead.model_construct(**row)
        yield {
            **followup.to_json(now),
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
        }


def _all_stage_changes(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import StageChange, StageChangeRead

    for row in _rows(session, StageChange, *StageChangeRead.model_fields):
        yield StageChangeRead.to_json(row)  # as for interactions


def _all_cadences(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import Cadence

    for row in _rows(session, Cadence, "id", "contact_id", "tag", "every_days", "created_at"):
        yield {**row._asdict(), "created_at": _iso(row.created_at)}


def _stored_settings(session: Session) -> dict[str, str]:
    from sqlalchemy import select

    from minicrm.models import Setting
    from minicrm.services.records.score_day import SCORES_DAY_KEY

    # The day the scores were computed for is bookkeeping, not a setting: a
    # restored database recomputes its scores on first read.
    rows = session.execute(
        select(Setting.key, Setting.value)
        .where(Setting.key != SCORES_DAY_KEY)
        .order_by(Setting.key)
    )
    return {key: value for key, value in rows}


def _rows(session: Session, table: Any, *names: str) -> Iterator[Any]:
    """The named columns of a table, by id, streamed in batches."""
    from sqlalchemy import select

    query = select(*(getattr(table, name) for name in names)).order_by(table.id)
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _write_array(items: Iterable[dict[str, Any]], out: TextIO, *, indent: str) -> int:
    """A JSON array, one item per line, written as the items come."""
    count = 0
    for count, item in enumerate(items, start=1):
        out.write(f"[\n{indent}  " if count == 1 else f",\n{indent}  ")
        out.write(_dumps(item))
    out.write(f"\n{indent}]" if count else "[]")
    return count


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
