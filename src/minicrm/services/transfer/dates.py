"""Dates in imported files: ISO, M/D/YYYY, D.M.YYYY or D-M-YYYY, read per column.

Whether 03/04/2026 is March or April is decided once per file, from all of
a column's values, and reported: a first part above 12 can only be a day
(D/M), a second part above 12 only a day (M/D); with no such value a slash
means M/D (as US exports write it), unless the file's headers are in
German, French, Spanish or Dutch (whose Outlook writes D/M), and a dot or
a dash D.M (as European ones do).
A time without an offset is local (the `timezone` setting, else TZ).
"""

import re
from datetime import UTC, date, datetime, tzinfo

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T].*)?$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:\s+(.*))?$")
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:,?\s+(.*))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)
DATE_HELP = "use YYYY-MM-DD, M/D/YYYY or D.M.YYYY"


class DateEvidence:
    """Decides, from all of a column's values, whether 03/04/2026 is March
    (M/D) or April (D/M): a first part above 12 can only be a day."""

    def __init__(self, *, day_first: bool = False):
        self.separator = ""
        self.localised = day_first  # the headers are in a language that writes D/M
        self.day_first = self.month_first = 0

    def add(self, value: str) -> None:
        match = _DMY.match(value.strip())
        if not match:
            return
        self.separator = self.separator or match.group(2)
        first, second = int(match.group(1)), int(match.group(3))
        self.day_first += first > 12
        self.month_first += second > 12

    def order(self) -> str:
        if self.day_first != self.month_first:
            return "dm" if self.day_first > self.month_first else "md"
        return "dm" if self.separator != "/" or self.localised else "md"

    def describe(self, header: str) -> str | None:
        if not self.separator:
            return None
        order = self.order()
        shown = {"md": "M/D/YYYY", "dm": "D/M/YYYY"}[order]
        if self.separator != "/":
            shown = shown.replace("/", self.separator)
        if self.day_first and self.month_first:
            why = "values disagree; the majority decides and the others are rejected"
        elif self.day_first or self.month_first:
            why = "a part above 12 settles it"
        else:
            why = f"no part above 12; the usual order for '{self.separator}'"
            if self.separator == "/" and self.localised:
                why = "no part above 12; day first, as in the language of the file's headers"
        return f"dates in column {header!r} read as {shown} ({why})"


def parse_date(value: str, order: str, zone: tzinfo, *, what: str = "date") -> datetime:
    """A date or date-time from a cell, in UTC; a time without an offset is
    local (`zone`). Raises ValueError with the reason for the row."""
    text = value.strip()
    try:
        if _ISO_DATE.match(text):
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
        else:
            parsed = _parse_numeric(text, order)
        if parsed.tzinfo is None:
            from minicrm.dates import wall_clock

            parsed = wall_clock(parsed, zone)
        return parsed.astimezone(UTC).replace(microsecond=0)
    except (ValueError, OverflowError) as exc:  # year 1 in a zone east of UTC overflows
        raise ValueError(f"invalid {what} {value!r}: {DATE_HELP}") from exc


def _parse_numeric(text: str, order: str) -> datetime:
    match = _YMD_SLASH.match(text)
    if match:
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    else:
        match = _DMY.match(text)
        if not match:
            raise ValueError(text)
        first, second, year, rest = int(match[1]), int(match[3]), int(match[4]), match[5]
        month, day = (first, second) if order == "md" else (second, first)
    hour = minute = second_ = 0
    if rest:
        clock = _TIME.match(rest.strip())
        if not clock:
            raise ValueError(text)
        hour, minute, second_ = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if clock[4]:
            if not 1 <= hour <= 12:
                raise ValueError(text)
            hour = hour % 12 + (12 if clock[4].lower().startswith("p") else 0)
    return datetime(year, month, day, hour, minute, second_)


# ---------------------------------------------------------------- birthdays

_BIRTHDAY_PARTS = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})$")
_BASIC_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T[\d:]+(?:\.\d+)?(?:Z|[+-][\d:]+)?)?$")
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})$")
# Outlook's ways of writing "no date": 0/0/00 or 1/0/00 for an empty
# birthday, 1/1/4501 for "None", and the FILETIME epoch 1601.
_NO_DATE_YEARS = (1601, 4501)


def read_birthday(value: str, order: str = "md") -> str | None:
    """A birthday cell as a calendar date: `1970-03-10`, or `--03-10` when
    it has no year; None when it says "no birthday" (Outlook's 0/0/00).
    A date-time keeps the date it names (19700310T000000Z is 10 March,
    whatever the zone). Text we cannot read is kept as written."""
    text = value.strip()
    if not text:
        return None
    calendar = calendar_date(text)
    if calendar is not None:
        return calendar or None
    match = _BIRTHDAY_PARTS.match(text)
    if not match:
        return text
    first, second, year = int(match[1]), int(match[3]), int(match[4])
    month, day = (first, second) if order == "md" else (second, first)
    if month == 0 or day == 0 or year in _NO_DATE_YEARS:
        return None
    if len(match[4]) == 2:  # a birthday is in the past: 80 is 1980, 05 is 2005
        year += 2000 if year <= date.today().year % 100 else 1900
    return _iso_or_text(year, month, day, text)


def calendar_date(text: str) -> str | None:
    """`1970-03-10` for ISO and basic dates and date-times, `--03-10` for a
    date without a year (vCard's --0310); "" for a date that means none
    (0000-00-00, 4501-01-01); None when `text` is neither."""
    match = _BASIC_DATE.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if month == 0 or day == 0 or year in (0, *_NO_DATE_YEARS):
            return ""
        return _iso_or_text(year, month, day, text)
    match = _NO_YEAR.match(text)
    if match:
        month, day = int(match[1]), int(match[2])
        try:
            date(2000, month, day)  # a leap year, so --02-29 stands
        except ValueError:
            return text
        return f"--{month:02d}-{day:02d}"
    return None


def _iso_or_text(year: int, month: int, day: int, text: str) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return text
