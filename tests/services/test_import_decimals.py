"""Amounts with a decimal comma (1.200,50) or a decimal point (1,200.50) in
an imported value column: decided per column, like dates, and noted."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicrm.db import session_scope
from minicrm.services.records.validation import money_to_cents
from minicrm.services.transfer.csv_import import read_csv
from minicrm.services.transfer.files import ImportOptions, import_file
from minicrm.services.transfer.importing import ImportRejected

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def run_import(engine, tmp_path, content, **options):
    path = tmp_path / "deals.csv"
    path.write_text(content, encoding="utf-8")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def values(engine) -> dict[str, str | None]:
    from minicrm.services.contacts.listing import list_contacts

    with session_scope(engine, write=False) as session:
        return {c.name: c.to_json()["value"] for c in list_contacts(session, now=NOW)}


def sheet(header: str, *amounts: str) -> str:
    rows = [f"P{n};{amount}" for n, amount in enumerate(amounts, start=1)]
    return "\n".join([header, *rows]) + "\n"


def test_a_decimal_comma_column_is_read_so_and_noted(engine, tmp_path):
    report = run_import(engine, tmp_path, sheet("name;value", "1.200,50", "12,5", "3.000", "7"))
    assert values(engine) == {"P1": 1200.5, "P2": 12.5, "P3": 3000.0, "P4": 7.0}
    assert "amounts in column 'value' read with a decimal comma (1.200,50)" in report.notes[0]


def test_a_decimal_point_column_is_read_as_usual_without_a_note(engine, tmp_path):
    report = run_import(engine, tmp_path, sheet("name;value", "1,200.50", "12.5", "1,200"))
    assert values(engine) == {"P1": 1200.5, "P2": 12.5, "P3": 1200.0}
    assert not [note for note in report.notes if "amounts" in note]


def test_an_ambiguous_column_takes_the_usual_reading_and_says_so(engine, tmp_path):
    report = run_import(engine, tmp_path, sheet("name;value", "1,200", "2,500"))
    assert values(engine) == {"P1": 1200.0, "P2": 2500.0}
    (note,) = [note for note in report.notes if "amounts" in note]
    assert note == (
        "amounts in column 'value' read with a decimal point (1,200.50): no value settles "
        "it, so the usual reading"
    )


def test_a_point_read_1_200_is_refused_saying_what_else_it_may_be(engine, tmp_path):
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, sheet("name;value", "1.200", "12.50"))
    assert caught.value.report.rejected == [
        (2, "value '1.200' is ambiguous: three decimals, or 1200 with a decimal comma, which "
            "no other value in column 'value' shows; write 1200 or 1.200,00"),
    ]  # fmt: skip


def test_an_ambiguous_column_of_a_german_file_takes_the_decimal_comma(engine, tmp_path):
    report = run_import(engine, tmp_path, sheet("Vorname;value", "1.200", "2.500"))
    assert values(engine) == {"P1": 1200.0, "P2": 2500.0}
    (note,) = [note for note in report.notes if "amounts" in note]
    assert note == (
        "amounts in column 'value' read with a decimal comma (1.200,50): no value settles "
        "it, so as in the language of the file's headers"
    )


def test_a_column_mixing_both_styles_rejects_the_odd_rows(engine, tmp_path):
    content = sheet("name;value", "1.200,50", "12,5", "1,200.50", "7")
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, content)
    assert caught.value.report.rejected == [
        (4, "value '1,200.50' has a decimal point, but column 'value' has decimal "
            "commas (1.200,50); write it as the other rows do"),
    ]  # fmt: skip
    report = run_import(engine, tmp_path, content, skip_invalid=True)
    assert values(engine) == {"P1": 1200.5, "P2": 12.5, "P4": 7.0}
    assert any("values disagree; the majority decides" in note for note in report.notes)


def test_more_than_two_decimals_after_a_comma_is_refused_naming_the_cell(engine, tmp_path):
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, sheet("name;value", "1.200,50", "1,234"))
    assert caught.value.report.rejected == [
        (3, "invalid value '1,234': more than two decimals after the decimal comma"),
    ]


# ------------------------------------------------------------------ property

AMOUNTS = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


def written(amount: Decimal, comma: bool, grouped: bool, whole: bool) -> str:
    """`amount` as a spreadsheet in either convention writes it: 1234567.5
    as 1,234,567.50 or 1.234.567,50, grouped or not, .00 left off or not."""
    text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
    if whole and text.endswith(".00"):
        text = text[:-3]
    if comma:
        text = text.translate(str.maketrans(",.", ".,"))
    return text


@given(
    amounts=st.lists(st.tuples(AMOUNTS, st.booleans(), st.booleans()), min_size=1, max_size=8),
    comma=st.booleans(),
)
def test_amounts_written_in_either_style_read_back_exactly(amounts, comma):
    # the first is written with its cents, so the column always shows its style
    cells = [written(a, comma, grouped, whole and n > 0) for n, (a, grouped, whole) in
             enumerate(amounts)]  # fmt: skip
    text = "name;value\n" + "".join(f"P{n};{cell}\n" for n, cell in enumerate(cells))
    _layout, rows = read_csv(text, "x.csv", [], ZoneInfo("UTC"))
    read = [row.fields["value"] for row in rows]
    assert [money_to_cents(v) for v in read] == [int(a * 100) for a, _g, _w in amounts]
