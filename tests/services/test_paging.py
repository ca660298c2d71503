"""Keyset pages for the TUI's contact table: every sort, both directions,
NULLs, filters with crm search's folding, and walking to a neighbour."""

from datetime import UTC, datetime, timedelta

import pytest

from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.paging import SORTS, contacts_page, count_matching, key_of, neighbour
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.records.config import all_stages
from minicrm.text import fold

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

PEOPLE = [
    # name, company, owner, city, stage
    ("Maria Lopez", "Lopez Tiles", "Ana", "Madrid", "interest"),
    ("maria garcia", None, None, "Sevilla", "awareness"),
    ("Mario Rossi", "Rossi Srl", "Sam", None, "decision"),
    ("علی رضایی", "فروشگاه رضا", "Leila", "تهران", "action"),
    ("رضا عباسی", None, "Leila", "شیراز", "won"),
    ("محمد\u200cرضا نوری", "نوری و پسران", None, None, "awareness"),
    ("كيان رضايي", None, "Sam", "تهران", "interest"),  # Arabic kaf and yeh
    ("Νίκος Μακρής", "Μακρής Ο.Ε.", "Ana", "Αθήνα", "decision"),
    ("Zoë Adams", None, None, None, "awareness"),
    ("Bob Brown", "Brown & Co", "Sam", "Leeds", "interest"),
    ("Carol White", "Brown & Co", "Ana", "Leeds", "awareness"),
    ("Dan Black", None, "Jonas", None, "interest"),
]


@pytest.fixture
def people(engine):
    ids = []
    with session_scope(engine) as session:
        for offset, (name, company, owner, city, stage) in enumerate(PEOPLE):
            contact = add_contact(
                session,
                ContactInput(name=name, company=company, owner=owner, city=city, stage=stage),
                force=True,
                now=NOW + timedelta(minutes=offset % 5),  # ties on updated_at
            )
            ids.append(contact.id)
    return ids


def expected_order(session, sort: str, descending: bool) -> list[int]:
    """The table's order worked out in Python: NULLs first going up."""
    from sqlalchemy import select

    from minicrm.models import Contact

    rows = session.execute(select(Contact).where(Contact.deleted_at.is_(None))).scalars().all()
    stages = all_stages(session)

    def value(c):
        return {
            "name": c.name_folded,
            "company": c.company,
            "stage": stages.index(c.stage),
            "score": c.score,
            "owner": c.owner,
            "city": c.city,
            "updated": c.updated_at,
        }[sort]

    ordered = sorted(rows, key=lambda c: (value(c) is not None, value(c) or 0, c.id))
    ids = [c.id for c in ordered]
    return list(reversed(ids)) if descending else ids


def walk(session, *, sort="name", descending=False, filter_text="", limit=3) -> list[int]:
    seen, key = [], None
    while True:
        page = contacts_page(
            session,
            filter_text=filter_text,
            sort=sort,
            after_key=key,
            limit=limit,
            descending=descending,
        )
        seen += [row.id for row in page.rows]
        if page.next_key is None:
            return seen
        assert len(page.rows) == limit
        key = page.next_key


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_pages_cover_every_contact_once_in_sort_order(engine, people, sort, descending):
    with session_scope(engine, write=False) as session:
        assert walk(session, sort=sort, descending=descending) == expected_order(
            session, sort, descending
        )


def test_a_page_carries_display_fields_and_its_key(engine, people):
    with session_scope(engine, write=False) as session:
        page = contacts_page(session, limit=2)
    first = page.rows[0]
    assert (first.name, first.company, first.stage) == ("Bob Brown", "Brown & Co", "interest")
    assert first.key == ("bob brown", first.id)
    assert first.updated_at.tzinfo is not None
    assert page.next_key == page.rows[-1].key


def test_the_last_page_says_there_is_no_more(engine, people):
    with session_scope(engine, write=False) as session:
        page = contacts_page(session, limit=len(PEOPLE))
        assert len(page.rows) == len(PEOPLE) and page.next_key is None
        assert contacts_page(session, limit=len(PEOPLE) - 1).next_key is not None


def names(session, filter_text: str) -> set[str]:
    return {row.name for row in contacts_page(session, filter_text=filter_text, limit=100).rows}


def test_a_short_fragment_matches_inside_names_folded(engine, people):
    with session_scope(engine, write=False) as session:
        assert names(session, "MAR") >= {"Maria Lopez", "maria garcia", "Mario Rossi"}
        assert names(session, "ri") == {"Maria Lopez", "maria garcia", "Mario Rossi"}
        assert names(session, "zo") == {"Zoë Adams"}  # accents folded away
        assert names(session, "νι") == {"Νίκος Μακρής"}  # tonos too


def test_persian_names_are_found_however_they_are_typed(engine, people):
    with session_scope(engine, write=False) as session:
        persian = names(session, "رضا")
        # Word starts (full-text) and inside a name (محمد‌رضا, joined by a ZWNJ).
        assert {"علی رضایی", "رضا عباسی", "محمد\u200cرضا نوری", "كيان رضايي"} <= persian
        # Typed with the Arabic yeh, it still finds the Persian spelling.
        assert "علی رضایی" in names(session, "رضاي")


def test_several_words_must_all_match_as_in_crm_search(engine, people):
    with session_scope(engine, write=False) as session:
        assert names(session, "maria lop") == {"Maria Lopez"}
        assert names(session, "lop maria") == {"Maria Lopez"}
        # A lone letter while typing the next word does not narrow yet.
        assert names(session, "maria l") >= {"Maria Lopez"}


def test_interaction_summaries_match_like_crm_search(engine, people):
    with session_scope(engine) as session:
        log_interaction(session, people[-1], "call", "asked about the pergola", now=NOW)
    with session_scope(engine, write=False) as session:
        assert names(session, "pergola") == {"Dan Black"}


def test_filters_page_and_count_alike(engine, people):
    with session_scope(engine, write=False) as session:
        assert walk(session, filter_text="ar", limit=2) == [
            c for c in expected_order(session, "name", False) if c in _ids_with(session, "ar")
        ]
        assert count_matching(session, "ar") == len(_ids_with(session, "ar"))
        assert count_matching(session) == len(PEOPLE)
        assert count_matching(session, "   ") == len(PEOPLE)
        assert count_matching(session, "nobody-like-this") == 0


def _ids_with(session, fragment: str) -> set[int]:
    from sqlalchemy import select

    from minicrm.models import Contact

    rows = session.execute(select(Contact.id, Contact.name_folded)).all()
    return {i for i, name in rows if fold(fragment) in name}


def test_trashed_contacts_are_not_listed(engine, people):
    with session_scope(engine) as session:
        trash_contact(session, people[0], now=NOW)
    with session_scope(engine, write=False) as session:
        assert people[0] not in walk(session)
        assert count_matching(session) == len(PEOPLE) - 1


def test_like_wildcards_typed_by_the_user_are_plain_text(engine, people):
    with session_scope(engine, write=False) as session:
        assert names(session, "%") == set()
        assert names(session, "_") == set()
        assert names(session, "&") == set()  # no name has one; companies need a word


@pytest.mark.parametrize("sort", ["name", "company", "owner", "updated"])
def test_neighbours_follow_the_table_order_both_ways(engine, people, sort):
    with session_scope(engine, write=False) as session:
        order = expected_order(session, sort, False)
        for before, after in zip(order, order[1:], strict=False):
            assert neighbour(session, before, sort=sort).id == after
            assert neighbour(session, after, sort=sort, forward=False).id == before
        assert neighbour(session, order[-1], sort=sort) is None
        assert neighbour(session, order[0], sort=sort, forward=False) is None
        descending = expected_order(session, sort, True)
        assert neighbour(session, descending[0], sort=sort, descending=True).id == descending[1]


def test_neighbours_keep_to_the_filter(engine, people):
    with session_scope(engine, write=False) as session:
        maria, mario = people[0], people[2]
        assert neighbour(session, maria, filter_text="mari").id == mario
        assert key_of(session, 10**9) is None
        assert neighbour(session, 10**9) is None


def test_bad_sort_or_limit_is_a_user_error(engine, people):
    with session_scope(engine, write=False) as session:
        with pytest.raises(UserError, match="unknown sort"):
            contacts_page(session, sort="shoe size")
        with pytest.raises(UserError):
            contacts_page(session, limit=0)
