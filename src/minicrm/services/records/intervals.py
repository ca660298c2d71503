"""How often: one grammar for `followup --every` and `cadence set`.

`day`, `week`, `month`, `year` (and `daily`, `weekly`…) mean one of them;
`2 weeks`, `2w`, `30d`, `3 months`, `3mo`, `3m`, `1y` count them. A
follow-up repeats by the calendar (every month on the same day); a cadence
counts days (a month is 30, a year 365).
"""

import re

from minicrm.errors import ValidationError

UNITS = ("day", "week", "month", "year")
_WORDS = {
    "d": "day", "day": "day", "days": "day", "daily": "day",
    "w": "week", "wk": "week", "wks": "week", "week": "week", "weeks": "week", "weekly": "week",
    "m": "month", "mo": "month", "mos": "month", "month": "month", "months": "month",
    "monthly": "month",
    "y": "year", "yr": "year", "yrs": "year", "year": "year", "years": "year", "yearly": "year",
}  # fmt: skip
_COUNTED = re.compile(r"^(?:every\s+)?(\d{1,4})?\s*([a-z]+)$")
DAYS_IN = {"day": 1, "week": 7, "month": 30, "year": 365}
EXAMPLES = "day, week, 2 weeks, 2w, 30d, month, 3 months, year"


def read_interval(text: str | None, *, what: str) -> tuple[int, str] | None:
    """(count, unit) for an interval said in any of the ways above; None when
    `text` is not one (the caller may read it another way, e.g. an RRULE).
    A count below 1 is a ValidationError naming `what`."""
    match = _COUNTED.match(" ".join((text or "").strip().lower().split()))
    if not match or match.group(2) not in _WORDS:
        return None
    count = int(match.group(1)) if match.group(1) else 1
    if count < 1:
        raise ValidationError(f"{what} needs a positive interval, got {text!r}")
    return count, _WORDS[match.group(2)]


def interval_days(text: str, *, what: str) -> int:
    """The interval as days (a cadence): 2w → 14, month → 30."""
    found = read_interval(text, what=what)
    if found is None:
        raise ValidationError(f"cannot read {text!r} as {what}; try {EXAMPLES}")
    count, unit = found
    return count * DAYS_IN[unit]
