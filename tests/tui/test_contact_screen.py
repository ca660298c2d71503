"""The contact screen and its keys, driven with a pilot; every change is
checked in the database afterwards."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from minicrm.db import make_engine, session_scope
from minicrm.models import Contact, FollowUp, Interaction, StageChange
from minicrm.services.contacts import paging
from minicrm.services.contacts.editing import ContactChanges, update_contact
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.contacts import ContactsScreen
from minicrm.tui.screens.forms import (
    ConfirmScreen,
    EditContactForm,
    FollowUpForm,
    LogInteractionForm,
    StageForm,
)


def read(engine, query):
    with session_scope(engine, write=False) as session:
        return session.execute(query).scalars().all()


async def open_contact(app, pilot, settle, contact_id: int) -> ContactScreen:
    await settle(pilot)
    await app.push_screen(ContactScreen(contact_id))
    await settle(pilot)
    assert isinstance(app.screen, ContactScreen)
    return app.screen


def text_of(screen, plain, selector: str) -> str:
    return plain(screen.query_one(selector), width=120)


def test_shows_fields_tags_score_followups_and_timeline(make_tui, demo_engine, settle, plain):
    with session_scope(demo_engine, write=False) as session:
        busiest = session.execute(
            select(Interaction.contact_id).group_by(Interaction.contact_id)
            .order_by(func.count().desc(), Interaction.contact_id)
        ).scalars().first()  # fmt: skip
        from minicrm.services.profiles.contact import contact_profile
        from minicrm.services.scoring.scores import explain

        profile = contact_profile(session, busiest)
        scored = explain(session, busiest, now=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, busiest)
            contact = profile.contact
            heading = text_of(screen, plain, "#contact-heading")
            assert contact.name in heading and contact.stage in heading
            assert f"score {scored.score}" in heading
            fields = text_of(screen, plain, "#contact-fields")
            for value in (contact.email, contact.company, contact.city, contact.owner):
                if value:
                    assert value in fields
            assert (", ".join(contact.tags) if contact.tags else "none") in fields
            score = text_of(screen, plain, "#contact-score")
            assert f"Score {scored.score}" in score
            for hit in scored.rules:
                assert hit.name in score and f"{hit.points:+d}" in score
            timeline = text_of(screen, plain, "#contact-timeline")
            for entry in profile.timeline[:5]:
                if entry.interaction is not None and entry.interaction.summary:
                    assert entry.interaction.summary[:30] in timeline
            followups = text_of(screen, plain, "#contact-followups")
            for followup in profile.open_followups:
                assert (followup.note or "")[:20] in followups

    asyncio.run(scenario())


def test_log_a_call(make_tui, demo_engine, settle, lead, fixed_now, plain):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            await pilot.press("l")
            assert isinstance(app.screen, LogInteractionForm)
            assert app.screen.field("kind").value == "call"
            await pilot.press(*"Asked about prices")
            app.screen.field("when").control.value = "2h ago"
            await pilot.pause()
            note = plain(app.screen.field("when").query_one(".field-note"))
            assert "2026-11-23 07:30" in note and "2 h ago" in note  # the live preview
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen
            assert "Asked about prices" in text_of(screen, plain, "#contact-timeline")

    asyncio.run(scenario())
    rows = read(
        demo_engine,
        select(Interaction).where(
            Interaction.contact_id == contact_id, Interaction.summary == "Asked about prices"
        ),
    )
    assert len(rows) == 1
    assert rows[0].kind == "call" and rows[0].at == fixed_now - timedelta(hours=2)


def test_a_bad_amount_or_a_future_time_is_shown_under_its_field(
    make_tui, demo_engine, settle, lead, plain
):
    contact_id, _name = lead
    count = select(func.count()).select_from(Interaction)
    before = read(demo_engine, count)

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            await pilot.press("l")
            form = app.screen
            form.field("kind").control.value = "purchase"
            form.field("amount").control.value = "12,50"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form  # still open: nothing saved
            error = plain(form.field("amount").query_one(".field-error"))
            assert "invalid amount '12,50'" in error
            form.field("amount").control.value = "12.50"
            form.field("when").control.value = "tomorrow"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            assert "once it has happened" in plain(form.field("when").query_one(".field-error"))
            assert plain(form.field("amount").query_one(".field-error")).strip() == ""
            await pilot.press("escape")
            assert isinstance(app.screen, ContactScreen)

    asyncio.run(scenario())
    assert read(demo_engine, count) == before


def test_add_a_follow_up_for_tomorrow_10am(make_tui, demo_engine, settle, lead, plain):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            await pilot.press("a")
            form = app.screen
            assert isinstance(form, FollowUpForm)
            await pilot.press(*"tomorrow 10am")
            note = plain(form.field("when").query_one(".field-note"))
            assert "Tue 2026-11-24 10:00, in 1 day" in note  # parsed as you type
            await pilot.press("tab", *"Bring the samples", "tab", *"2 weeks")
            every = plain(form.field("every").query_one(".field-note"))
            assert "every 2 weeks  (FREQ=WEEKLY;INTERVAL=2)" in every
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            shown = text_of(screen, plain, "#contact-followups")
            assert "2026-11-24 10:00" in shown and "Bring the samples" in shown

    asyncio.run(scenario())
    rows = read(demo_engine, select(FollowUp).where(FollowUp.note == "Bring the samples"))
    assert [(r.contact_id, r.due_at, r.recurrence) for r in rows] == [
        (contact_id, datetime(2026, 11, 24, 10, 0, tzinfo=UTC), "FREQ=WEEKLY;INTERVAL=2")
    ]


def test_an_unreadable_when_or_every_saves_nothing(make_tui, demo_engine, settle, lead, plain):
    contact_id, _name = lead
    count = select(func.count()).select_from(FollowUp)
    before = read(demo_engine, count)

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            await pilot.press("a", *"soonish")
            form = app.screen
            assert "cannot read the date 'soonish'" in plain(
                form.field("when").query_one(".field-note")
            )
            await pilot.press("enter")
            await settle(pilot)
            assert "cannot read the date" in plain(form.field("when").query_one(".field-error"))
            form.field("when").control.value = "friday"
            form.field("every").control.value = "fortnightly"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            assert "cannot read --every" in plain(form.field("every").query_one(".field-error"))

    asyncio.run(scenario())
    assert read(demo_engine, count) == before


def test_move_to_decision(make_tui, demo_engine, settle, lead, plain):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            await pilot.press("s")
            form = app.screen
            assert isinstance(form, StageForm)
            assert not form.field("reason").display  # only lost asks why
            # Pick "decision" with the keyboard: open the list, find it, choose.
            await pilot.press("enter")
            options = [str(v) for _label, v in form.field("stage").control._options]
            steps = options.index("decision") - options.index(form.field("stage").value)
            await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
            assert form.field("stage").value == "decision"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen
            assert "· decision ·" in text_of(screen, plain, "#contact-heading")
            assert "→ decision" in text_of(screen, plain, "#contact-timeline")

    asyncio.run(scenario())
    assert read(demo_engine, select(Contact.stage).where(Contact.id == contact_id)) == ["decision"]
    moves = read(
        demo_engine,
        select(StageChange.to_stage).where(StageChange.contact_id == contact_id)
        .order_by(StageChange.id.desc()),
    )  # fmt: skip
    assert moves[0] == "decision"


def test_lost_asks_for_a_reason(make_tui, demo_engine, settle, lead, plain):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            await pilot.press("s")
            form = app.screen
            form.field("stage").control.value = "lost"
            await pilot.pause()
            assert form.field("reason").display
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            assert "needs a reason" in plain(form.field("reason").query_one(".field-error"))
            form.field("reason").control.value = "no budget"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ContactScreen)

    asyncio.run(scenario())
    with session_scope(demo_engine, write=False) as session:
        stage, reason = session.execute(
            select(Contact.stage, Contact.lost_reason).where(Contact.id == contact_id)
        ).one()
    assert (stage, reason) == ("lost", "no budget")


def test_edit_fields_and_tags(make_tui, demo_engine, settle, lead, plain):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            await pilot.press("e")
            form = app.screen
            assert isinstance(form, EditContactForm)
            form.field("email").control.value = "not an email"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            assert "invalid email" in plain(form.field("email").query_one(".field-error"))
            form.field("email").control.value = "new@example.com"
            form.field("company").control.value = "Tiles & Co"
            form.field("tags").control.value = "VIP, wholesale"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen
            fields = text_of(screen, plain, "#contact-fields")
            assert "new@example.com" in fields and "Tiles & Co" in fields

    asyncio.run(scenario())
    with session_scope(demo_engine, write=False) as session:
        from minicrm.services.records.contacts import get_contact

        contact = get_contact(session, contact_id)
    assert (contact.email, contact.company) == ("new@example.com", "Tiles & Co")
    assert set(contact.tags) == {"vip", "wholesale"}


def test_an_edit_based_on_stale_data_is_refused(
    make_tui, demo_engine, database_url, settle, lead, plain
):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            await pilot.press("e")
            form = app.screen
            other = make_engine(database_url)  # someone saves first, elsewhere
            try:
                with session_scope(other) as session:
                    update_contact(session, contact_id, ContactChanges(fields={"city": "Porto"}))
            finally:
                other.dispose()
            form.field("city").control.value = "Lisbon"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            assert "changed by someone else" in plain(form.query_one("#form-error"))

    asyncio.run(scenario())
    assert read(demo_engine, select(Contact.city).where(Contact.id == contact_id)) == ["Porto"]


@pytest.mark.parametrize("answer", ["y", "n"])
def test_delete_asks_first_then_trashes(make_tui, demo_engine, settle, lead, answer):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press(answer)
            await settle(pilot)
            if answer == "y":
                assert isinstance(app.screen, ContactsScreen)
                ids = [r.id for r in app.screen.query_one("#contacts").loaded_rows]
                assert contact_id not in ids
            else:
                assert isinstance(app.screen, ContactScreen)

    asyncio.run(scenario())
    deleted = read(demo_engine, select(Contact.deleted_at).where(Contact.id == contact_id))
    assert (deleted[0] is not None) == (answer == "y")


def test_next_and_previous_walk_the_list_order(make_tui, demo_engine, settle, plain):
    with session_scope(demo_engine, write=False) as session:
        order = [r.id for r in paging.contacts_page(session, limit=100).rows]

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("enter")  # the first contact, from the table
            await settle(pilot)
            screen = app.screen
            assert screen.contact_id == order[0]
            await pilot.press("n")
            await settle(pilot)
            assert screen.contact_id == order[1]
            await pilot.press("n", "b", "b")
            await settle(pilot, rounds=6)
            assert screen.contact_id == order[0]
            await pilot.press("b")  # already the first: stays, says so
            await settle(pilot)
            assert screen.contact_id == order[0]

    asyncio.run(scenario())


def test_an_overdue_follow_up_says_so(make_tui, demo_engine, settle, lead, fixed_now, plain):
    from minicrm.services.followups.followups import add_followup

    contact_id, _name = lead
    with session_scope(demo_engine) as session:
        add_followup(session, contact_id, fixed_now - timedelta(days=1), "Call back", now=fixed_now)

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            shown = text_of(screen, plain, "#contact-followups")
            assert "overdue 1 day" in shown and "Call back" in shown

    asyncio.run(scenario())
