"""Amounts in imported files: 1,200.50 or 1.200,50, decided per column.

As with the order of a date's day and month (dates.py), the decimal mark is
decided once per column, from all of its values, and noted: `1.200,50` or
`12,5` can only have a decimal comma, `1,200.50` or `12.5` only a decimal
point. A column whose values fit both (`1,200`, `1.200`: thousands or a
fraction?) takes the decimal comma when the file's headers are German,
French, Spanish or Dutch (their Outlook writes it), else the point. When
values disagree the majority decides and the others are rejected.

babel's parse_decimal would need the locale up front, which is the thing
a file does not say; two patterns per style are all it takes here.
"""

import re

POINT, COMMA = ".", ","
_STYLES = {
    POINT: re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$"),  # 1,200.50  1200.5
    COMMA: re.compile(r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$"),  # 1.200,50  1200,5
}
_EXAMPLE = {POINT: "1,200.50", COMMA: "1.200,50"}
_NAMED = {POINT: "a decimal point", COMMA: "a decimal comma"}


def styles_of(value: str) -> set[str]:
    """The marks `value` can be read with; both for 1200 and for 1,200."""
    text = value.strip()
    return {mark for mark, pattern in _STYLES.items() if pattern.match(text)}


class DecimalEvidence:
    """Counts, over a column, the values only one mark can read."""

    def __init__(self, *, localised: bool = False):
        self.localised = localised  # the headers are in a language with a decimal comma
        self.only = {POINT: 0, COMMA: 0}
        self.ambiguous = 0  # 1,200 and 1.200: the mark changes what they are

    def add(self, value: str) -> None:
        marks = styles_of(value)
        if len(marks) == 1:
            self.only[marks.pop()] += 1
        elif marks and ("," in value or "." in value):
            self.ambiguous += 1

    def mark(self) -> str:
        point, comma = self.only[POINT], self.only[COMMA]
        if point != comma:
            return COMMA if comma > point else POINT
        return COMMA if self.localised else POINT

    def describe(self, header: str) -> str | None:
        """A note when the column is read with a decimal comma, or when
        nothing in it settled the mark; None for a plain decimal-point one."""
        mark = self.mark()
        point, comma = self.only[POINT], self.only[COMMA]
        if point and comma:
            why = "values disagree; the majority decides and the others are rejected"
        elif point or comma:
            why = None if mark == POINT else "a value settles it"
        elif self.ambiguous:
            why = "no value settles it, so " + (
                "as in the language of the file's headers" if mark == COMMA else "the usual reading"
            )
        else:
            why = None  # whole numbers only: either reads them the same
        if why is None:
            return None
        return f"amounts in column {header!r} read with {_NAMED[mark]} ({_EXAMPLE[mark]}): {why}"


def read_amount(value: str, mark: str, header: str) -> str:
    """The cell as money_to_cents reads it (a decimal point, no grouping).
    Raises ValueError, the reason for the row, for a value only the other
    mark reads. Anything neither mark reads is left for money_to_cents to refuse."""
    marks = styles_of(value)
    if marks and mark not in marks:
        theirs, other = _NAMED[marks.pop()], _NAMED[mark].replace("a ", "", 1)
        raise ValueError(
            f"value {value!r} has {theirs}, but column {header!r} has {other}s "
            f"({_EXAMPLE[mark]}); write it as the other rows do"
        )
    text = value.strip()
    if not marks:
        return value
    if mark == POINT:
        if len(_STYLES[POINT].match(text).group(1) or "") == 3:  # 1.200: no amount of money
            whole = text.replace(".", "")
            raise ValueError(
                f"value {value!r} is ambiguous: three decimals, or {whole} with a decimal comma, "
                f"which no other value in column {header!r} shows; write {whole} or {text},00"
            )
        return value
    if len(_STYLES[COMMA].match(text).group(1) or "") > 2:
        raise ValueError(f"invalid value {value!r}: more than two decimals after the decimal comma")
    return text.replace(".", "").replace(",", ".")
