"""The VTIMEZONE of the iCalendar export agrees with tzdata.

Other programs read the file, not minicrm's zoneinfo: every check resolves
local times through the VTIMEZONE written in the file (icalendar's and
dateutil's readings of it, and RFC 5545's own arithmetic: a change happens
at DTSTART in the local time of TZOFFSETFROM) and compares the UTC instant
with the one minicrm means (next_occurrence, zoneinfo's wall clock).
"""

import bisect
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from dateutil.tz import tzical
from icalendar import Calendar

from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.followups.followups import add_followup, next_occurrence
from minicrm.services.transfer.calendar_export import followups_to_ics, open_followups_for_export

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ZONES = ("Europe/Madrid", "America/New_York", "Asia/Tehran", "Australia/Sydney")
# Since 2010: Tehran still changed to summer time then (until 2022), and
# thirty years run past 2037, where tzdata's listed changes end.
FIRST_MONDAY = datetime(2010, 1, 4, 9, 0)
YEARS = 30
SAMPLE_EVERY = timedelta(hours=6)


def export_weekly(session, zone_name: str, first: datetime = FIRST_MONDAY, every="week") -> bytes:
    zone = ZoneInfo(zone_name)
    contact = add_contact(session, ContactInput(name="Maria Lopez"), now=NOW)
    due = first.replace(tzinfo=zone).astimezone(UTC)
    add_followup(session, contact.id, due, "weekly call", every=every, now=NOW)
    return followups_to_ics(open_followups_for_export(session), now=NOW, zone=zone)


def minicrm_chain(rule: str, first: datetime, zone, until: datetime) -> list[datetime]:
    """The occurrences `crm followup done` walks, one after the other."""
    found = [first.replace(tzinfo=zone).astimezone(UTC)]
    while True:
        following = next_occurrence(rule, found[-1], found[-1], zone)
        if following is None or following >= until:
            return found
        found.append(following)


def unfolded_lines(data: bytes) -> list[str]:
    return data.decode().replace("\r\n ", "").split("\r\n")


def raw_entry_start_and_rule(data: bytes) -> tuple[str, datetime, str]:
    """TZID, local DTSTART and RRULE of the one VTODO, read from the text."""
    lines = unfolded_lines(data)
    todo = lines[lines.index("BEGIN:VTODO") :]
    start = next(line for line in todo if line.startswith("DTSTART;"))
    tzid, wall = re.fullmatch(r"DTSTART;TZID=([^:;]+):(\d{8}T\d{6})", start).groups()
    rule = next(line for line in todo if line.startswith("RRULE:"))
    return tzid, datetime.strptime(wall, "%Y%m%dT%H%M%S"), rule.removeprefix("RRULE:")


def raw_vtimezone(data: bytes) -> str:
    lines = unfolded_lines(data)
    return "\r\n".join(lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE") + 1])


def rfc_changes(vtimezone, until: datetime) -> list[tuple[datetime, timedelta]]:
    """(UTC instant, offset from then on) of every onset the VTIMEZONE gives
    up to `until`: DTSTART, its RDATEs and its RRULE, each minus TZOFFSETFROM."""
    changes = []
    for part in vtimezone.walk():
        if part.name not in ("STANDARD", "DAYLIGHT"):
            continue
        start, before = part.decoded("DTSTART"), part.decoded("TZOFFSETFROM")
        onsets = [start]
        if "RRULE" in part:
            rule = rrulestr(part["RRULE"].to_ical().decode(), dtstart=start)
            onsets = rule.between(start, until, inc=True)
        rdates = part.get("RDATE", [])
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            onsets += [value.dt for value in rdate.dts]
        changes += [((o - before).replace(tzinfo=UTC), part.decoded("TZOFFSETTO")) for o in onsets]
    return sorted(changes)


def offset_at(changes, instant: datetime) -> timedelta:
    index = bisect.bisect_right([at for at, _offset in changes], instant) - 1
    assert index >= 0, f"{instant} is before the VTIMEZONE's first part"
    return changes[index][1]


def rfc_instant(changes, wall: datetime) -> datetime:
    """The UTC instant of a local time that is neither in a gap nor twice."""
    offsets = {offset for _at, offset in changes}
    [instant] = {
        (wall - o).replace(tzinfo=UTC)
        for o in offsets
        if offset_at(changes, (wall - o).replace(tzinfo=UTC)) == o
    }
    return instant


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_weekly_occurrence_over_30_years_is_the_instant_minicrm_means(session, zone_name):
    zone = ZoneInfo(zone_name)
    data = export_weekly(session, zone_name)
    until = FIRST_MONDAY.replace(year=FIRST_MONDAY.year + YEARS, tzinfo=zone)
    ours = minicrm_chain("FREQ=WEEKLY", FIRST_MONDAY, zone, until)
    assert len(ours) == 1566

    # icalendar: the entry's wall time and rule, through the file's VTIMEZONE
    calendar = Calendar.from_ical(data)
    [todo] = calendar.walk("VTODO")
    [vtimezone] = calendar.walk("VTIMEZONE")
    their_zone = vtimezone.to_tz(lookup_tzid=False)  # the file's zone, not zoneinfo's
    assert todo["DTSTART"].params["TZID"] == zone_name == str(vtimezone["TZID"])
    wall = todo.decoded("DTSTART").replace(tzinfo=None)
    walls = rrulestr(todo["RRULE"].to_ical().decode(), dtstart=wall)[: len(ours)]
    assert [w.replace(tzinfo=their_zone).astimezone(UTC) for w in walls] == ours

    # dateutil alone, from the raw text of the file
    tzid, wall, rule = raw_entry_start_and_rule(data)
    raw_zone = tzical(io.StringIO(raw_vtimezone(data))).get(tzid)
    walls = rrulestr(rule, dtstart=wall)[: len(ours)]
    assert [w.replace(tzinfo=raw_zone).astimezone(UTC) for w in walls] == ours

    # and RFC 5545's arithmetic on the VTIMEZONE's parts
    changes = rfc_changes(vtimezone, until.replace(tzinfo=None))
    assert [rfc_instant(changes, w) for w in walls] == ours


@pytest.mark.parametrize(
    ("zone_name", "first"),
    [
        *((name, FIRST_MONDAY) for name in ZONES),
        ("Europe/Madrid", datetime(2026, 3, 23, 9, 0)),  # a series starting today
        ("Asia/Jerusalem", datetime(2026, 3, 23, 9, 0)),  # the Friday before the last Sunday
        ("America/Nuuk", datetime(2026, 3, 23, 9, 0)),  # changes at -01:00, the day before
        ("Africa/Cairo", datetime(2026, 3, 23, 9, 0)),  # a rule no RRULE can say
    ],
)
def test_the_vtimezone_changes_offset_when_tzdata_does(session, zone_name, first):
    """To the second at each of the VTIMEZONE's changes (the DST start used
    to come an hour late) and every six hours in between, for thirty years."""
    zone = ZoneInfo(zone_name)
    [vtimezone] = Calendar.from_ical(export_weekly(session, zone_name, first)).walk("VTIMEZONE")
    start = first.replace(tzinfo=zone).astimezone(UTC) - timedelta(days=1)
    end = start.replace(year=start.year + YEARS)
    changes = rfc_changes(vtimezone, end.replace(tzinfo=None))
    for at, offset in changes:
        if start < at < end:
            before, after = at - timedelta(seconds=1), at
            assert offset_at(changes, before) == before.astimezone(zone).utcoffset(), at
            assert offset_at(changes, after) == after.astimezone(zone).utcoffset() == offset, at
    instant = start
    while instant < end:
        assert offset_at(changes, instant) == instant.astimezone(zone).utcoffset(), instant
        instant += SAMPLE_EVERY


def parts(data: bytes) -> list[dict[str, str]]:
    """The VTIMEZONE's parts as their raw properties, in file order."""
    found, current = [], None
    for line in unfolded_lines(raw_vtimezone(data).encode()):
        if line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            current = {"PART": line.removeprefix("BEGIN:")}
        elif line.startswith("END:") and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            name, value = line.split(":", 1)
            current[name] = value
    return found


def test_madrid_changes_by_its_yearly_rule_at_two_and_three_local(session):
    """RFC 5545: DTSTART is the local time before the change, in TZOFFSETFROM."""
    data = export_weekly(session, "Europe/Madrid", datetime(2026, 3, 23, 9, 0))
    daylight, standard = parts(data)[1:]
    assert daylight == {
        "PART": "DAYLIGHT", "DTSTART": "20260329T020000",
        "RRULE": "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZOFFSETFROM": "+0100", "TZOFFSETTO": "+0200", "TZNAME": "CEST",
    }  # fmt: skip
    assert standard == {
        "PART": "STANDARD", "DTSTART": "20261025T030000",
        "RRULE": "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZOFFSETFROM": "+0200", "TZOFFSETTO": "+0100", "TZNAME": "CET",
    }  # fmt: skip
    assert "COMMENT" not in raw_vtimezone(data)  # no "only works until" any more


def test_sydney_has_its_summer_at_the_end_of_the_year(session):
    data = export_weekly(session, "Australia/Sydney", datetime(2026, 3, 23, 9, 0))
    rules = {p["PART"]: (p["DTSTART"], p.get("RRULE")) for p in parts(data)[1:]}
    assert rules == {
        "STANDARD": ("20260405T030000", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4"),
        "DAYLIGHT": ("20261004T020000", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10"),
    }


def test_tehran_lists_its_last_summer_times_and_then_stays_at_three_thirty(session):
    data = export_weekly(session, "Asia/Tehran")
    found = parts(data)
    assert not [p for p in found if "RRULE" in p]
    daylight = next(p for p in found if p["PART"] == "DAYLIGHT")
    assert daylight["DTSTART"] == "20100322T000000"  # midnight +0330: 00:00 became 01:00
    assert daylight["RDATE"].split(",")[-1] == "20220322T000000"  # the last one
    standard = [p for p in found if p["PART"] == "STANDARD" and p["TZOFFSETFROM"] == "+0430"]
    assert standard[0]["RDATE"].split(",")[-1] == "20220922T000000"  # 24:00 became 23:00
    [vtimezone] = Calendar.from_ical(data).walk("VTIMEZONE")
    late = datetime(2055, 7, 1, 9, 0).replace(tzinfo=vtimezone.to_tz(lookup_tzid=False))
    assert late.utcoffset() == timedelta(hours=3, minutes=30)


def test_a_series_starting_today_writes_no_change_from_before_it(session):
    data = export_weekly(session, "Europe/Madrid", datetime(2026, 3, 23, 9, 0))
    first, *_rest = parts(data)
    # what holds on the day before the first occurrence: winter time, unchanged
    assert first == {
        "PART": "STANDARD", "DTSTART": "20260322T090000",
        "TZOFFSETFROM": "+0100", "TZOFFSETTO": "+0100", "TZNAME": "CET",
    }  # fmt: skip
