"""Open follow-ups as iCalendar (RFC 5545) for calendar apps.

A follow-up is naturally a VTODO (something to do by a time, with a status),
but Google Calendar and several phone calendars ignore VTODO, so `kind="event"`
gives a short VEVENT at the due time instead. Both carry the RRULE of a
recurring follow-up and a display alarm shortly before.

One-off follow-ups are written in UTC: an exact instant needs no zone. A
recurring one is written in the local zone (TZID plus VTIMEZONE) when that
zone has a name, because a calendar expands an RRULE in the zone of DTSTART:
in UTC "every Monday 09:00 Berlin" would drift to 10:00 in summer, while
minicrm itself keeps 09:00 local (followups.next_occurrence). The VTIMEZONE
comes from the zone's own changes (vtimezone.py), from the first occurrence
in the file on, with no end for a zone that follows a yearly rule.

A series is one calendar entry. `crm followup done` on a recurring
follow-up closes that row and makes a new one for the next occurrence; the
new row carries the series' id (its first follow-up's), so the entry keeps
its UID and moves to the new DTSTART with a higher SEQUENCE: a calendar
that imports the file again updates the entry instead of adding a second.

Module-level imports stay light (no SQLModel, no file-format libraries):
exporting.py re-exports from here, and commands/_output loads that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from minicrm.errors import UserError

if TYPE_CHECKING:
    from sqlmodel import Session

    from minicrm.models import FollowUpRead

ICS_KINDS = ("todo", "event")
PRODID = "-//minicrm//minicrm follow-ups//EN"
EVENT_LENGTH = timedelta(minutes=15)
ALARM_BEFORE = timedelta(minutes=15)
# The VTIMEZONE starts this long before the first occurrence, so the alarm
# before it and any reading of that day's local times fall inside it too.
TIMEZONE_LEAD = timedelta(days=1)


def open_followups_for_export(session: Session, *, owner: str | None = None) -> list[FollowUpRead]:
    """Every open follow-up of a live (not trashed) contact, soonest first."""
    from minicrm.services.followups.followups import open_followups_between

    return open_followups_between(session, None, None, owner=owner)


def followup_uid(followup: FollowUpRead) -> str:
    """One per series (its first follow-up's id), stable across exports, so
    a re-imported calendar updates its entry instead of adding another."""
    return f"followup-{followup.series_id or followup.id}@minicrm"


def followup_sequence(followup: FollowUpRead) -> int:
    """The entry's SEQUENCE: how often the series' due time has moved. Each
    snooze moves it, and so does each occurrence done (the next one starts
    later). A calendar ignores an update whose SEQUENCE is not higher, so
    the count must never go down: series_revision carries the earlier
    occurrences' moves forward from row to row (followups.complete_followup),
    where counting the done rows at export time would drop when one of them
    is removed, and the bare count of occurrences done would drop after a
    snoozed occurrence (its snoozes are not counted by the next row)."""
    return followup.series_revision + followup.snoozed


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
    tzid = _zone_name(zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", calendar_name)
    calendar.add("x-wr-calname", calendar_name)
    stamp = _whole_seconds(now).astimezone(UTC)
    written = [f for f in followups if f.done_at is None]
    recurring_starts = [f.due_at for f in written if f.recurrence]
    if tzid and recurring_starts:
        from minicrm.services.transfer.vtimezone import vtimezone

        # Before the entries that name it: some calendar apps read in one pass.
        calendar.add_component(vtimezone(zone, tzid, min(recurring_starts) - TIMEZONE_LEAD))
    for followup in written:
        entry_zone = zone if followup.recurrence and tzid else UTC
        calendar.add_component(_entry(followup, kind, stamp, entry_zone, rule_zone))
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
    entry.add("sequence", followup_sequence(followup))
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
