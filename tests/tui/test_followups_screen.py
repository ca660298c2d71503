"""The Follow-ups screen driven with Pilot against a real database: the
agenda's sections, space to mark done (recurring ones roll on), z to snooze
with a live WHEN preview, enter/o to open the contact, and refresh on a
change made elsewhere."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from minicrm.dates import start_of_day
from minicrm.db import session_scope
from minicrm.models import FollowUp
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.followups.followups import add_followup, list_followups
from minicrm.tui.app import make_app
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.followups import FollowUpsScreen, SnoozeScreen
from minicrm.tui.widgets.cards import FitTable
from tui_support import sync

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)  # a Tuesday; TZ is UTC in tests
SIZE = (120, 40)


@pytest.fixture
def agenda_db(engine):
    """Ana: overdue since yesterday, weekly. Reza: due today. Lena: Friday."""
    with session_scope(engine) as session:
        ana = add_contact(session, ContactInput(name="Ana Lima", owner="Sam"), now=NOW)
        reza = add_contact(session, ContactInput(name="رضا احمدی"), now=NOW)
        lena = add_contact(session, ContactInput(name="Lena Vogel"), now=NOW)
        add_followup(session, ana.id, NOW - timedelta(days=1), "weekly call", every="week", now=NOW)
        add_followup(session, reza.id, NOW + timedelta(hours=2), "send the quote", now=NOW)
        add_followup(session, lena.id, NOW + timedelta(days=3), "check in", now=NOW)
    return engine


def app_on(engine):
    return make_app(engine, now_provider=lambda: NOW, poll_seconds=0)


async def settle(app, pilot) -> None:
    """Workers finish, their messages land, and any reload they start finishes."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


def rows(app) -> list[list[str]]:
    table = app.screen.query_one("#agenda", FitTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def open_followups(engine) -> list[FollowUp]:
    with session_scope(engine, write=False) as session:
        return list(session.execute(select(FollowUp).order_by(FollowUp.id)).scalars())


@sync
async def test_agenda_shows_overdue_today_and_upcoming(agenda_db):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FollowUpsScreen)
        shown = rows(app)
        assert [(r[1], r[2]) for r in shown] == [
            ("overdue", "Ana Lima"),
            ("today", "رضا احمدی"),
            ("upcoming", "Lena Vogel"),
        ]
        assert shown[0][0] == "yesterday 14:30" and shown[0][4] == "every week"
        assert shown[2][0] == "Fri 14:30"
        summary = str(app.screen.query_one("#agenda-summary").content)
        assert summary.startswith("1 overdue · 1 today · 1 upcoming")


@sync
async def test_space_marks_done_and_a_recurring_one_rolls_on(agenda_db):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("space")  # the cursor starts on Ana's overdue weekly call
        await settle(app, pilot)

        first, *_rest, following = open_followups(agenda_db)
        assert first.done_at == NOW
        assert following.done_at is None and following.recurrence == "FREQ=WEEKLY"
        assert following.due_at == NOW + timedelta(days=6)  # next Monday 14:30
        shown = rows(app)
        assert ("overdue", "Ana Lima") not in [(r[1], r[2]) for r in shown]
        assert ["Mon 14:30", "upcoming", "Ana Lima", "weekly call", "every week"] in shown

        await pilot.press("down", "space")  # now on Lena's one-off check-in
        await settle(app, pilot)
        assert [f.done_at for f in open_followups(agenda_db) if f.note == "check in"] == [NOW]
        assert "Lena Vogel" not in [r[2] for r in rows(app)]


@sync
async def test_snooze_previews_the_date_while_typing_then_saves(agenda_db):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("z")
        assert isinstance(app.screen, SnoozeScreen)
        preview = app.screen.query_one("#snooze-preview")

        await type_text(pilot, "tomorrow 10am")
        assert str(preview.content) == "→ Wed 2026-03-11 10:00, in 19 h 30 min"
        assert open_followups(agenda_db)[0].snoozed == 0  # nothing saved while typing

        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FollowUpsScreen)
        snoozed = open_followups(agenda_db)[0]
        assert (snoozed.due_at, snoozed.snoozed) == (datetime(2026, 3, 11, 10, tzinfo=UTC), 1)
        assert ["tomorrow 10:00", "upcoming", "Ana Lima", "weekly call", "every week"] in rows(app)


@sync
async def test_snooze_keeps_bad_input_in_the_form(agenda_db):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("z")
        modal = app.screen
        preview = modal.query_one("#snooze-preview")

        await type_text(pilot, "someday")
        assert str(preview.content).startswith("cannot read the date 'someday'")
        assert preview.has_class("invalid")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is modal  # refused inline, not saved

        await pilot.press(*["backspace"] * 7)
        await type_text(pilot, "2026-03-01")
        assert "in the past" in str(preview.content)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is modal

        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, FollowUpsScreen)
        ana = open_followups(agenda_db)[0]
        assert (ana.due_at, ana.snoozed) == (NOW - timedelta(days=1), 0)


@pytest.mark.parametrize("key", ["enter"])  # o is the app's key for companies now
@sync
async def test_enter_opens_the_contact(agenda_db, key):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("down", key)
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == open_followups(agenda_db)[1].contact_id


@sync
async def test_a_follow_up_added_elsewhere_appears(agenda_db):
    app = app_on(agenda_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        with session_scope(agenda_db) as session:  # as `crm followup add` would
            add_followup(session, "Lena", NOW + timedelta(hours=1), "call back", now=NOW)
        app.check_for_changes()
        await settle(app, pilot)
        assert ["today 15:30", "today", "Lena Vogel", "call back", ""] in rows(app)


@sync
async def test_demo_agenda_matches_the_service(engine):
    from minicrm.services.demo.generate import generate_demo

    with session_scope(engine) as session:
        generate_demo(session, contacts=50, seed=7, now=NOW)
        expected = list_followups(session, "week", zone=UTC, now=NOW)
    app = app_on(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await settle(app, pilot)
        table = app.screen.query_one("#agenda", FitTable)
        assert [row.key.value for row in table.ordered_rows] == [str(f.id) for f in expected]
        end_of_today = start_of_day(NOW, UTC, days_later=1)
        overdue = sum(f.due_at < NOW for f in expected)
        today = sum(NOW <= f.due_at < end_of_today for f in expected)
        summary = str(app.screen.query_one("#agenda-summary").content)
        assert summary.startswith(f"{overdue} overdue · {today} today")
