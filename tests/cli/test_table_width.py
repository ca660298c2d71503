"""Tables fit the terminal: each row stays one line, long text is cut with
…, dates and figures are never cut or wrapped, and when even that does not
fit the low-priority columns go and a note on stderr names them. Piped
output keeps every column and every value whole. Widths are counted here
with a table of our own (what tmux 3.3 draws), not with the code's."""

import re
import unicodedata

import pytest

from minicrm.commands import _output

PEOPLE = [
    ("محمدرضا نیک\u200cپور شاهرخ\u200cآبادی فراهانی", "بازرگانی نیک\u200cپور و شرکای تهران"),
    ("Αλέξανδρος Παπαδοπουλόπουλος-Καραγιαννόπουλος", "Ελληνικά Τρόφιμα και Ποτά Α.Ε."),
    ("欧阳王小明明明明明明明明", "北京国际贸易有限责任公司"),
    ("Ann Lee", "Acme"),
]
HEADER = ["ID", "Name", "Company", "Stage", "Value", "Score", "Owner", "Tags"]
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def terminal_width(line: str) -> int:
    """Columns a terminal gives `line`: 0 for marks and format characters
    (ZWNJ), 2 for East Asian wide and fullwidth, else 1."""
    return sum(
        0
        if unicodedata.category(char) in ("Mn", "Me", "Cf")
        else 2
        if unicodedata.east_asian_width(char) in ("W", "F")
        else 1
        for char in line
    )


def body(stdout: str) -> list[str]:
    """The rows of a rich table: below the header's rule."""
    lines = stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("━"))
    return [line for line in lines[rule + 1 :] if line.strip()]


@pytest.fixture
def people(cli):
    for number, (name, company) in enumerate(PEOPLE, start=1):
        cli.ok(
            "add", name, "--company", company, "--value", str(1234567 * number),
            "--owner", "Leila Karimi", "--tag", "wholesale", "--tag", "newsletter", "--force",
        )  # fmt: skip
    return cli


@pytest.fixture
def on_a_terminal(monkeypatch):
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)


def test_at_80_columns_every_contact_is_one_line_no_wider_than_the_terminal(people, on_a_terminal):
    result = people.ok("list", env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    assert all(terminal_width(line) <= 80 for line in lines), result.stdout
    rows = body(result.stdout)
    assert len(rows) == len(PEOPLE), result.stdout
    shown = {int(row.split()[0]): row for row in rows}
    assert sorted(shown) == [1, 2, 3, 4]
    for number, (name, _company) in enumerate(PEOPLE, start=1):
        assert name[:6] in shown[number]
    assert "…" in shown[2] and PEOPLE[1][0] not in result.stdout  # the Greek name, cut
    assert "Ann Lee" in shown[4] and "1,234,567" in shown[1]  # short and figures: whole


def test_followup_dates_keep_date_and_time_on_one_line(people, on_a_terminal):
    for when, note in [("tomorrow 10am", "call back about the quote for the whole summer " * 2),
                       ("+3d", "send samples of the new range to the shop")]:  # fmt: skip
        people.ok("followup", "add", "1", when, note)
    result = people.ok("followup", "list", "--all", env={"COLUMNS": "80"})
    rows = body(result.stdout)
    assert len(rows) == 2, result.stdout
    assert all(DATE_TIME.search(row) for row in rows), result.stdout
    assert all(terminal_width(line) <= 80 for line in result.stdout.splitlines())
    assert "…" in rows[0]


def test_at_40_columns_low_priority_columns_go_and_a_note_names_them(people, on_a_terminal):
    result = people.ok("list", env={"COLUMNS": "40"})
    lines = result.stdout.splitlines()
    assert all(terminal_width(line) <= 40 for line in lines), result.stdout
    header = lines[0].replace("┃", " ").split()
    assert header[:2] == ["ID", "Name"]
    assert "Tags" not in header and "Owner" not in header and "Company" not in header
    assert len(body(result.stdout)) == len(PEOPLE)
    note = result.stderr.strip()
    assert note.startswith("+ ") and note.endswith(": widen the terminal or pipe the output")
    left_out = note.removeprefix("+ ").split(":")[0].split(", ")
    assert set(left_out) == set(HEADER) - set(header)
    assert left_out == [name for name in HEADER if name in left_out]  # in table order


def test_nothing_is_left_out_when_the_table_fits(people, on_a_terminal):
    result = people.ok("list", env={"COLUMNS": "250"})
    assert result.stdout.splitlines()[0].replace("┃", " ").split() == HEADER
    assert result.stderr == ""
    for name, company in PEOPLE:
        assert name in result.stdout and company in result.stdout


def test_piped_output_holds_every_column_and_every_name_whole(people):
    result = people.ok("list", env={"COLUMNS": "40"})
    lines = result.stdout.splitlines()
    assert lines[0].split() == HEADER
    assert len(lines) == 1 + len(PEOPLE)
    for name, company in PEOPLE:
        assert name in result.stdout and company in result.stdout
    assert "…" not in result.stdout and "newsletter, wholesale" in result.stdout
    assert max(terminal_width(line) for line in lines) > 100
    assert result.stderr == ""


# ------------------------------------------------------------ fit_columns


def fitted(header, rows, width, priority=None) -> dict[str, int | None]:
    """Each column's width, None for a dropped one."""
    columns = _output.fit_columns(header, rows, width, priority)
    return {c.name: None if c.dropped else c.width for c in columns}


LONG = "a long note that goes on and on about the order"  # 47 cells


def test_figures_keep_their_width_and_text_shares_the_rest():
    rows = [["7", "2026-05-04 10:30", "Mehrnaz Ghasemi-Tabrizi", LONG, "1,250.00"]]
    widths = fitted(["ID", "Due", "Contact", "Note", "Value"], rows, 70)
    assert widths["ID"] == 2 and widths["Due"] == 16 and widths["Value"] == 8
    assert sum(widths.values()) + 3 * 4 == 70  # three cells between columns
    assert widths["Contact"] == widths["Note"] == 16  # the spare, shared evenly


def test_a_short_value_shows_whole_and_the_long_one_gets_the_rest():
    widths = fitted(["ID", "Name", "Note"], [["1", "Ann", LONG]], 40)
    assert widths == {"ID": 2, "Name": 4, "Note": 40 - 2 - 4 - 6}


def test_text_is_measured_in_terminal_cells():
    widths = fitted(["ID", "Name"], [["1", "王小明"], ["2", "نیک\u200cپور"]], 80)
    assert widths["Name"] == 6  # three wide ideographs; the ZWNJ takes none


def test_the_lowest_priority_goes_first_and_the_rightmost_of_equals():
    header = ["ID", "Name", "Company", "Stage", "Owner", "Tags"]
    rows = [["12", "Αλέξανδρος Παπαδόπουλος", "Ελληνικά Τρόφιμα", "interest", "Leila", "vip"]]
    widths = fitted(header, rows, 56)
    assert widths["Tags"] is None and None not in [widths[n] for n in header[:-1]]
    narrow = fitted(header, rows, 48)
    assert narrow["Tags"] is narrow["Owner"] is None and narrow["Company"] is not None
    assert fitted(header, rows, 48, {"Tags": _output.KEEP, "Company": _output.LOWEST}) == {
        "ID": 2, "Name": 17, "Company": None, "Stage": 8, "Owner": 5, "Tags": 4,
    }  # fmt: skip


def test_the_first_column_and_kept_columns_are_never_dropped():
    rows = [["north-west", "2026-05-04 10:30", "Mehrnaz Ghasemi", "12"]]
    widths = fitted(["Region", "When", "Name", "Deals"], rows, 20)
    assert widths["Deals"] is None
    assert widths["Region"] == 10 and widths["When"] == 16 and widths["Name"] >= 1


def test_a_left_out_column_without_a_header_is_counted():
    assert _output._columns_named(["Note", "", "Owner"]) == "Note, Owner and 1 more column"
    assert _output._columns_named(["", ""]) == "2 columns"
