"""Scores are never stale: a score reads figures that move with the calendar
(interactions_30d here), so the first reader of a new day recomputes every
score, and later readers that day find them fresh."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from minicrm.models import Contact, Deal, Setting
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.contacts.paging import contacts_page
from minicrm.services.deals.deals import deal_detail
from minicrm.services.deals.listing import list_deals
from minicrm.services.deals.stages import pipeline
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.profiles.contact import contact_profile
from minicrm.services.records import config
from minicrm.services.records.score_day import SCORES_DAY_KEY
from minicrm.services.scoring.freshness import ensure_fresh_scores
from minicrm.services.scoring.scores import (
    load_rules,
    recompute_scores,
    top_scores,
)
from minicrm.services.transfer.deal_export import live_deals

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ENGAGED = """
[[rule]]
name = "engaged"
per = "interactions_30d"
points = 4
max = 40
"""

READERS = {
    "list": lambda s, now: list(list_contacts(s, sort="score", now=now)),
    "page": lambda s, now: contacts_page(s, sort="score", now=now),
    "show": lambda s, now: contact_profile(s, "Maria", now=now),
    "deal list": lambda s, now: list(list_deals(s, sort="score", now=now)),
    "deal show": lambda s, now: deal_detail(s, 1, now=now),
    "pipeline": lambda s, now: pipeline(s, now=now),
    "score top": lambda s, now: top_scores(s, now=now),
    "export deals": lambda s, now: list(live_deals(s, now=now)),
}


@pytest.fixture
def maria(session):
    """Maria's one deal earns 4 points per interaction of the last 30 days;
    two interactions, 29 and 10 days before NOW."""
    load_rules(session, ENGAGED, now=NOW)
    contact = add_contact(
        session, ContactInput(name="Maria Lopez", stage="interest"), force=True, now=NOW - 40 * DAY
    )
    for days_ago in (29, 10):
        log_interaction(session, contact.id, "call", at=NOW - days_ago * DAY, now=NOW)
    recompute_scores(session, now=NOW)
    assert stored_scores(session) == [8]
    return contact


def stored_scores(session) -> list[int]:
    return list(session.execute(select(Deal.score).order_by(Deal.id)).scalars())


def stored_day(session) -> str | None:
    row = session.get(Setting, SCORES_DAY_KEY)
    return row.value if row else None


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_of_scores_recomputes_them_on_a_new_day(session, maria, reader):
    READERS[reader](session, NOW + 2 * DAY)  # the older call is 31 days old now
    assert stored_scores(session) == [4]
    assert [c.score for c in list_contacts(session, now=NOW + 2 * DAY)] == [4]
    assert stored_day(session) == "2026-06-17"


def test_later_readers_of_the_same_day_find_them_fresh(session, maria):
    later = NOW + 2 * DAY
    assert ensure_fresh_scores(session, now=later) is not None
    assert ensure_fresh_scores(session, now=later + timedelta(hours=6)) is None
    # a write the same day keeps the scores right by itself (it rescores its deal)
    log_interaction(session, maria.id, "email", at=later, now=later)
    assert stored_scores(session) == [8]
    assert ensure_fresh_scores(session, now=later + timedelta(hours=7)) is None


def test_the_same_day_changes_nothing_even_if_the_cache_was_tampered_with(session, maria):
    """Fresh means computed for today: a reader the same day trusts the cache."""
    session.execute(Deal.__table__.update().values(score=99))
    session.execute(Contact.__table__.update().values(score=99))
    [row] = list(list_contacts(session, now=NOW + timedelta(hours=1)))
    assert stored_scores(session) == [99]
    assert row.score == 99


def test_the_day_is_the_database_zones_day(session, maria):
    config.set_setting(session, "timezone", "Asia/Tehran", now=NOW)  # UTC+03:30
    late_evening_utc = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)  # 00:30 on the 16th in Tehran
    assert ensure_fresh_scores(session, now=late_evening_utc) is not None
    assert stored_day(session) == "2026-06-16"
    config.set_setting(session, "timezone", "UTC", now=NOW)
    session.get(Setting, SCORES_DAY_KEY).value = "2026-06-15"
    assert ensure_fresh_scores(session, now=late_evening_utc) is None  # still the 15th in UTC


@pytest.mark.parametrize("days_later", [0, 1, 19, 20, 21, 31, 400])
def test_fresh_scores_equal_a_recompute_from_scratch(session, maria, days_later):
    for days_ago in range(0, 60, 7):
        log_interaction(session, maria.id, "note", at=NOW - days_ago * DAY, now=NOW)
    recompute_scores(session, now=NOW)
    later = NOW + days_later * DAY
    list(list_contacts(session, now=later))
    calls = [NOW - d * DAY for d in (29, 10, *range(0, 60, 7))]
    by_hand = min(40, 4 * sum(1 for at in calls if later - 30 * DAY <= at <= later))
    assert stored_scores(session) == [by_hand]


@pytest.mark.postgres_only("an advisory lock of PostgreSQL")
def test_one_reader_recomputes_while_another_serves_the_cached_scores(engine):
    from minicrm.db import session_scope

    with session_scope(engine) as setup:
        load_rules(setup, ENGAGED, now=NOW)
        add_contact(setup, ContactInput(name="Ana", stage="interest"), force=True, now=NOW)
    later = NOW + 2 * DAY
    with session_scope(engine) as first:
        assert ensure_fresh_scores(first, now=later) is not None  # holds the lock until commit
        with session_scope(engine, write=False) as second:
            assert ensure_fresh_scores(second, now=later) is None  # someone is at it: cached
    with session_scope(engine) as third:
        assert ensure_fresh_scores(third, now=later) is None  # and now the day is recorded
