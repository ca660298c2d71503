"""Everything the CLI writes: tables, JSON, CSV, messages and errors.

stdout is data; messages, warnings and errors go to stderr. Colour and rich
tables only on a TTY (rich honours NO_COLOR); plain aligned text otherwise.
"""

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import typer

from minicrm.errors import ExitCode
from minicrm.services.transfer.exporting import csv_cell

PLAIN_WIDTH_SAMPLE = 200  # rows used to size columns of plain, streamed tables


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def interactive() -> bool:
    """Can we ask the user a question?"""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def info(text: str) -> None:
    """A message for the person at the terminal (stderr)."""
    if sys.stderr.isatty():
        _stderr_console().print(text, markup=False)
    else:
        print(text, file=sys.stderr)


def warn(text: str) -> None:
    info(f"crm: warning: {one_line(text)}")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str, code: int = ExitCode.USER) -> NoReturn:
    """Print one line on stderr and exit with `code`."""
    print(f"crm: error: {one_line(message)}", file=sys.stderr)
    raise typer.Exit(int(code))


# -------------------------------------------------------------------- data


def print_json(data: Any) -> None:
    # One write: json.dump would make a write per token.
    sys.stdout.write(json.dumps(rounded(data), ensure_ascii=False, indent=2) + "\n")


# Figures are written to what they mean: a rate or share to 4 decimals
# (0.6209, not 0.6208791208791209), days to 2, money to cents, any other
# fraction to 4. The figures computed stay exact; only their output is rounded.
_RATE_WORDS = ("rate", "share", "probability", "conversion")
_MONEY_WORDS = ("value", "revenue", "amount", "forecast", "avg_deal", "weighted", "price")


def decimals_for(key: str) -> int:
    key = key.casefold()
    if any(word in key for word in _RATE_WORDS):
        return 4
    if "days" in key:
        return 2
    if any(word in key for word in _MONEY_WORDS):
        return 2
    return 4


def rounded(data: Any, key: str = "") -> Any:
    """`data` with its floats rounded by what their key says they are."""
    if isinstance(data, float):
        return round(data, decimals_for(key))
    if isinstance(data, dict):  # a dict of stage → figure takes its own key's meaning
        return {k: rounded(v, k if not isinstance(v, float) or _meaningful(k) else key)
                for k, v in data.items()}  # fmt: skip
    if isinstance(data, list | tuple):
        return [rounded(item, key) for item in data]
    return data


def _meaningful(key: str) -> bool:
    """Whether a key names a figure (avg_days) rather than a group (a stage)."""
    lowered = key.casefold()
    return any(word in lowered for word in (*_RATE_WORDS, *_MONEY_WORDS, "days", "score"))


def print_json_array(items: Iterable[dict]) -> None:
    """A JSON array written item by item, so big lists stream."""
    count = 0
    for count, item in enumerate(items, start=1):
        sys.stdout.write("[\n  " if count == 1 else ",\n  ")
        sys.stdout.write(json.dumps(item, ensure_ascii=False))
    sys.stdout.write("\n]\n" if count else "[]\n")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    # CRLF as RFC 4180 says: it also makes the writer quote a bare CR in a cell.
    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(header)
    places = [decimals_for(name) for name in header]
    for row in rows:
        writer.writerow([csv_cell(round(v, n) if isinstance(v, float) else v)
                         for v, n in zip(row, places, strict=False)])  # fmt: skip


def print_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    priority: Mapping[str, int] | None = None,
) -> None:
    """A rich table fitted to the terminal on a TTY (see fit_columns); plain
    aligned columns, every one in full, when piped. Cells are text, never
    markup, and control characters in them are shown, not sent (see
    table_cell); a cell may be a rich Text to style parts of it (its
    pieces already made safe with table_cell). `priority` maps a header to
    how long its column is kept when the terminal is too narrow (KEEP …
    LOWEST), over the defaults."""
    if stdout_is_tty():
        _print_rich_table(header, rows, title, priority or {})
    else:
        _print_plain_table(header, (_plain_row(row) for row in rows))


def _plain_row(row: Sequence) -> Sequence[str]:
    # A cell may be a rich Text (words marked on screen): piped, its plain text.
    return [getattr(value, "plain", value) for value in row]


# Controls in a stored value (R4's hostile text) would move the cursor, end
# the row or colour the rest of the screen: a table shows them instead.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|[\t\n\v\f\r]")


def table_cell(value: str) -> str:
    """`value` as one line of a table: tabs and line breaks become spaces,
    other control characters their escape (ESC shows as \\x1b)."""
    if not _CONTROLS.search(value):
        return value
    value = _LINE_BREAKS.sub(" ", value)
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def cell_width(value: str) -> int:
    """The terminal columns `value` takes: rich's cell table, which is also
    what pads the TTY table and the TUI, so every view measures alike.

    It gives the zero-width non-joiner of Persian names (U+200C, in نیک‌پور)
    and the other joiners and marks 0 columns, as wcwidth does (glibc and
    Markus Kuhn's table, used by xterm and libvterm), and as VTE, kitty,
    ghostty and tmux draw it (after "a", U+200C, "b" tmux 3.3 leaves the
    cursor in column 2). A few terminals (Windows' console, older Windows
    Terminal) draw it as a blank cell instead: there a name with a ZWNJ ends
    one column late. Counting it as 1 would misalign every other terminal
    instead, and could not be done for the TUI, whose widths are rich's; so
    0, the width nearly every terminal agrees on. CJK ideographs are 2."""
    from rich.cells import cell_len

    return len(value) if value.isascii() else cell_len(value)


def _print_rich_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    title: str | None,
    priority: Mapping[str, int],
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    styled = [[v if isinstance(v, Text) else Text(table_cell(v)) for v in row] for row in rows]
    cells = [[v.plain for v in row] for row in styled]
    console = Console(highlight=False)
    columns = fit_columns(header, cells, console.width, priority)
    shown = [c for c in columns if not c.dropped]
    table = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
    for column in shown:
        overflow = "ellipsis" if column.text else "fold"
        table.add_column(Text(column.name), width=column.width, no_wrap=True, overflow=overflow)
    for row in styled:
        table.add_row(*(row[c.index] for c in shown))
    console.print(table)
    left_out = [c.name for c in columns if c.dropped]
    if left_out:
        _dim_note(f"+ {_columns_named(left_out)}: widen the terminal or pipe the output")


def _columns_named(names: list[str]) -> str:
    """'Email, Tags', with columns that have no header counted, not named."""
    named = ", ".join(name for name in names if name)
    unnamed = names.count("")
    if not unnamed:
        return named
    more = f"{unnamed} {'more ' if named else ''}column{'s' if unnamed > 1 else ''}"
    return f"{named} and {more}" if named else more


def _dim_note(text: str) -> None:
    """A hint under a table, on stderr like every message, dim on a TTY."""
    if sys.stderr.isatty():
        from rich.text import Text

        _stderr_console().print(Text(text, style="dim"))
    else:
        print(text, file=sys.stderr)


# ------------------------------------------------------- fitting a table

# How long a column is kept when the terminal is too narrow: LOWEST goes
# first, KEEP never (a table of only KEEP columns is squeezed instead).
KEEP, NORMAL, LOW, LOWEST = 0, 1, 2, 3
_PRIORITY = {
    **dict.fromkeys(("ID", "Name", "Title", "Contact", "Due", "When", "Date"), KEEP),
    **dict.fromkeys(("Owner", "Company", "Email", "Phone", "Domain", "Industry", "City"), LOW),
    **dict.fromkeys(("Repeats", "Matched in", "Reason"), LOW),
    **dict.fromkeys(("Tags", "Source", "Notes"), LOWEST),
}
# Free text is cut with … to share the width; everything else (ids, dates,
# money, scores, stages, short tokens) keeps its full width on one line.
_FREE_TEXT = {
    "Name", "Title", "Contact", "Company", "Email", "Note", "Notes", "Summary", "Subject",
    "Owner", "Tags", "Source", "Domain", "Industry", "City", "Reason", "Rules", "Factors",
    "Top factors", "Meaning", "For", "Match",
}  # fmt: skip
# "Matched in" is a field name or a kind and a date: cut, it would say nothing.
_NEVER_CUT = {
    "ID", "Stage", "Due", "When", "Date", "Close", "Deleted", "Score", "Group", "Matched in",
}  # fmt: skip
_FIGURE = re.compile(r"[\d\s.,:/%×+\-−–]*\d[\d\s.,:/%×+\-−–]*|[-–]?")
SHORT_TOKEN = 16  # cells: a column of single words this short is never cut
MIN_KEPT_TEXT, MIN_TEXT = 16, 10  # the narrowest a text column is cut to, by priority
GAP = 3  # cells between two columns: padding, rule, padding (no outer edge)


@dataclass
class FittedColumn:
    index: int  # in the header
    name: str
    text: bool  # free text, cut with …, rather than a figure kept whole
    priority: int
    natural: int  # cells its widest value (or header) takes
    minimum: int
    width: int = 0
    dropped: bool = False


def fit_columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    priority: Mapping[str, int] | None = None,
) -> list[FittedColumn]:
    """Each column's width in a table `width` cells wide. Figures keep their
    natural width; free text shares what is left, cut no narrower than its
    minimum; when even the minimums do not fit, the lowest-priority column
    (the rightmost of equals) is dropped, then the next, as `gh` does."""
    columns = [_describe(i, name, rows, priority or {}) for i, name in enumerate(header)]
    by_drop_order = sorted(columns, key=lambda c: (-c.priority, -c.index))
    for column in by_drop_order:
        if _needed(columns) <= width or column.priority == KEEP:
            break
        column.dropped = True
    _share_width(columns, width)
    return columns


def _describe(index: int, name: str, rows, priority: Mapping[str, int]) -> FittedColumn:
    values = [row[index] for row in rows]
    natural = max((cell_width(v) for v in values), default=0)
    natural = max(natural, cell_width(name), 1)
    text = name in _FREE_TEXT or (name not in _NEVER_CUT and not all(map(_is_figure, values)))
    rank = priority.get(name, KEEP if index == 0 else _PRIORITY.get(name, NORMAL))
    floor = max(MIN_KEPT_TEXT if rank == KEEP else MIN_TEXT, cell_width(name))
    return FittedColumn(index, name, text, rank, natural, min(natural, floor) if text else natural)


def _is_figure(value: str) -> bool:
    """A number, date, time or single short word: cut, it would mean nothing."""
    if _FIGURE.fullmatch(value):
        return True
    return not any(ch.isspace() for ch in value) and cell_width(value) <= SHORT_TOKEN


def _needed(columns: list[FittedColumn]) -> int:
    shown = [c for c in columns if not c.dropped]
    return sum(c.minimum for c in shown) + GAP * (len(shown) - 1)


def _share_width(columns: list[FittedColumn], width: int) -> None:
    """Figures get their natural width; text columns start at their minimum
    and the spare cells go one by one to the narrowest that wants more, so
    short values show whole and long ones share the rest evenly."""
    shown = [c for c in columns if not c.dropped]
    texts = [c for c in shown if c.text]
    for column in shown:
        column.width = column.minimum if column.text else column.natural
    spare = width - sum(c.width for c in shown) - GAP * (len(shown) - 1)
    if spare < 0:  # only KEEP columns left and still too wide: cut text below its minimum
        for column in texts:
            column.width = 1
        spare = width - sum(c.width for c in shown) - GAP * (len(shown) - 1)
    while spare > 0:
        wanting = [c for c in texts if c.width < c.natural]
        if not wanting:
            break
        min(wanting, key=lambda c: c.width).width += 1
        spare -= 1


def _print_plain_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns sized on the first rows, then streamed: later rows are never
    truncated, a longer value just pushes its line out."""
    rows = iter(rows)
    sample = [list(header), *_take(rows, PLAIN_WIDTH_SAMPLE)]
    widths = [max(cell_width(table_cell(r[i])) for r in sample) for i in range(len(header))]

    def render(row: Sequence[str]) -> str:
        # Runs for every cell of a long list: printable ASCII, most cells, is
        # padded by ljust (its length is its width) without another call.
        cells = [
            v.ljust(w) if v.isascii() and v.isprintable() else _pad(v, w)
            for v, w in zip(row, widths, strict=True)
        ]
        return "  ".join(cells).rstrip()

    for row in sample:
        print(render(row))
    for row in rows:
        print(render(row))


def _pad(value: str, width: int) -> str:
    value = table_cell(value)
    return value + " " * (width - cell_width(value))


def _take(rows: Iterator, count: int) -> list:
    taken = []
    for row in rows:
        taken.append(list(row))
        if len(taken) == count:
            break
    return taken
