"""VTIMEZONE components that agree with tzdata (RFC 5545 §3.6.5).

icalendar can build a VTIMEZONE from a zoneinfo zone, but (7.3) it starts
each DAYLIGHT part one hour late (its DTSTART is the wall time after the
change, where RFC 5545 wants the local time in TZOFFSETFROM, e.g.
02:00 for Madrid's spring change) and lists dated changes only up to a
last date, after which a calendar keeps the last offset for ever.

So the changes are read from the zone itself, the same zoneinfo minicrm
computes with: the UTC offset is sampled a day apart and each change is
narrowed to the second. Where the zone's
changes end in a yearly rule (as tzdata's do for most zones today), that
tail becomes one STANDARD and one DAYLIGHT part with an RRULE, which
covers an endless series; earlier changes are listed as dates (RDATE).
A zone whose current rule cannot be written as an RRULE has its changes
listed up to LISTED_UNTIL_YEAR.

Module-level imports stay light: icalendar and dateutil load when a
calendar is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

# Later than any change tzdata lists as a date (Casablanca's end in 2087):
# past it only a zone's current rule remains, which the probe years show.
LISTED_UNTIL_YEAR = 2100
PROBE_YEARS = 28  # a full cycle of weekdays on dates: every form of a yearly rule shows
# Two changes within one step would be missed; since 1980 tzdata has none
# less than a week apart.
SAMPLE_STEP = 86_400  # seconds
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of a zone's UTC offset (or of its name or DST flag)."""

    at: datetime  # the UTC instant
    before: timedelta  # the offset until then: TZOFFSETFROM
    after: timedelta  # TZOFFSETTO
    name: str
    dst: bool  # a DAYLIGHT part, else STANDARD

    @property
    def onset(self) -> datetime:
        """DTSTART of the part: the local time in the offset before the change."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def kind(self) -> tuple:
        return (self.before, self.after, self.name, self.dst)


def vtimezone(zone: tzinfo, tzid: str, since: datetime) -> Any:
    """An icalendar Timezone for `zone` that is right from `since` on."""
    from icalendar import Timezone

    start = since.astimezone(UTC).replace(microsecond=0)
    end = datetime(LISTED_UNTIL_YEAR, 1, 1, tzinfo=UTC)
    changes = zone_changes(zone, start, end)
    listed, rules = _split_off_yearly_rule(changes)
    component = Timezone()
    component.add("tzid", tzid)
    component.add_component(_first_observance(zone, start))
    for same in _by_kind(listed).values():
        component.add_component(_part(same[0], rdates=[c.onset for c in same[1:]]))
    for first, rule in rules:
        component.add_component(_part(first, rrule=rule))
    return component


# ------------------------------------------------------------ the changes


def zone_changes(zone: tzinfo, start: datetime, end: datetime) -> list[Change]:
    """Every change of `zone` in [start, end), from its own utcoffset()."""
    changes = []
    low = int(start.timestamp())
    low_state = _state(zone, low)
    while low < end.timestamp():
        high = low + SAMPLE_STEP
        high_state = _state(zone, high)
        if high_state != low_state:
            changes.append(_narrow(zone, low, high, low_state))
        low, low_state = high, high_state
    return changes


def _state(zone: tzinfo, timestamp: int) -> tuple[timedelta, bool, str]:
    local = datetime.fromtimestamp(timestamp, zone)
    return local.utcoffset(), bool(local.dst()), local.tzname() or ""


def _narrow(zone: tzinfo, low: int, high: int, low_state: tuple) -> Change:
    """Bisect to the first second of the new state."""
    while high - low > 1:
        middle = (low + high) // 2
        if _state(zone, middle) == low_state:
            low = middle
        else:
            high = middle
    offset, dst, name = _state(zone, high)
    return Change(datetime.fromtimestamp(high, UTC), low_state[0], offset, name, dst)


def _by_kind(changes: list[Change]) -> dict[tuple, list[Change]]:
    groups: dict[tuple, list[Change]] = defaultdict(list)
    for change in changes:
        groups[change.kind].append(change)
    return groups


# ------------------------------------------------------ the current rule


def _split_off_yearly_rule(changes: list[Change]) -> tuple[list[Change], list[tuple]]:
    """(changes to list as dates, [(first change, RRULE text)] for the tail
    that follows a yearly rule up to LISTED_UNTIL_YEAR)."""
    probe_from = LISTED_UNTIL_YEAR - PROBE_YEARS
    probe = _by_kind([c for c in changes if c.at.year >= probe_from])
    rules = {kind: _yearly_rule([c.onset for c in same]) for kind, same in probe.items()}
    if not rules or None in rules.values():
        return changes, []  # no DST now (or none that an RRULE can say): list them all
    start = len(changes)
    while start > 0 and _follows(changes[start - 1], rules):
        start -= 1
    while start < len(changes) and not _tail_is_whole(changes[start:], rules):
        start += 1  # a year the rule skipped: list the changes up to it
    tail = _by_kind(changes[start:])
    return changes[:start], [(same[0], rules[kind]) for kind, same in tail.items()]


def _follows(change: Change, rules: dict[tuple, str | None]) -> bool:
    rule = rules.get(change.kind)
    return rule is not None and _expand(rule, change.onset, change.onset) == [change.onset]


def _tail_is_whole(tail: list[Change], rules: dict[tuple, str | None]) -> bool:
    """Each rule, expanded from its first change in the tail, gives exactly
    the tail's changes of its kind: no year missing, none extra."""
    last = tail[-1].onset if tail else None
    for kind, same in _by_kind(tail).items():
        onsets = [c.onset for c in same]
        if _expand(rules[kind], onsets[0], last) != onsets:
            return False
    return bool(tail)


def _yearly_rule(onsets: list[datetime]) -> str | None:
    """An RRULE giving exactly these local times, one a year, or None.
    Tried from the most common form (the last Sunday of March) down to
    the general one (a weekday within seven days of a month)."""
    if len(onsets) < PROBE_YEARS - 1 or len({(o.month, o.time()) for o in onsets}) != 1:
        return None
    month, days = onsets[0].month, sorted({o.day for o in onsets})
    candidates = [f"BYMONTHDAY={days[0]}"]
    if len({o.weekday() for o in onsets}) == 1:
        weekday = WEEKDAYS[onsets[0].weekday()]
        candidates += [f"BYDAY={n}{weekday}" for n in (1, 2, 3, 4, -1)]
        window = ",".join(str(day) for day in range(days[0], days[0] + 7))
        candidates.append(f"BYDAY={weekday};BYMONTHDAY={window}")
    for candidate in candidates:
        rule = f"FREQ=YEARLY;BYMONTH={month};{candidate}"
        if _expand(rule, onsets[0], onsets[-1]) == onsets:
            return rule
    return None


def _expand(rule: str, start: datetime, last: datetime) -> list[datetime]:
    from dateutil.rrule import rrulestr

    return rrulestr(rule, dtstart=start).between(start, last, inc=True)


# ------------------------------------------------------------- the parts


def _first_observance(zone: tzinfo, start: datetime) -> Any:
    """What holds at `start`: a part that changes nothing, so every time
    from then on falls after some part's onset."""
    offset, dst, name = _state(zone, int(start.timestamp()))
    return _part(Change(start, offset, offset, name, dst))


def _part(change: Change, *, rdates: list[datetime] = (), rrule: str | None = None) -> Any:
    from icalendar import TimezoneDaylight, TimezoneStandard, vRecur

    part = TimezoneDaylight() if change.dst else TimezoneStandard()
    part.add("dtstart", change.onset)
    if rrule:
        part.add("rrule", vRecur.from_ical(rrule))
    if rdates:
        part.add("rdate", list(rdates))
    part.add("tzoffsetfrom", change.before)
    part.add("tzoffsetto", change.after)
    part.add("tzname", change.name)
    return part
