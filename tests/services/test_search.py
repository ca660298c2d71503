"""Full-text search, on both paths: SQLite FTS5 and the portable LIKE fallback."""

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from minicrm.db import make_engine, session_scope
from minicrm.errors import UserError
from minicrm.models import Interaction
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.listing import ContactFilter, list_contacts
from minicrm.services.contacts.search import _FTS_FLAG, _has_fts5, search_contacts
from minicrm.services.contacts.trash import purge_contact, trash_contact
from minicrm.text import search_text

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FTS_OBJECTS = [
    ("trigger", "contact_fts_insert"),
    ("trigger", "contact_fts_delete"),
    ("trigger", "contact_fts_update"),
    ("trigger", "interaction_fts_insert"),
    ("trigger", "interaction_fts_delete"),
    ("trigger", "interaction_fts_update"),
    ("table", "contact_fts"),
    ("table", "interaction_fts"),
]


def drop_fts(engine):
    """What the migration leaves on a SQLite built without FTS5."""
    with session_scope(engine) as session:
        for kind, name in FTS_OBJECTS:
            session.execute(text(f"DROP {kind.upper()} {name}"))


# FTS5 is SQLite's; a server searches the portable way only.
SEARCH_PATHS = ["like"] if os.environ.get("CRM_TEST_DATABASE_URL") else ["fts5", "like"]


@pytest.fixture(params=SEARCH_PATHS)
def search_path(request, engine):
    return request.param


@pytest.fixture
def db(engine, search_path):
    """A session on a database that searches with FTS5, or has no FTS5 at all
    (so the LIKE fallback must answer: touching FTS5 would fail)."""
    if search_path == "like" and engine.dialect.name == "sqlite":
        drop_fts(engine)
    with session_scope(engine) as session:
        assert _has_fts5(session) is (search_path == "fts5")
        yield session


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=True, now=NOW)


def log(session, contact_id, summary):
    session.add(
        Interaction(
            contact_id=contact_id,
            kind="call",
            at=NOW,
            summary=summary,
            search_text=search_text(summary),
            created_at=NOW,
        )
    )
    session.flush()


def found(session, query, **options):
    return [hit.contact.name for hit in search_contacts(session, query, **options)]


def hits(session, query):
    return [(hit.contact.name, hit.matched_in) for hit in search_contacts(session, query)]


# ------------------------------------------------------------- matching


def test_search_finds_a_name_by_word_prefix(db):
    add(db, "Maria Lopez")
    add(db, "Ali Rezaei")
    assert found(db, "mar") == ["Maria Lopez"]
    assert found(db, "LOP") == ["Maria Lopez"]
    assert found(db, "maria lopez") == ["Maria Lopez"]


def test_search_finds_email_company_and_notes(db):
    add(db, "Maria Lopez", email="maria@lopez-bakery.com")
    add(db, "Ali Rezaei", company="Persepolis Rugs")
    add(db, "Sara Kim", notes="wants the blue tiles before Nowruz")
    add(db, "Nobody Special")
    assert found(db, "maria@lopez-bakery.com") == ["Maria Lopez"]
    assert found(db, "bakery") == ["Maria Lopez"]
    assert found(db, "persepolis") == ["Ali Rezaei"]
    assert found(db, "tiles") == ["Sara Kim"]


def test_search_finds_interaction_summaries(db):
    sara = add(db, "Sara Kim")
    add(db, "Ali Rezaei")
    log(db, sara.id, "Asked for a quote on Persian carpets")
    assert hits(db, "carpet") == [("Sara Kim", "interaction")]


def test_search_needs_every_word(db):
    add(db, "Maria Lopez", notes="lives in Athens")
    add(db, "Maria Garcia", notes="lives in Madrid")
    assert found(db, "maria athens") == ["Maria Lopez"]
    assert found(db, "maria berlin") == []


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("علی کریمی", "علي"),  # Persian stored, Arabic keyboard typed
        ("علي كريمي", "کریمی"),  # Arabic stored, Persian keyboard typed
        ("فاطمه", "فاطمة"),
        ("علی\u200cرضا", "علیرضا"),  # ZWNJ in the stored name
        ("علیرضا", "علی\u200cرضا"),  # ZWNJ in the query
        ("Γιώργος Παπαδόπουλος", "γιωργος"),
        ("Ελενη", "ΕΛΈΝΗ"),
        ("José Müller", "jose muller"),
    ],
)
def test_search_is_unicode_aware_either_way(db, stored, typed):
    add(db, stored)
    add(db, "Someone Else")
    assert found(db, typed) == [stored]


def test_contact_matches_come_before_interaction_only_matches(db):
    via_interaction = add(db, "Aaron Abbott")
    log(db, via_interaction.id, "talked about olive oil")
    direct = add(db, "Zoe Olive")
    assert hits(db, "olive") == [("Zoe Olive", "contact"), ("Aaron Abbott", "interaction")]
    log(db, direct.id, "olive harvest")
    assert hits(db, "olive") == [("Zoe Olive", "contact"), ("Aaron Abbott", "interaction")]


def test_search_leaves_out_trashed_contacts(db):
    gone = add(db, "Maria Lopez")
    log(db, gone.id, "olive order")
    add(db, "Maria Garcia")
    trash_contact(db, gone.id, now=NOW)
    assert found(db, "maria") == ["Maria Garcia"]
    assert found(db, "olive") == []


def test_search_follows_edits_and_purges(db):
    maria = add(db, "Maria Lopez")
    log(db, maria.id, "olive order")
    update_contact(db, maria.id, ContactChanges(fields={"name": "Mariam Lopez"}), now=NOW)
    assert found(db, "mariam") == ["Mariam Lopez"]
    update_contact(db, maria.id, ContactChanges(fields={"name": "Sara Lopez"}), now=NOW)
    assert found(db, "mariam") == []
    purge_contact(db, maria.id)
    assert found(db, "lopez") == []
    assert found(db, "olive") == []
    # a new row may reuse the purged ids: the old words must not come back with it
    reuse = add(db, "Ali Rezaei")
    log(db, reuse.id, "tea order")
    assert found(db, "olive") == []
    assert found(db, "tea") == ["Ali Rezaei"]


def test_search_limit(db):
    for letter in "abcde":
        add(db, f"Olive {letter}")
    assert len(found(db, "olive", limit=3)) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"maria', ["Maria Lopez"]),
        ("maria*", ["Maria Lopez"]),
        ("(maria", ["Maria Lopez"]),
        ("maria:lopez", ["Maria Lopez"]),
        ("maria AND OR *", []),
        ("NOT maria", []),
        ("NEAR(maria lopez)", []),
        ("maria -lopez", ["Maria Lopez"]),
        ("'; DROP TABLE contact; --", []),
        ("^maria", ["Maria Lopez"]),
        ("_", []),
    ],
)
def test_search_operators_and_quotes_are_plain_text(db, query, expected):
    add(db, "Maria Lopez")
    assert found(db, query) == expected
    assert found(db, "lopez") == ["Maria Lopez"]


@pytest.mark.parametrize("query", ["", "   ", '"', '"*()', "-- ''", "\u0301\u200c"])
def test_search_for_nothing_is_a_user_error(db, query):
    with pytest.raises(UserError) as caught:
        search_contacts(db, query)
    assert caught.value.exit_code == 2


def test_list_search_filter_uses_the_same_matching(db):
    maria = add(db, "Maria Lopez", stage="interest")
    add(db, "Maria Garcia")
    log(db, maria.id, "olive order")
    listed = list_contacts(db, ContactFilter(search="olive"))
    assert [c.name for c in listed] == ["Maria Lopez"]
    listed = list_contacts(db, ContactFilter(search="maria", stage="interest"))
    assert [c.name for c in listed] == ["Maria Lopez"]


def test_search_matches_word_prefixes_not_word_middles(db, search_path):
    add(db, "Maria Lopez")
    add(db, "Person Eleven", notes="room 11")
    assert found(db, "aria") == []
    assert found(db, "1") == ["Person Eleven"]
    assert found(db, "person 1") == ["Person Eleven"]
    assert found(db, "son") == []


# ------------------------------------------------- the two paths compared


@pytest.mark.sqlite_only("FTS5")
def test_both_paths_give_the_same_contacts(engine):
    with session_scope(engine) as session:
        people = [
            ("Maria Lopez", {"email": "maria@bakery.com", "notes": "olive bread"}),
            ("Mariam Karimi", {"company": "Karimi Rugs"}),
            ("علی کریمی", {"notes": "فرش دستباف"}),
            ("Γιώργος Παπαδόπουλος", {"company": "Ελιά ΑΕ"}),
            ("Sara Kim", {}),
        ]
        ids = {name: add(session, name, **fields).id for name, fields in people}
        log(session, ids["Sara Kim"], "wants olive oil and rugs")
        log(session, ids["Γιώργος Παπαδόπουλος"], "Παραγγελία λαδιού")
        trash_contact(session, ids["Mariam Karimi"], now=NOW)
    queries = ["mar", "olive", "karimi", "كريمي", "rugs", "ελια", "λαδι", "bakery com", "فرش"]

    def answers(engine):
        with session_scope(engine) as session:
            return {q: sorted(hits(session, q)) for q in queries}

    with_fts = answers(engine)
    drop_fts(engine)
    # a new engine, as a new command would make: the FTS5 check is cached per engine
    without_fts = make_engine(str(engine.url))
    try:
        assert answers(without_fts) == with_fts
    finally:
        without_fts.dispose()
    assert with_fts["olive"] == [("Maria Lopez", "contact"), ("Sara Kim", "interaction")]


# ------------------------------------------------------------- FTS5 only


def fts_integrity_check(session):
    """Raises when an FTS5 index disagrees with its content table (rank 1 asks
    FTS5 to compare with the external content, not only with itself)."""
    for table in ("contact_fts", "interaction_fts"):
        session.execute(text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"))


@pytest.mark.sqlite_only("FTS5")
def test_fts_index_stays_in_step_with_the_tables(session):
    maria = add(session, "Maria Lopez", notes="olive")
    log(session, maria.id, "called")
    other = add(session, "Ali Rezaei")
    update_contact(session, maria.id, ContactChanges(fields={"notes": "bread"}), now=NOW)
    trash_contact(session, other.id, now=NOW)
    purge_contact(session, other.id)
    fts_integrity_check(session)


@pytest.mark.sqlite_only("FTS5")
def test_fts_ranks_the_closer_contact_match_first(session):
    add(session, "Aaron Abbott", notes="long notes " * 30 + "mentions olive once")
    add(session, "Zoe Olive")
    assert found(session, "olive") == ["Zoe Olive", "Aaron Abbott"]


def test_fts_choice_is_cached_for_the_engine_and_its_write_sessions(engine):
    engine.pool.__dict__[_FTS_FLAG] = False
    with session_scope(engine) as session:
        assert _has_fts5(session) is False
