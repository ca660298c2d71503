"""The words of a WHEN phrase, read before any clock or zone is looked at.

`read_phrase("monday at 3")` says what was typed: a day (`Weekday(0)`) and a
time of day (15:00). `minicrm.dates` then decides which instant that is for a
given now and zone. Keeping the grammar apart keeps the rules about the
future and the past in one place (dates.py), and keeps this module free of
time zones.

Nothing here guesses silently: a phrase either matches one of the shapes below or
`read_phrase` returns None (the caller shows examples), and a shape that
matches with an impossible or ambiguous value raises a UserError saying why.
"""

import re
from dataclasses import dataclass
from datetime import date, time

from minicrm.errors import UserError

WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun")]
    )
    for name in names
}  # fmt: skip
MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
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
EXACT_UNITS = ("minutes", "hours")  # real time; days, weeks and months are calendar steps
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """A part of the day: it starts at `start` and is over at `end` (None: at midnight)."""

    name: str
    start: time
    end: time | None


PARTS = {
    "morning": Part("morning", time(9), time(12)),
    "afternoon": Part("afternoon", time(14), time(18)),
    "evening": Part("evening", time(18), None),
    "night": Part("night", time(20), None),
}
CLOSE_OF_DAY = Part("end of the day", time(17), None)


@dataclass(frozen=True)
class Clock:
    """A time of day as typed; `part` is set when it was a word like 'afternoon'."""

    at: time
    part: Part | None = None


# ------------------------------------------------------------ the days


@dataclass(frozen=True)
class FromToday:
    """today (0), tomorrow (1), yesterday (-1), tonight, 'this' before a part of the day."""

    days: int
    default: Clock | None = None  # tonight: 20:00 unless a time is given
    needs_part: bool = False  # 'this' alone says nothing


@dataclass(frozen=True)
class Weekday:
    index: int  # Monday is 0
    qualifier: str = ""  # "", "next", "this" or "last"


@dataclass(frozen=True)
class Following:
    """next week (its Monday) or next month (its 1st)."""

    what: str


@dataclass(frozen=True)
class DayOfMonth:
    """the 15th: the next day numbered 15."""

    day: int


@dataclass(frozen=True)
class MonthDay:
    """dec 24, 12/24, 24 december 2026; `year` None means the next one."""

    month: int
    day: int
    year: int | None = None  # two digits are resolved against now's century


@dataclass(frozen=True)
class OnDate:
    value: date


@dataclass(frozen=True)
class EndOf:
    what: str  # day, week or month
    default: Clock = Clock(CLOSE_OF_DAY.start, CLOSE_OF_DAY)


@dataclass(frozen=True)
class Shift:
    """in 3 days, +2h, 3 days ago (negative), now (zero minutes)."""

    amount: int
    unit: str

    @property
    def exact(self) -> bool:
        return self.unit in EXACT_UNITS


Day = FromToday | Weekday | Following | DayOfMonth | MonthDay | OnDate | EndOf | Shift


@dataclass(frozen=True)
class Phrase:
    day: Day | None  # None: a time of day alone ('3pm'), the next such time
    clock: Clock | None = None


# ------------------------------------------------------------- patterns


def _words(names) -> str:
    return "|".join(sorted(names, key=len, reverse=True))  # longest first: 'march' before 'mar'


_MONTH = rf"(?P<month>{_words(MONTHS)})\.?"
_DAY_NUMBER = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_NUMBER = rf"(?:(?P<n>\d{{1,4}})\s*|(?P<word>{_words(NUMBER_WORDS)})\s+)"
_PART = rf"(?:in\s+the\s+)?(?:{_words(PARTS)})"
_TIME = r"(?:at\s+)?(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)"
CLOCK = rf"{_TIME}|{_PART}"  # a part of the day only after its day: 'friday afternoon'

_SHIFT = re.compile(rf"^(?:in\s+)?\+?{_NUMBER}(?P<unit>[a-z]+)$")
_AGO = re.compile(rf"^{_NUMBER}(?P<unit>[a-z]+)\s+ago$")
_HALF_HOUR = re.compile(r"^in\s+half\s+an\s+hour$")
_WEEKDAY = re.compile(rf"^(?:(?P<q>next|this|last)\s+)?(?P<wd>{_words(WEEKDAYS)})$")
_NTH = re.compile(r"^(?:the\s+(?P<a>\d{1,2})(?:st|nd|rd|th)?|(?P<b>\d{1,2})(?:st|nd|rd|th))$")
_MONTH_FIRST = re.compile(rf"^{_MONTH}\s+(?:the\s+)?{_DAY_NUMBER}(?:\s+(?P<year>\d{{4}}))?$")
_DAY_FIRST = re.compile(
    rf"^(?:the\s+)?{_DAY_NUMBER}\s+(?:of\s+)?{_MONTH}(?:\s+(?P<year>\d{{4}}))?$"
)
_MONTH_ALONE = re.compile(rf"^{_MONTH}(?:\s+\d{{4}})?$")
_SLASHED = re.compile(r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?$")
_DOTTED = re.compile(r"^(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?P<year>\d{4}|\d{2})$")  # 12.30 is a time
_YEAR_FIRST = re.compile(r"^(?P<year>\d{4})([/.])(?P<a>\d{1,2})\2(?P<b>\d{1,2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_END_OF = re.compile(r"^end\s+of\s+(?:the\s+)?(?P<what>month|week|day)$")
_DAY_THEN_CLOCK = re.compile(rf"^(?P<day>.+?)\s+(?P<clock>{CLOCK})$")
_CLOCK_THEN_DAY = re.compile(rf"^(?P<clock>{_TIME})(?:\s+(?:on\s+)?(?P<day>.+))?$")
_PART_ALONE = re.compile(rf"^{_PART}$")

NIGHT = Clock(PARTS["night"].start, PARTS["night"])
_DAY_WORDS = {
    "today": FromToday(0),
    "tomorrow": FromToday(1),
    "yesterday": FromToday(-1),
    "day after tomorrow": FromToday(2),
    "the day after tomorrow": FromToday(2),
    "day before yesterday": FromToday(-2),
    "the day before yesterday": FromToday(-2),
    "tonight": FromToday(0, default=NIGHT),
    "this": FromToday(0, needs_part=True),
}
_FOLLOWING = {"next week": Following("week"), "next month": Following("month")}
MONTH_ERROR = "name the day as well, e.g. march 1, march 15 2027 or next month"


# --------------------------------------------------------------- reading


def read_phrase(phrase: str) -> Phrase | None:
    """What a normalised (lower-case, single-spaced) phrase says, or None."""
    phrase = " ".join(phrase.replace(",", " ").split())  # 'dec 24, 2026' = 'dec 24 2026'
    shift = read_shift(phrase)
    if shift is not None:
        return Phrase(shift)
    day = read_day(phrase)
    if day is not None:
        return _checked(Phrase(day))
    split = _DAY_THEN_CLOCK.match(phrase)
    if split and (day := read_day(split["day"])) is not None:
        return _checked(Phrase(day, read_clock(split["clock"], after=day)))
    split = _CLOCK_THEN_DAY.match(phrase)
    if split:  # '3pm', 'noon tomorrow', 'at 3 on monday'
        day = read_day(split["day"]) if split["day"] else None
        if split["day"] and day is None:
            return None
        return _checked(Phrase(day, read_clock(split["clock"], after=day)))
    if _PART_ALONE.match(phrase):
        name = phrase.removeprefix("in the ")
        raise UserError(f"say this {name} or tomorrow {name}, or name a day: friday {name}")
    return None


def _checked(said: Phrase) -> Phrase:
    day, clock = said.day, said.clock
    if isinstance(day, Shift) and clock is not None and day.exact:
        raise UserError("'in 2 hours' style offsets are exact; drop the time or say 'tomorrow 3pm'")
    if isinstance(day, FromToday) and day.needs_part and (clock is None or clock.part is None):
        raise UserError("say this morning, this afternoon, this evening or today 3pm")
    if day == _DAY_WORDS["tonight"] and clock == Clock(time(0)):
        return Phrase(FromToday(1), clock)  # midnight tonight is the end of today
    return said


def read_shift(phrase: str) -> Shift | None:
    """in 3 days, in a week, +2h, in half an hour, 2 days ago, now."""
    if phrase == "now":
        return Shift(0, "minutes")
    if _HALF_HOUR.match(phrase):
        return Shift(30, "minutes")
    sign, match = 1, _SHIFT.match(phrase)
    if match and not phrase.startswith(("in ", "+")):
        match = None  # '3 days' alone could mean either way
    if match is None:
        sign, match = -1, _AGO.match(phrase)
    if match is None:
        return None
    unit = UNITS.get(match["unit"])
    if unit is None:
        raise UserError(f"unknown unit {match['unit']!r} in {phrase!r}; use min, h, d, w or months")
    amount = int(match["n"]) if match["n"] else NUMBER_WORDS[match["word"]]
    return Shift(sign * amount, unit)


def read_day(text: str) -> Day | None:
    """A phrase naming a day and nothing else, or None."""
    text = text.removeprefix("on ")
    if text in _DAY_WORDS:
        return _DAY_WORDS[text]
    if text in _FOLLOWING:
        return _FOLLOWING[text]
    if match := _WEEKDAY.match(text):
        return Weekday(WEEKDAYS[match["wd"]], match["q"] or "")
    if match := _END_OF.match(text):
        return EndOf(match["what"])
    if match := _NTH.match(text):
        return DayOfMonth(_day_number(int(match["a"] or match["b"])))
    if _MONTH_ALONE.match(text):
        raise UserError(f"{text!r} is a month, not a day: {MONTH_ERROR}")
    if _ISO_DATE.match(text):
        return OnDate(_iso_date(text))
    if text.startswith(("in ", "+")) and (shift := read_shift(text)) is not None:
        return shift  # 'in 2 weeks at 10am'; _checked refuses a time after 'in 2 hours'
    return _read_calendar_date(text)


def _read_calendar_date(text: str) -> MonthDay | None:
    if match := _MONTH_FIRST.match(text) or _DAY_FIRST.match(text):
        month, day = MONTHS[match["month"]], int(match["day"])
    elif match := _SLASHED.match(text) or _DOTTED.match(text) or _YEAR_FIRST.match(text):
        month, day = _month_and_day(int(match["a"]), int(match["b"]), text)
    else:
        return None
    year = int(match["year"]) if match["year"] else None
    _check_exists(month, day, year, text)
    return MonthDay(month, day, year)


def _month_and_day(first: int, second: int, text: str) -> tuple[int, int]:
    """Month first (12/24), unless the first number cannot be a month (24/12)."""
    if first > 12 >= second:
        return second, first
    if first > 12:
        raise UserError(f"cannot read the date {text!r}: write it month first, like 12/24/2026")
    return first, second


def _check_exists(month: int, day: int, year: int | None, text: str) -> None:
    try:  # a year is checked as typed; without one, a leap year allows feb 29
        date(2000 if year is None or year < 100 else year, month, day)
    except ValueError:
        raise UserError(f"cannot read the date {text!r}: there is no such day") from None


def _day_number(day: int) -> int:
    if not 1 <= day <= 31:
        raise UserError(f"no month has a day {day}; try the 1st, the 15th or the 31st")
    return day


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"cannot read the date {text!r}: {exc}") from exc


# ----------------------------------------------------------- times of day


def read_clock(text: str, *, after: Day | None = None) -> Clock:
    """A time of day. A bare number is an hour only after 'at' (`at 3` is
    15:00: working hours, see _working_hour); without it, '9' after a date
    with no year could as well be the year, and elsewhere am or pm."""
    text = text.removeprefix("in the ")
    if text in PARTS:
        return Clock(PARTS[text].start, PARTS[text])
    said_at = text.startswith("at ")
    text = text.removeprefix("at ")
    if text == "noon":
        return Clock(time(12))
    if text == "midnight":
        return Clock(time(0))
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not match:
        raise UserError(f"cannot read the time {text!r}; try 9am, 14:30 or 2:30pm")
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half:
        if not 1 <= hour <= 12:
            raise UserError(f"cannot read the time {text!r}: with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match[2] is None:
        hour = _bare_hour(hour, said_at, after)
    if hour > 23 or minute > 59:
        raise UserError(f"cannot read the time {text!r}: no such time of day")
    return Clock(time(hour, minute))


def _bare_hour(hour: int, said_at: bool, after: Day | None) -> int:
    if said_at:
        return _working_hour(hour)
    if isinstance(after, MonthDay) and after.year is None:
        if hour > 23:
            raise UserError(f"write the year with four digits, like 20{hour:02d}")
        raise UserError(
            f"is {hour} an hour or a year? write {hour}am, {hour}pm or at {hour} for the hour, "
            "or the year with four digits"
        )
    if hour > 23:
        raise UserError(f"cannot read the time '{hour}': no such time of day")
    if hour > 12:
        raise UserError(f"cannot read the time '{hour}'; write {hour}:00")
    raise UserError(f"cannot read the time '{hour}'; write {hour}am, {hour}pm or {hour}:00")


def _working_hour(hour: int) -> int:
    """`at 3` means 15:00: a follow-up is set in working hours, so 1 to 7
    are afternoon hours, 8 to 11 morning ones, 12 is noon, 0 and 13 to 23
    the 24-hour clock. Add am or pm to say otherwise."""
    return hour + 12 if 1 <= hour <= 7 else hour
