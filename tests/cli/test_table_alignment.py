"""Tables line up with Persian names that carry the zero-width non-joiner,
Greek names, CJK names and companies, piped and on a terminal: every row's
columns start at the same terminal column. Columns are measured here with
a width table of its own (what tmux 3.3 draws, see terminal_width), not with
the one the code uses, so the test can tell when they disagree. And a cell
is text: brackets are not markup, control characters are shown, not sent."""

import unicodedata

import pytest

from minicrm.commands import _output

PEOPLE = [
    ("محمدرضا نیک\u200cپور شاهرخ\u200cآبادی", "بازرگانی نیک\u200cپور"),  # two ZWNJs, one ZWNJ
    ("Αλέξανδρος Παπαδοπουλόπουλος-Καραγιαννόπουλος", "Ελληνικά Τρόφιμα"),
    ("王小明", "北京贸易公司"),
    ("Ann Lee", "Acme"),
    ("مهر\u200cناز قاسمی", ""),
]
HEADER = ["ID", "Name", "Company", "Stage", "Value", "Score", "Owner", "Tags"]


def terminal_width(char: str) -> int:
    """Columns a terminal gives one code point: 0 for marks and format
    characters (ZWNJ, ZWJ, LRM, RLM), 2 for East Asian wide and fullwidth,
    else 1. Probed in tmux 3.3 (cursor column after printing "a" + char)."""
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cells(line: str) -> list[str]:
    """The line as terminal cells: a zero-width character joins the cell
    before it, a wide one fills two (the second left empty)."""
    grid: list[str] = []
    for char in line:
        width = terminal_width(char)
        if width == 0 and grid:
            grid[-1] += char
        else:
            grid.extend([char, ""][:width] if width else [char])
    return grid


def between(grid: list[str], start: int, end: int | None) -> str:
    return "".join(grid[start:end]).strip()


@pytest.fixture
def people(cli):
    for number, (name, company) in enumerate(PEOPLE):
        args = ["add", name, "--value", str(1000 * (number + 1)), "--force"]
        cli.ok(*args, *(["--company", company] if company else []))
    return cli


def test_piped_columns_start_at_the_same_terminal_column_in_every_row(people):
    lines = people.ok("list").stdout.splitlines()
    assert lines[0].split() == HEADER
    starts = [lines[0].index(name) for name in HEADER]  # the header is ASCII
    ends = [*starts[1:], None]
    assert len(lines) == 1 + len(PEOPLE)
    for line in lines[1:]:
        grid = cells(line)
        columns = [between(grid, start, end) for start, end in zip(starts, ends, strict=True)]
        name, company = PEOPLE[int(columns[0]) - 1]
        assert columns[1:3] == [name, company], line
        for start in (start for start in starts[1:] if start < len(grid)):
            assert grid[start - 1] == " ", (line, start)  # nothing runs into the next column


@pytest.mark.parametrize("width", [120, 80])
def test_terminal_table_rules_line_up_in_every_row(people, monkeypatch, width):
    """At 80 columns the Greek name folds onto more lines: those line up too."""
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    lines = people.ok("list", env={"COLUMNS": str(width)}).stdout.splitlines()
    rules = [i for i, cell in enumerate(cells(lines[0])) if cell == "┃"]
    assert len(rules) == len(HEADER) - 1
    body = [line for line in lines[2:] if line.strip()]
    assert len(body) >= len(PEOPLE)
    for line in body:
        grid = cells(line)
        assert [i for i, cell in enumerate(grid) if cell == "│"] == rules, line
    shown = "\n".join(lines)
    for name, company in PEOPLE:
        if width == 120:
            assert name in shown and company in shown


def test_brackets_are_text_and_controls_are_shown_not_sent(cli, monkeypatch):
    cli.ok("add", "Bob [/] [bold]Smith[/bold]", "--company", "Tab\tand\x1b[31mred")
    piped = cli.ok("list").stdout
    assert "Bob [/] [bold]Smith[/bold]" in piped
    assert "Tab and\\x1b[31mred" in piped and "\x1b" not in piped
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    on_screen = cli.ok("list", env={"COLUMNS": "120"}).stdout  # a markup error crashed it
    assert "Bob [/] [bold]Smith[/bold]" in on_screen
    assert "Tab and\\x1b[31mred" in on_screen and "\x1b" not in on_screen


def test_a_cell_is_one_line_of_text():
    assert _output.table_cell("two\r\nlines\tand\x07bell") == "two lines and\\x07bell"
    assert _output.table_cell("نیک\u200cپور") == "نیک\u200cپور"  # ZWNJ is text, kept
    assert _output.cell_width("نیک\u200cپور") == 6
    assert _output.cell_width("王小明") == 6
