"""Interactions, follow-ups and cadences through the service layer."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import FollowUp
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.search import search_contacts
from minicrm.services.followups.cadence import (
    due_to_get_in_touch,
    list_cadences,
    parse_every,
    remove_cadence,
    set_cadence,
)
from minicrm.services.followups.followups import (
    add_followup,
    complete_followup,
    list_followups,
    remove_followup,
    snooze_followup,
)
from minicrm.services.followups.interactions import KINDS, log_interaction

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Berlin, a Monday


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), now=NOW - timedelta(days=100))


def due(session, ref, when, note=None, **kwargs):
    return add_followup(session, ref, when, note, now=NOW, **kwargs)


# ------------------------------------------------------------ interactions


def test_logged_interaction_is_stored_with_owner_amount_and_is_searchable(session, monkeypatch):
    monkeypatch.setenv("CRM_USER", "leila")
    add(session, "Maria Lopez")
    logged = log_interaction(
        session, "maria", "Purchase", "Bought the espresso machine", amount="1,250.50", now=NOW
    )
    assert (logged.kind, logged.owner, logged.amount_cents, logged.at) == (
        "purchase", "leila", 125050, NOW,
    )  # fmt: skip
    assert logged.to_json()["amount"] == 1250.5
    hits = search_contacts(session, "espresso")
    assert [(h.contact.name, h.matched_in) for h in hits] == [("Maria Lopez", "interaction")]


def test_unknown_kind_lists_the_kinds(session):
    add(session, "Maria Lopez")
    with pytest.raises(ValidationError) as caught:
        log_interaction(session, "maria", "dance", now=NOW)
    assert all(kind in caught.value.message for kind in KINDS)


# ---------------------------------------------------------------- follow-ups


def test_agenda_windows_follow_the_local_day(session):
    add(session, "Maria Lopez", owner="Ana")
    overdue = due(session, "maria", NOW - timedelta(hours=1), "late")
    tonight = due(session, "maria", datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "23:30 local")
    after_midnight = due(session, "maria", datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    in_a_week = due(session, "maria", NOW + timedelta(days=7))
    far = due(session, "maria", NOW + timedelta(days=30))

    def ids(window, **kwargs):
        return [f.id for f in list_followups(session, window, zone=BERLIN, now=NOW, **kwargs)]

    assert ids("overdue") == [overdue.id]
    assert ids("today") == [overdue.id, tonight.id]
    assert ids("week") == [overdue.id, tonight.id, after_midnight.id, in_a_week.id]
    assert ids("all") == [overdue.id, tonight.id, after_midnight.id, in_a_week.id, far.id]
    assert ids("all", owner="ANA") == ids("all")
    assert ids("all", owner="sam") == []
    with pytest.raises(UserError):
        ids("month")


def test_followup_owner_defaults_to_the_contacts_owner(session, monkeypatch):
    monkeypatch.setenv("CRM_USER", "me")
    add(session, "Maria Lopez", owner="Ana")
    add(session, "Nikos Papadakis")
    assert due(session, "maria", NOW).owner == "Ana"
    assert due(session, "nikos", NOW).owner == "me"
    assert due(session, "nikos", NOW, owner="Sam").owner == "Sam"


def test_done_closes_and_a_recurring_one_rolls_on_in_local_time(session):
    add(session, "Maria Lopez")
    monday_9am = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)  # 09:00 CEST
    weekly = due(session, "maria", monday_9am, "weekly call", every="week")
    # Done late, after the clocks went back: the next one is the first Monday
    # after now, still at 09:00 local (now 08:00 UTC).
    result = complete_followup(session, weekly.id, zone=BERLIN, now=NOW)
    assert result.closed.done_at == NOW
    assert result.next.due_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert (result.next.note, result.next.recurrence) == ("weekly call", "FREQ=WEEKLY")
    with pytest.raises(UserError, match="already done"):
        complete_followup(session, weekly.id, zone=BERLIN, now=NOW)


def test_done_early_schedules_after_the_due_time_not_after_now(session):
    add(session, "Maria Lopez")
    next_friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    monthly = due(session, "maria", next_friday, every="month")
    result = complete_followup(session, monthly.id, zone=BERLIN, now=NOW)
    assert result.next.due_at == datetime(2026, 12, 27, 8, 0, tzinfo=UTC)


def test_one_off_done_has_no_next(session):
    add(session, "Maria Lopez")
    once = due(session, "maria", NOW)
    assert complete_followup(session, once.id, zone=BERLIN, now=NOW).next is None
    assert list_followups(session, "all", zone=BERLIN, now=NOW) == []


def test_snooze_moves_counts_and_refuses_the_past(session):
    add(session, "Maria Lopez")
    item = due(session, "maria", NOW - timedelta(days=1))
    later = NOW + timedelta(days=2)
    snoozed = snooze_followup(session, item.id, later, now=NOW)
    assert (snoozed.due_at, snoozed.snoozed) == (later, 1)
    assert snooze_followup(session, item.id, later + timedelta(hours=1), now=NOW).snoozed == 2
    with pytest.raises(ValidationError, match="future"):
        snooze_followup(session, item.id, NOW - timedelta(minutes=1), now=NOW)


def test_remove_and_unknown_ids(session):
    add(session, "Maria Lopez")
    item = due(session, "maria", NOW)
    remove_followup(session, item.id)
    assert session.execute(select(FollowUp)).scalars().all() == []
    for action in (
        lambda: remove_followup(session, item.id),
        lambda: snooze_followup(session, 999, NOW + timedelta(days=1), now=NOW),
        lambda: complete_followup(session, 999, zone=BERLIN, now=NOW),
    ):
        with pytest.raises(NotFoundError):
            action()


def test_followups_of_trashed_contacts_leave_the_agenda(session):
    add(session, "Maria Lopez")
    due(session, "maria", NOW)
    from minicrm.services.contacts.trash import trash_contact

    trash_contact(session, "maria", now=NOW)
    assert list_followups(session, "all", zone=BERLIN, now=NOW) == []


# ------------------------------------------------------------------ cadence


@pytest.mark.parametrize(
    ("text", "days"), [("30d", 30), ("30 days", 30), ("2w", 14), ("1 week", 7), ("3 months", 90)]
)
def test_parse_every(text, days):
    assert parse_every(text) == days


@pytest.mark.parametrize("text", ["", "0d", "soon", "3 aeons", "-2d"])
def test_parse_every_refuses(text):
    with pytest.raises(ValidationError):
        parse_every(text)


def test_contact_cadence_runs_out_and_an_interaction_resets_it(session):
    maria = add(session, "Maria Lopez", phone="+34600123456")  # added 100 days ago
    set_cadence(session, "30d", ref="maria", now=NOW)
    [touch] = due_to_get_in_touch(session, now=NOW)
    assert (touch.contact_id, touch.every_days, touch.phone) == (maria.id, 30, "+34600123456")
    assert touch.due_since == maria.created_at + timedelta(days=30)
    log_interaction(session, "maria", "call", at=NOW - timedelta(days=29), now=NOW)
    assert due_to_get_in_touch(session, now=NOW) == []
    [touch] = due_to_get_in_touch(session, now=NOW + timedelta(days=1))
    assert touch.last_interaction_at == NOW - timedelta(days=29)


def test_tag_cadence_the_shortest_tag_wins_and_a_contact_cadence_beats_tags(session):
    add(session, "Maria Lopez", tags=["vip", "wholesale"])
    add(session, "Nikos Papadakis", tags=["wholesale"])
    add(session, "No Tags")
    set_cadence(session, "120d", tag="wholesale", now=NOW)
    set_cadence(session, "60d", tag="VIP", now=NOW)
    found = {t.contact_name: t.every_days for t in due_to_get_in_touch(session, now=NOW)}
    assert found == {"Maria Lopez": 60}  # Nikos: 120 days not yet over
    set_cadence(session, "200d", ref="maria", now=NOW)
    assert due_to_get_in_touch(session, now=NOW) == []
    assert [(c.tag, c.contact_name, c.every_days) for c in list_cadences(session)] == [
        ("vip", None, 60), ("wholesale", None, 120), (None, "Maria Lopez", 200),
    ]  # fmt: skip


def test_lost_and_trashed_contacts_are_not_due(session):
    add(session, "Maria Lopez", tags=["vip"])
    add(session, "Nikos Papadakis", tags=["vip"])
    set_cadence(session, "7d", tag="vip", now=NOW)
    update_contact(
        session,
        "maria",
        ContactChanges(fields={"stage": "lost", "lost_reason": "no need"}),
        now=NOW,
    )
    from minicrm.services.contacts.trash import trash_contact

    trash_contact(session, "nikos", now=NOW)
    assert due_to_get_in_touch(session, now=NOW) == []


def test_cadence_set_twice_updates_and_rm_removes(session):
    add(session, "Maria Lopez")
    first = set_cadence(session, "30d", ref="maria", now=NOW)
    second = set_cadence(session, "10d", ref="maria", now=NOW)
    assert first.id == second.id and second.every_days == 10
    remove_cadence(session, ref="maria")
    assert list_cadences(session) == []
    with pytest.raises(NotFoundError):
        remove_cadence(session, ref="maria")
    with pytest.raises(UserError):
        set_cadence(session, "10d", ref="maria", tag="vip", now=NOW)
