"""Recent activity across contacts: newest first, names attached, trash skipped."""

from datetime import UTC, datetime, timedelta

import pytest

from minicrm.errors import UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.funnel.activity import recent_interactions

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_newest_first_with_contact_names(session):
    ana = add_contact(session, ContactInput(name="Ana Lima"), now=NOW)
    reza = add_contact(session, ContactInput(name="رضا احمدی"), now=NOW)
    log_interaction(session, ana.id, "call", "first call", at=NOW - timedelta(days=3), now=NOW)
    log_interaction(session, reza.id, "purchase", "shoes", at=NOW - timedelta(days=1),
                    amount="120.50", now=NOW)  # fmt: skip
    log_interaction(session, ana.id, "email", "quote sent", at=NOW - timedelta(days=2), now=NOW)

    recent = recent_interactions(session, limit=2)

    assert [(r.contact_name, r.kind, r.summary) for r in recent] == [
        ("رضا احمدی", "purchase", "shoes"),
        ("Ana Lima", "email", "quote sent"),
    ]
    assert recent[0].to_json()["amount"] == 120.5
    assert recent[0].to_json()["at"] == (NOW - timedelta(days=1)).isoformat()


def test_trashed_contacts_are_left_out(session):
    ana = add_contact(session, ContactInput(name="Ana Lima"), now=NOW)
    gone = add_contact(session, ContactInput(name="Gone Person"), now=NOW)
    log_interaction(session, ana.id, "call", at=NOW - timedelta(days=5), now=NOW)
    log_interaction(session, gone.id, "call", at=NOW - timedelta(days=1), now=NOW)
    trash_contact(session, gone.id, now=NOW)

    assert [r.contact_name for r in recent_interactions(session)] == ["Ana Lima"]


def test_empty_database_and_bad_limit(session):
    assert recent_interactions(session) == []
    with pytest.raises(UserError):
        recent_interactions(session, limit=0)


def test_an_interaction_keeps_the_deal_it_names(session):
    from sqlalchemy import insert

    from minicrm.models import Contact, Deal, Interaction

    contact_id = session.execute(
        insert(Contact.__table__).returning(Contact.__table__.c.id),
        {"name": "Dee", "name_folded": "dee", "created_at": NOW, "updated_at": NOW},
    ).scalar_one()
    deal_id = session.execute(
        insert(Deal.__table__).returning(Deal.__table__.c.id),
        {"title": "Order", "contact_id": contact_id, "stage": "won", "stage_entered_at": NOW,
         "created_at": NOW, "updated_at": NOW},
    ).scalar_one()  # fmt: skip
    session.execute(
        insert(Interaction.__table__),
        {"contact_id": contact_id, "deal_id": deal_id, "kind": "purchase", "at": NOW,
         "amount_cents": 500, "created_at": NOW},
    )  # fmt: skip
    session.flush()
    (recent,) = recent_interactions(session)
    assert (recent.deal_id, recent.contact_name) == (deal_id, "Dee")
    assert recent.to_json()["deal_id"] == deal_id
