"""The agenda's light items (AgendaItem) say exactly what FollowUpRead says."""

from datetime import UTC, datetime, timedelta

from minicrm.models import FollowUp
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.followups.followups import (
    add_followup,
    list_followups,
    open_followups_between,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_agenda_items_have_the_fields_and_json_of_the_read_model(session):
    add_contact(session, ContactInput(name="Zoë Ağaoğlu", owner="Ana"), now=NOW)
    add_contact(session, ContactInput(name="Maria Lopez"), now=NOW)
    late = add_followup(session, "zoë", NOW - timedelta(hours=2), "late", every="week", now=NOW)
    soon = add_followup(session, "maria", NOW + timedelta(hours=3), None, owner="Bo", now=NOW)
    session.get(FollowUp, soon.id).snoozed = 2  # pending, not flushed: the agenda must see it

    items = list_followups(session, "all", zone=UTC, now=NOW)
    reads = open_followups_between(session, None, None)

    assert [i.id for i in items] == [late.id, soon.id]
    assert [i.to_json(NOW) for i in items] == [r.to_json(NOW) for r in reads]
    assert items[1].snoozed == 2
    assert [i.is_overdue(NOW) for i in items] == [True, False]
    for item, read in zip(items, reads, strict=True):
        assert {name: getattr(item, name) for name in type(read).model_fields} == read.model_dump()


def test_a_panel_gets_a_few_rows_and_the_whole_count(session):
    """agenda_between/count_open_followups agree with the full agenda."""
    from minicrm.services.followups.followups import (
        add_followup,
        agenda_between,
        count_open_followups,
        list_followups,
    )

    ann = add_contact(session, ContactInput(name="Ann Lee"), now=NOW)
    for hours in range(1, 61):  # 60 overdue
        add_followup(session, ann.id, NOW - timedelta(hours=hours), f"late {hours}", now=NOW)
    for minutes in (30, 90):  # 2 later today
        add_followup(session, ann.id, NOW + timedelta(minutes=minutes), "soon", now=NOW)
    agenda = list_followups(session, "today", zone=UTC, now=NOW)
    overdue = [item for item in agenda if item.due_at < NOW]
    assert count_open_followups(session, None, NOW) == len(overdue) == 60
    assert agenda_between(session, None, NOW, limit=50) == overdue[:50]
    tonight = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert count_open_followups(session, NOW, tonight) == 2
    assert [i.note for i in agenda_between(session, NOW, tonight, limit=50)] == ["soon", "soon"]
