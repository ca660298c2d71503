"""`crm search` shows what matched: a snippet of the field or interaction,
its matched words marked on a terminal, plain when piped, in JSON as
`matched_text`; on SQLite (FTS5 and the LIKE fallback) and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from minicrm.commands import _output
from minicrm.db import session_scope
from minicrm.services.contacts.search import SNIPPET_WIDTH, search_contacts, snippet_of
from minicrm.text import tokens
from services.test_search import SEARCH_PATHS, drop_fts

MARKED = "\x1b[1;7m{}\x1b[0m"  # bold reverse, as rich writes it
ON_SCREEN = {"FORCE_COLOR": "1", "COLUMNS": "200"}
PERSIAN_NOTE = (
    "مشتری قدیمی است و هر هفته برای جشن تولد دخترش کیک شکلاتی بزرگ سفارش "
    "می\u200cدهد؛ خیلی خوش\u200cحساب است"
)


@pytest.fixture(params=SEARCH_PATHS)
def crm(request, cli, engine):
    """The cli, on a database searched with FTS5 or by the LIKE fallback."""
    if request.param == "like" and engine.dialect.name == "sqlite":
        drop_fts(engine)
    return cli


@pytest.fixture
def maria(crm):
    crm.ok("add", "Maria Lopez", "--company", "Panadería Lopez", "--note", "Bread on Fridays")
    crm.ok("log", "maria", "call", "wants croissants for the wedding", "--at", "2026-03-02 10:00")
    return crm


def rows(stdout: str) -> list[list[str]]:
    """A piped table's lines, cut into cells at its runs of two spaces (an
    empty cell is left out)."""
    return [[cell.strip() for cell in line.split("  ") if cell] for line in stdout.splitlines()]


def marked(snippet) -> list[str]:
    return [piece for piece, is_match in snippet.parts() if is_match]


# ---------------------------------------------------------------- the CLI


def test_search_shows_the_interaction_that_matched(maria):
    table = rows(maria.ok("search", "crois").stdout)
    assert table[0] == ["ID", "Name", "Company", "Stage", "Matched in", "Match"]
    assert table[1:] == [
        [
            "1",
            "Maria Lopez",
            "Panadería Lopez",
            "awareness",
            "call 2026-03-02",
            "wants croissants for the wedding",
        ]
    ]


def test_search_shows_the_contact_field_that_matched(maria):
    assert rows(maria.ok("search", "fri").stdout)[1][4:] == ["notes", "Bread on Fridays"]
    assert rows(maria.ok("search", "panad").stdout)[1][4:] == ["company", "Panadería Lopez"]
    assert rows(maria.ok("search", "maria").stdout)[1][4:] == ["name", "Maria Lopez"]


def test_json_hits_carry_the_plain_matched_text(maria):
    [hit] = maria.json("search", "crois")
    assert (hit["name"], hit["matched_in"]) == ("Maria Lopez", "interaction")
    assert hit["matched_text"] == "wants croissants for the wedding"
    [hit] = maria.json("search", "BREAD")
    assert (hit["matched_in"], hit["matched_text"]) == ("contact", "Bread on Fridays")


def test_matched_words_stand_out_on_a_terminal(maria, monkeypatch):
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    shown = maria.ok("search", "wedd crois", env=ON_SCREEN).stdout
    assert MARKED.format("croissants") in shown
    assert MARKED.format("wedding") in shown
    assert "wants " + MARKED.format("croissants") + " for the " + MARKED.format("wedding") in shown


def test_piped_output_has_no_markup(crm):
    crm.ok("add", "Bob Smith")
    crm.ok("log", "bob", "note", "[bold]croissants[/bold] and \x1b[31mred")
    piped = crm.ok("search", "crois").stdout
    assert "[bold]croissants[/bold] and \\x1b[31mred" in piped
    assert "\x1b" not in piped
    assert (
        crm.json("search", "crois")[0]["matched_text"] == "[bold]croissants[/bold] and \x1b[31mred"
    )


def test_text_on_a_terminal_is_never_markup(crm, monkeypatch):
    crm.ok("add", "Bob Smith")
    crm.ok("log", "bob", "note", "[bold]croissants[/bold] and \x1b[31mred")
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    shown = crm.ok("search", "crois", env=ON_SCREEN).stdout
    assert "[bold]" + MARKED.format("croissants") + "[/bold] and \\x1b[31mred" in shown


def test_a_persian_note_is_matched_however_it_is_typed(crm, monkeypatch):
    crm.ok("add", "علی کریمی", "--note", PERSIAN_NOTE)
    [hit] = crm.json("search", "كيك")  # Arabic yeh and kaf: the note has Persian ones
    assert hit["matched_in"] == "contact"
    assert hit["matched_text"] == "…برای جشن تولد دخترش کیک شکلاتی بزرگ سفارش می\u200cدهد؛ خیلی…"
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    assert MARKED.format("کیک") in crm.ok("search", "كيك", env=ON_SCREEN).stdout


def test_a_greek_interaction_is_marked_with_its_accents(crm, monkeypatch):
    crm.ok("add", "Γιώργος Παπαδόπουλος")
    crm.ok("log", "γιωργ", "visit", "Ζήτησε τούρτα γενεθλίων για Σάββατο")
    assert crm.json("search", "ΤΟΥΡΤ")[0]["matched_text"] == "Ζήτησε τούρτα γενεθλίων για Σάββατο"
    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    assert MARKED.format("τούρτα") in crm.ok("search", "ΤΟΥΡΤ", env=ON_SCREEN).stdout


def test_the_latest_matching_interaction_is_shown(crm):
    crm.ok("add", "Maria Lopez")
    crm.ok("log", "maria", "call", "croissants for the party", "--at", "2026-01-05 10:00")
    crm.ok("log", "maria", "email", "croissants for the wedding", "--at", "2026-02-05 10:00")
    crm.ok("log", "maria", "call", "paid the invoice", "--at", "2026-03-05 10:00")
    assert crm.json("search", "crois")[0]["matched_text"] == "croissants for the wedding"
    assert rows(crm.ok("search", "crois").stdout)[1][-2:] == [
        "email 2026-02-05",
        "croissants for the wedding",
    ]


def test_snippets_cost_one_query_however_many_hits(crm, engine):
    def statements(query: str) -> int:
        seen = []
        with session_scope(engine) as session:
            listen = event.listens_for(session.connection(), "before_cursor_execute")
            listen(lambda *args: seen.append(args[2]))
            assert search_contacts(session, query)
        return len(seen)

    for n in range(6):
        crm.ok("add", f"Person {n}")
        crm.ok("log", f"person {n}", "call", f"wants croissants, order {n}")
    crm.ok("log", "person 0", "call", "and eclairs")
    statements("crois")  # the first search of an engine also asks whether it has FTS5
    assert statements("eclair") == statements("crois")


# ---------------------------------------------------------------- snippets


def snippet(text: str, query: str):
    return snippet_of(text, tokens(query), field="notes")


def test_a_long_text_is_cut_to_a_window_around_the_first_match():
    text = " ".join(f"word{n}" for n in range(40)) + " croissants " + "tail " * 30
    cut = snippet(text, "crois")
    assert cut.text.startswith("…word") and cut.text.endswith("…")
    assert "croissants" in cut.text and len(cut.text) <= SNIPPET_WIDTH + 2
    assert " word" not in cut.text[:2] and not cut.text[1:-1].endswith(" ")
    assert marked(cut) == ["croissants"]


def test_the_text_is_one_line():
    cut = snippet("first line\n\nwants\tcroissants\r\n", "crois")
    assert (cut.text, marked(cut)) == ("first line wants croissants", ["croissants"])


def test_marks_cover_the_whole_original_word():
    assert marked(snippet("Jose\u0301 ordered", "jose")) == ["Jose\u0301"]  # a combining accent
    assert marked(snippet("مهر\u200cناز رضایی", "مهرناز")) == ["مهر\u200cناز"]  # with a ZWNJ
    assert marked(snippet("Straße 5, Köln", "strasse koln")) == ["Straße", "Köln"]
    assert marked(snippet("ΓΙΏΡΓΟΣ and γιώργος", "Γιωργ")) == ["ΓΙΏΡΓΟΣ", "γιώργος"]


def test_only_word_starts_match():
    assert snippet("scroissants", "crois") is None
    assert marked(snippet("pre-croissant, croissants", "crois")) == ["croissant", "croissants"]


def test_a_hit_knows_when_and_how_an_interaction_matched(maria, engine):
    with session_scope(engine) as session:
        [hit] = search_contacts(session, "crois")
    assert (hit.snippet.field, hit.snippet.kind) == ("summary", "call")
    assert hit.snippet.at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert marked(hit.snippet) == ["croissants"]
