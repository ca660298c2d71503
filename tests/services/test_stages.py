"""Moving through the funnel, changing the stage list, and the board."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from minicrm.errors import UserError, ValidationError
from minicrm.models import Contact, Deal, StageChange
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.deals.stage_list import change_stages
from minicrm.services.deals.stages import move_stage, pipeline
from minicrm.services.records import config
from minicrm.services.scoring.scores import recompute_scores

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=30)


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), now=CREATED)


def history(session, contact_id):
    rows = session.execute(
        select(StageChange).where(StageChange.contact_id == contact_id).order_by(StageChange.id)
    ).scalars()
    return [(r.from_stage, r.to_stage, r.reason) for r in rows]


def test_moves_forwards_backwards_and_skipping_are_all_recorded(session):
    maria = add(session, "Maria Lopez")
    move_stage(session, "maria", "DECISION", now=NOW - timedelta(days=3))  # skips interest
    move_stage(session, "maria", "interest", now=NOW - timedelta(days=2))  # backwards
    moved = move_stage(session, "maria", "won", now=NOW)
    assert moved.stage == "won"
    assert moved.stage_entered_at == NOW
    assert history(session, maria.id) == [
        (None, "awareness", None),
        ("awareness", "decision", None),
        ("decision", "interest", None),
        ("interest", "won", None),
    ]


def test_lost_needs_a_reason_and_keeps_it(session):
    add(session, "Maria Lopez")
    with pytest.raises(ValidationError, match="needs a reason"):
        move_stage(session, "maria", "lost", now=NOW)
    lost = move_stage(session, "maria", "lost", reason="went elsewhere", now=NOW)
    assert lost.lost_reason == "went elsewhere"
    reopened = move_stage(session, "maria", "interest", now=NOW + timedelta(days=1))
    assert reopened.lost_reason is None


def test_at_records_an_earlier_move_but_keeps_history_in_order(session):
    maria = add(session, "Maria Lopez")
    earlier = NOW - timedelta(days=10)
    moved = move_stage(session, "maria", "interest", at=earlier, now=NOW)
    assert moved.stage_entered_at == earlier
    changes = (
        session.execute(
            select(StageChange.at)
            .where(StageChange.contact_id == maria.id)
            .order_by(StageChange.id)
        )
        .scalars()
        .all()
    )
    assert changes == [CREATED, earlier]
    with pytest.raises(ValidationError, match="stay in order"):
        move_stage(session, "maria", "decision", at=earlier - timedelta(days=1), now=NOW)
    with pytest.raises(ValidationError, match="future"):
        move_stage(session, "maria", "decision", at=NOW + timedelta(hours=1), now=NOW)


def test_same_stage_and_unknown_stage_are_refused(session):
    add(session, "Maria Lopez")
    with pytest.raises(UserError, match="already in awareness"):
        move_stage(session, "maria", "Awareness", now=NOW)
    with pytest.raises(ValidationError, match="unknown stage"):
        move_stage(session, "maria", "negotiation", now=NOW)


def test_changing_stages_moves_contacts_of_dropped_stages_when_told_where(session):
    add(session, "Maria Lopez")
    nikos = add(session, "Nikos Papadakis", stage="interest")
    with pytest.raises(ValidationError, match="interest"):
        change_stages(session, "lead,awareness,decision,action", now=NOW)
    change_stages(session, "lead,qualified,decision,action", move_to="qualified", now=NOW)
    assert config.open_stages(session) == ["lead", "qualified", "decision", "action"]
    stages = dict(session.execute(select(Contact.name, Contact.stage)).all())
    assert stages == {"Maria Lopez": "qualified", "Nikos Papadakis": "qualified"}
    assert history(session, nikos.id)[-1] == ("interest", "qualified", "stage list changed")
    with pytest.raises(ValidationError, match="--move-to"):
        change_stages(session, "a,b", move_to="nowhere", now=NOW)


def test_adding_a_stage_needs_no_move(session):
    add(session, "Maria Lopez")
    change_stages(session, "awareness,interest,demo,decision,action", now=NOW)
    assert config.all_stages(session)[2:4] == ["demo", "decision"]


def test_pipeline_counts_values_and_best_scored_per_stage(session):
    add(session, "Maria Lopez", value="100")
    add(session, "Nikos Papadakis", value="250.50", stage="interest")
    add(session, "Ana Silva", value="50", stage="interest")
    add(session, "Gone Person", value="999")
    trash_contact(session, "gone", now=NOW)
    recompute_scores(session, now=NOW)  # fresh for today: the board keeps the cached scores
    session.execute(Deal.__table__.update().where(Deal.title == "Ana Silva").values(score=40))
    columns = {c.stage: c for c in pipeline(session, top=1, now=NOW)}
    assert list(columns) == ["awareness", "interest", "decision", "action", "won", "lost"]
    assert (columns["awareness"].count, columns["awareness"].value_cents) == (1, 10000)
    assert (columns["interest"].count, columns["interest"].value_cents) == (2, 30050)
    assert [d.title for d in columns["interest"].top] == ["Ana Silva"]  # deal cards
    assert columns["won"].count == 0 and columns["won"].top == []
    assert columns["interest"].to_json()["value"] == 300.5
