"""Dates: WHEN phrases in, UTC stored, the local zone shown.

`parse_when` reads what people type (`tomorrow 9am`, `next friday`, `in 3
days`, `+2h`, `end of month`, ISO dates and times) relative to a given `now`
in a given zone. Calendar phrases keep the wall-clock time across DST
changes; `+3h` style offsets are exact durations. Anything unreadable is a
UserError with examples, never a silent "now".
"""

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from minicrm.errors import UserError

DEFAULT_TIME = time(9, 0)  # a follow-up for "tomorrow" means the start of the working day
EVENING = time(20, 0)
EXAMPLES = (
    "today, tomorrow 9am, tonight, next friday, monday 10am, in 3 days, +2h, "
    "end of month, 2026-12-24 14:30"
)

WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun")]
    )
    for name in names
}  # fmt: skip
UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
}  # fmt: skip

_TIME = r"(?:at\s+)?(?P<time>noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)"
_OFFSET = re.compile(r"^(?:in\s+)?\+?(?P<n>\d{1,4})\s*(?P<unit>[a-z]+)$")
_AGO = re.compile(r"^(?P<n>\d{1,4})\s*(?P<unit>[a-z]+)\s+ago$")
_DAY_WORD = re.compile(rf"^(?P<day>today|tomorrow|yesterday|tonight)(?:\s+{_TIME})?$")
_WEEKDAY = re.compile(rf"^(?P<next>next\s+|this\s+|last\s+)?(?P<wd>[a-z]+)(?:\s+{_TIME})?$")
_END_OF = re.compile(rf"^end\s+of\s+(?:the\s+)?(?P<what>month|week|day)(?:\s+{_TIME})?$")
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:z|[+-]\d{2}:?\d{2}(?::?\d{2}(?:\.\d+)?)?)?$"
)


def local_zone(setting: str | None = None) -> tzinfo:
    """The `timezone` setting, else TZ, else the system's zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for name in (setting, os.environ.get("TZ")):
        if name:
            try:
                return ZoneInfo(name.lstrip(":"))
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return datetime.now(UTC).astimezone().tzinfo or UTC


def format_local(value: datetime | None, zone: tzinfo, *, with_time: bool = True) -> str:
    """For people: local wall-clock time, minutes precision."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def format_when(value: datetime, zone: tzinfo) -> str:
    """An exact local time that parse_when reads back to the same instant,
    even in the repeated hour when clocks go back (the offset says which)."""
    local = value.astimezone(zone)
    text = local.isoformat(sep=" ", timespec="seconds" if local.second else "minutes")
    return text


def parse_when(
    text: str, *, now: datetime, zone: tzinfo, default_time: time = DEFAULT_TIME
) -> datetime:
    """The instant `text` means, as an aware UTC datetime."""
    phrase = " ".join(str(text).strip().lower().split())
    if not phrase:
        raise UserError(f"no date given; try one of: {EXAMPLES}")
    try:
        found = _read(phrase, now.astimezone(zone), zone, default_time)
    except UserError as exc:  # say what was wrong, then show what works
        raise UserError(f"{exc.message}; try one of: {EXAMPLES}") from exc
    except OverflowError as exc:
        raise UserError(f"the date {text!r} is out of range; try one of: {EXAMPLES}") from exc
    if found is not None:
        return found
    raise UserError(f"cannot read the date {text!r}; try one of: {EXAMPLES}")


def _stored(value: datetime) -> datetime:
    # Whole seconds: nobody schedules to the microsecond, and RRULE drops them.
    return value.astimezone(UTC).replace(microsecond=0)


def wall_clock(naive: datetime, zone: tzinfo) -> datetime:
    """The instant a local wall-clock reading means in `zone`. A reading in
    the spring-forward gap does not exist: the round trip through UTC moves
    it to the real instant just after the gap."""
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def start_of_day(now: datetime, zone: tzinfo, *, days_later: int = 0) -> datetime:
    """Local midnight `days_later` days after now's local date, as UTC."""
    day = now.astimezone(zone).date() + timedelta(days=days_later)
    return wall_clock(datetime.combine(day, time(0, 0)), zone).astimezone(UTC)


def _at(day: date, clock: time, zone: tzinfo) -> datetime:
    return wall_clock(datetime.combine(day, clock), zone)


def _clock(text: str | None, default: time) -> time:
    if not text:
        return default
    if text == "noon":
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not match:
        raise UserError(f"cannot read the time {text!r}; try 9am, 14:30 or 2:30pm")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise UserError(f"cannot read the time {text!r}: with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match.group(2) is None:
        raise UserError(f"cannot read the time {text!r}; write {text}am, {text}pm or {text}:00")
    if hour > 23 or minute > 59:
        raise UserError(f"cannot read the time {text!r}: no such time of day")
    return time(hour, minute)


def _read_now(phrase, local_now, zone, default_time):
    return local_now if phrase == "now" else None


def _shift(local_now: datetime, amount: int, unit: str, zone: tzinfo) -> datetime:
    from dateutil.relativedelta import relativedelta

    if unit in ("minutes", "hours"):  # exact durations
        return (local_now.astimezone(UTC) + timedelta(**{unit: amount})).astimezone(zone)
    # Calendar steps keep the wall-clock time, whatever DST does in between.
    moved = local_now.replace(tzinfo=None) + relativedelta(**{unit: amount})
    return _at(moved.date(), moved.time(), zone)


def _read_offset(phrase, local_now, zone, default_time):
    match = _OFFSET.match(phrase)
    if not match or not (phrase.startswith(("in ", "+"))):
        return None
    unit = UNITS.get(match.group("unit"))
    if unit is None:
        raise UserError(
            f"unknown unit {match.group('unit')!r} in {phrase!r}; use min, h, d, w or months"
        )
    return _shift(local_now, int(match.group("n")), unit, zone)


def _read_ago(phrase, local_now, zone, default_time):
    match = _AGO.match(phrase)
    if not match:
        return None
    unit = UNITS.get(match.group("unit"))
    if unit is None:
        raise UserError(
            f"unknown unit {match.group('unit')!r} in {phrase!r}; use min, h, d, w or months"
        )
    return _shift(local_now, -int(match.group("n")), unit, zone)


def _read_day_word(phrase, local_now, zone, default_time):
    match = _DAY_WORD.match(phrase)
    if not match:
        return None
    day_word = match.group("day")
    offset = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}[day_word]
    fallback = EVENING if day_word == "tonight" else default_time
    day = local_now.date() + timedelta(days=offset)
    return _at(day, _clock(match.group("time"), fallback), zone)


def _read_weekday(phrase, local_now, zone, default_time):
    match = _WEEKDAY.match(phrase)
    if not match or match.group("wd") not in WEEKDAYS:
        return None
    target = WEEKDAYS[match.group("wd")]
    qualifier = (match.group("next") or "").strip()
    clock = _clock(match.group("time"), default_time)
    today = local_now.date()
    if qualifier == "last":
        days_back = (today.weekday() - target) % 7 or 7
        return _at(today - timedelta(days=days_back), clock, zone)
    days_ahead = (target - today.weekday()) % 7
    if qualifier == "next" and days_ahead == 0:
        days_ahead = 7  # "next friday" said on a Friday is a week away
    candidate = _at(today + timedelta(days=days_ahead), clock, zone)
    if not qualifier and candidate <= local_now:
        candidate = _at(today + timedelta(days=days_ahead + 7), clock, zone)
    return candidate


def _read_end_of(phrase, local_now, zone, default_time):
    match = _END_OF.match(phrase)
    if not match:
        return None
    today = local_now.date()
    what = match.group("what")
    if what == "month":
        first_of_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        day = first_of_next - timedelta(days=1)
    elif what == "week":
        day = today + timedelta(days=(4 - today.weekday()) % 7)  # Friday, the working week's end
    else:
        day = today
    return _at(day, _clock(match.group("time"), time(17, 0)), zone)


def _read_iso(phrase, local_now, zone, default_time):
    if not _ISO.match(phrase):
        return None
    padded = re.sub(r"^(\d{4}-\d{2}-\d{2}[ t])(\d):", r"\g<1>0\2:", phrase)  # 9:30 -> 09:30
    try:
        value = datetime.fromisoformat(padded.upper().replace(" ", "T"))
    except ValueError as exc:
        raise UserError(f"cannot read the date {phrase!r}: {exc}") from exc
    if len(phrase) == 10:  # a date alone
        return _at(value.date(), default_time, zone)
    if value.tzinfo is None:
        return _at(value.date(), value.time(), zone)
    return value


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _read_with_dateutil(phrase, local_now, zone, default_time):
    """Other spellings of a calendar date ('24 dec', 'Dec 24 3pm', '12/24/2026').

    Only tried when the phrase names a month or has a date-like number
    pattern, so words like 'soon' are refused rather than guessed at."""
    if not (re.search(r"\d+[/.]\d+", phrase) or any(m in phrase for m in _MONTHS)):
        return None
    from dateutil import parser

    default = datetime.combine(local_now.date(), default_time)
    try:
        value = parser.parse(phrase, default=default, dayfirst=False)
    except (ValueError, OverflowError, parser.ParserError):
        return None
    if value.tzinfo is not None:
        return value
    return _at(value.date(), value.time(), zone)


READERS = (
    _read_now,
    _read_offset,
    _read_ago,
    _read_day_word,
    _read_weekday,
    _read_end_of,
    _read_iso,
)


def _read(phrase: str, local_now: datetime, zone: tzinfo, default_time: time) -> datetime | None:
    for reader in (*READERS, _read_with_dateutil):
        found = reader(phrase, local_now, zone, default_time)
        if found is not None:
            return _stored(found)
    return None
