"""Dates: WHEN phrases in, UTC stored, the local zone shown.

`parse_when` reads what people type (`3pm`, `tomorrow morning`, `monday at
3`, `next week`, `in two weeks`, `the 15th`, `jan 5`, `+2h`, ISO dates and
times) relative to a given `now` in a given zone. when_phrases.py reads the
words; this module decides which instant they mean:

- A time of day alone (`3pm`, `noon`) is the next such time: today, or
  tomorrow once it has passed. A weekday is the next such day and time.
- A date without a year (`jan 5`, `1/15`, `the 15th`) is the next such day,
  today included. A day alone is that day at `default_time` (09:00), so
  `today` said at 15:00 is due already: the day was named, and reports need
  `--since today` to start at midnight.
- A part of the day that has begun (`this afternoon` at 15:00, `end of day`
  at 18:00) means now, until it is over; after that it is an error.
- Only `yesterday`, `ago`, `last ...`, and dates with a past year name the past.

Calendar phrases keep the wall-clock time across DST changes; `+3h` style
offsets are exact durations. Anything unreadable is a UserError with
examples, never a silent "now".
"""

import calendar
import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from minicrm.errors import UserError
from minicrm.when_phrases import (
    Clock,
    DayOfMonth,
    EndOf,
    Following,
    FromToday,
    MonthDay,
    OnDate,
    Phrase,
    Shift,
    Weekday,
    read_phrase,
)

DEFAULT_TIME = time(9, 0)  # a follow-up for "tomorrow" means the start of the working day
EXAMPLES = (
    "3pm, tomorrow 9am, this afternoon, next friday, monday at 3, in 3 days, "
    "next week, the 15th, jan 5, 2026-12-24 14:30"
)

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
    text: str,
    *,
    now: datetime,
    zone: tzinfo,
    default_time: time = DEFAULT_TIME,
    looking_back: bool = False,
    scheduling: bool = False,
) -> datetime:
    """The instant `text` means, as an aware UTC datetime.

    A day or time said without saying which (`jan 5`, `the 15th`, `monday`,
    `3pm`) is the next one; with `looking_back` (when recording what has
    happened: `crm log --at`, `stage --at`, a report's --since) the latest
    one up to now instead. With `scheduling` (a follow-up's due time), a
    day named without a time whose usual hour has passed (`today` at 16:00)
    means now, so nothing is scheduled in the past unless the phrase says
    so (`yesterday`, `2 days ago`, a date with its year)."""
    phrase = " ".join(str(text).strip().lower().split())
    if not phrase:
        raise UserError(f"no date given; try one of: {EXAMPLES}")
    local_now = now.astimezone(zone)
    try:
        found = _read_iso(phrase, zone, default_time)
        if found is None and (said := read_phrase(phrase)) is not None:
            found = _resolve(said, local_now, zone, default_time, looking_back)
            if scheduling and said.clock is None and _is_past_today(found, local_now, said):
                found = local_now
    except UserError as exc:  # say what was wrong, then show what works
        raise UserError(f"{exc.message}; try one of: {EXAMPLES}") from exc
    except OverflowError as exc:
        raise UserError(f"the date {text!r} is out of range; try one of: {EXAMPLES}") from exc
    if found is not None:
        return _stored(found)
    raise UserError(f"cannot read the date {text!r}; try one of: {EXAMPLES}")


def already_past(moment: datetime, now: datetime) -> bool:
    """Whether a time to do something has gone by. Stored times are whole
    seconds, so `today` (= now, rounded down) is not past during its second."""
    return moment < now.replace(microsecond=0)


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


def _earlier(value: datetime, than: datetime) -> bool:
    # In UTC: two times in the same zone compare by the wall clock, so the
    # first 01:30 of a night when clocks go back would not count as earlier
    # than the second.
    return value.astimezone(UTC) < than.astimezone(UTC)


def _read_iso(phrase: str, zone: tzinfo, default_time: time) -> datetime | None:
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


# ------------------------------------------------- what a phrase means


def _resolve(
    said: Phrase, local_now: datetime, zone: tzinfo, default_time: time, back: bool = False
) -> datetime:
    day = said.day
    if isinstance(day, Shift):
        return _shifted(day, said.clock, local_now, zone)
    # A time as typed, else the day's own (tonight: 20:00, end of day: 17:00), else 09:00.
    clock = said.clock or getattr(day, "default", None) or Clock(default_time)
    if day is None:
        if back:
            return _last_time_of_day(clock.at, local_now, zone)
        return _next_time_of_day(clock.at, local_now, zone)
    if isinstance(day, Weekday):
        if back and not day.qualifier:
            return _last_weekday(day, clock.at, local_now, zone)
        found = _on_weekday(day, clock.at, local_now, zone)
    elif back and isinstance(day, (MonthDay, DayOfMonth)):
        return _at(_last_day_of(day, local_now.date()), clock.at, zone)
    else:
        found = _at(_day_of(day, local_now), clock.at, zone)
    return _not_before_a_begun_part(found, clock, local_now)


def _next_time_of_day(clock: time, local_now: datetime, zone: tzinfo) -> datetime:
    today = local_now.date()
    found = _at(today, clock, zone)
    if _earlier(found, local_now):
        return _at(today + timedelta(days=1), clock, zone)
    return found


def _is_past_today(found: datetime, local_now: datetime, said: Phrase) -> bool:
    """Whether `found` is earlier today than now for a phrase that did not
    name the past (today, dec 4, the 4th, end of day: not yesterday or ago)."""
    if isinstance(said.day, Shift) or isinstance(said.day, Weekday) and said.day.qualifier:
        return False
    return found.date() == local_now.date() and _earlier(found, local_now)


def _last_time_of_day(clock: time, local_now: datetime, zone: tzinfo) -> datetime:
    today = local_now.date()
    found = _at(today, clock, zone)
    if _earlier(local_now, found):
        return _at(today - timedelta(days=1), clock, zone)
    return found


def _last_weekday(day: Weekday, clock: time, local_now: datetime, zone: tzinfo) -> datetime:
    """`monday` said while recording the past: the latest Monday, today's
    if its time has come."""
    today = local_now.date()
    found = _at(today - timedelta(days=(today.weekday() - day.index) % 7), clock, zone)
    if _earlier(local_now, found):
        found = _at(found.date() - timedelta(days=7), clock, zone)
    return found


def _last_day_of(day, today: date) -> date:
    """The latest `jan 5` (or 15th) up to today: looking back, a date
    without a year is this year's, or last year's when that is still ahead."""
    if isinstance(day, MonthDay) and day.year is not None:
        return _month_day(day, today)
    for months_back in range(0, 12 * 9):  # feb 29 can be 8 years back
        month = _add_months(today.replace(day=1), -months_back)
        wanted_month = day.month if isinstance(day, MonthDay) else month.month
        if month.month != wanted_month:
            continue
        try:
            found = month.replace(day=day.day)
        except ValueError:
            continue
        if found <= today:
            return found
    raise UserError("cannot find that day in the past")


def _not_before_a_begun_part(found: datetime, clock: Clock, local_now: datetime) -> datetime:
    """`this afternoon` said at 15:00 is now, not 14:00; said at 19:00 the
    afternoon is over, and moving it to tomorrow would be a guess."""
    part = clock.part
    if part is None or not _earlier(found, local_now) or found.date() != local_now.date():
        return found
    if part.end is not None and local_now.time() >= part.end:
        raise UserError(
            f"the {part.name} is over (it ends at {part.end:%H:%M}); "
            f"try tomorrow {part.name}, in 1 hour or this evening"
        )
    return local_now


def _shifted(shift: Shift, clock: Clock | None, local_now: datetime, zone: tzinfo) -> datetime:
    if shift.exact:  # real time, whatever DST does
        moved = local_now.astimezone(UTC) + timedelta(**{shift.unit: shift.amount})
        return moved.astimezone(zone)
    today = local_now.date()
    if shift.unit == "months":
        day = _add_months(today, shift.amount)
    else:
        day = today + timedelta(**{shift.unit: shift.amount})
    # Calendar steps keep the wall-clock time (or take the one given).
    return _at(day, clock.at if clock else local_now.time(), zone)


def _add_months(day: date, months: int) -> date:
    """Same day of the month, or the month's last day (jan 31 + 1 month = feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _on_weekday(day: Weekday, clock: time, local_now: datetime, zone: tzinfo) -> datetime:
    today = local_now.date()
    if day.qualifier == "last":
        days_back = (today.weekday() - day.index) % 7 or 7
        return _at(today - timedelta(days=days_back), clock, zone)
    days_ahead = (day.index - today.weekday()) % 7
    if day.qualifier == "next" and days_ahead == 0:
        days_ahead = 7  # "next friday" said on a Friday is a week away
    found = _at(today + timedelta(days=days_ahead), clock, zone)
    if not day.qualifier and not _earlier(local_now, found):  # today's has passed
        found = _at(today + timedelta(days=days_ahead + 7), clock, zone)
    return found


def _day_of(day, local_now: datetime) -> date:
    """The calendar day a day phrase names (today counts as the next one)."""
    today = local_now.date()
    if isinstance(day, FromToday):
        return today + timedelta(days=day.days)
    if isinstance(day, Following):
        if day.what == "week":
            return today + timedelta(days=7 - today.weekday())  # its Monday
        return _add_months(today.replace(day=1), 1)
    if isinstance(day, DayOfMonth):
        return _next_numbered_day(day.day, today)
    if isinstance(day, MonthDay):
        return _month_day(day, today)
    if isinstance(day, OnDate):
        return day.value
    if isinstance(day, EndOf):
        return _end_of(day.what, today)
    raise TypeError(f"not a day: {day!r}")


def _next_numbered_day(number: int, today: date) -> date:
    """The 31st said in November is December's: the next month that has one."""
    first = today.replace(day=1)
    for months in range(13):
        month = _add_months(first, months)
        if number <= calendar.monthrange(month.year, month.month)[1]:
            found = month.replace(day=number)
            if found >= today:
                return found
    raise UserError(f"cannot find the next day {number}")


def _month_day(day: MonthDay, today: date) -> date:
    if day.year is not None:
        try:
            return date(_full_year(day.year, today.year), day.month, day.day)
        except ValueError:
            raise UserError("there is no such day in that year") from None
    for year in range(today.year, today.year + 9):  # feb 29 can be 8 years away
        try:
            found = date(year, day.month, day.day)
        except ValueError:
            continue
        if found >= today:
            return found
    raise UserError(f"cannot find the next {calendar.month_abbr[day.month].lower()} {day.day}")


def _full_year(year: int, this_year: int) -> int:
    """Two digits mean the year within 50 years of now (as dateutil reads 12/24/99)."""
    if year >= 100:
        return year
    year += this_year - this_year % 100
    if year >= this_year + 50:
        return year - 100
    if year < this_year - 50:
        return year + 100
    return year


def _end_of(what: str, today: date) -> date:
    if what == "month":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if what == "week":
        return today + timedelta(days=(4 - today.weekday()) % 7)  # Friday, the working week's end
    return today
