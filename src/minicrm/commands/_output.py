"""Everything the CLI writes: tables, JSON, CSV, messages and errors.

stdout is data; messages, warnings and errors go to stderr. Colour and rich
tables only on a TTY (rich honours NO_COLOR); plain aligned text otherwise.
"""

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
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
    header: Sequence[str], rows: Iterable[Sequence[str]], *, title: str | None = None
) -> None:
    """A rich table on a TTY; plain aligned columns when piped. Cells are
    text, never markup, and control characters in them are shown, not sent
    (see table_cell)."""
    if stdout_is_tty():
        _print_rich_table(header, rows, title)
    else:
        _print_plain_table(header, rows)


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


def _print_rich_table(header: Sequence[str], rows: Iterable[Sequence[str]], title: str | None):
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
    for name in header:
        table.add_column(Text(name), overflow="fold", no_wrap=name in ("ID", "Score", "Value"))
    for row in rows:
        table.add_row(*(Text(table_cell(v)) for v in row))
    Console(highlight=False).print(table)


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
