"""The Dashboard driven with Pilot on demo data: due follow-ups, who is due
to get in touch, the funnel bars, the top open deals and recent activity
match the services; enter opens the contact (or deal) under the cursor; the
dashboard follows changes made elsewhere."""

from datetime import UTC, datetime, timedelta

import pytest

from minicrm.db import session_scope
from minicrm.models import LOST, WON
from minicrm.services.deals.stages import pipeline
from minicrm.services.demo.generate import generate_demo
from minicrm.services.followups.cadence import due_to_get_in_touch, set_cadence
from minicrm.services.followups.followups import list_followups
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.funnel.activity import recent_interactions
from minicrm.services.scoring.scores import recompute_scores
from minicrm.tui.app import make_app
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.dashboard import DashboardScreen, contact_of_row
from minicrm.tui.screens.deal import DealScreen
from minicrm.tui.widgets.bars import StageBars
from minicrm.tui.widgets.cards import FitTable
from tui_support import sync

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SIZE = (120, 40)


@pytest.fixture
def demo_db(engine):
    """Demo data with fresh scores, and a 30-day cadence for the first few
    contacts (some of whom have been quiet longer)."""
    with session_scope(engine) as session:
        generate_demo(session, contacts=50, seed=7, now=NOW)
        recompute_scores(session, now=NOW)
        for contact_id in range(1, 11):
            set_cadence(session, "30d", ref=str(contact_id), now=NOW)
    return engine


def app_on(engine):
    return make_app(engine, now_provider=lambda: NOW, poll_seconds=0)


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def contact_ids(screen, table_id: str) -> list[int]:
    table = screen.query_one(f"#{table_id}", FitTable)
    return [contact_of_row(row.key.value) for row in table.ordered_rows if row.key.value]


def deal_ids(screen) -> list[int]:
    table = screen.query_one("#deals", FitTable)
    return [int(row.key.value) for row in table.ordered_rows if row.key.value]


def column(screen, table_id: str, index: int) -> list[str]:
    table = screen.query_one(f"#{table_id}", FitTable)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


@sync
async def test_every_panel_shows_what_the_services_say(demo_db):
    with session_scope(demo_db, write=False) as session:
        due = list_followups(session, "today", zone=UTC, now=NOW)
        touch = due_to_get_in_touch(session, now=NOW)
        counts = [(c.stage, c.count) for c in pipeline(session)]
        recent = recent_interactions(session, limit=10)
        open_deals = [
            d for col in pipeline(session, top=20) if col.stage not in (WON, LOST)
            for d in col.top
        ]  # fmt: skip
        open_deals.sort(key=lambda d: (-d.score, d.title.casefold(), d.id))
        open_deals = open_deals[:20]
    assert due and touch and recent  # the demo data gives every panel something

    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert contact_ids(screen, "due") == [f.contact_id for f in due]
        overdue = sum(f.due_at < NOW for f in due)
        assert screen.query_one("#due").border_subtitle == (
            f"{overdue} overdue · {len(due) - overdue} today"
        )
        assert contact_ids(screen, "touch") == [t.contact_id for t in touch]
        assert screen.query_one("#touch").border_subtitle == f"{len(touch)} due"
        assert screen.query_one(StageBars).counts == tuple(counts)
        assert deal_ids(screen) == [d.id for d in open_deals]
        assert column(screen, "deals", 2) == [str(d.score) for d in open_deals]
        assert len(open_deals) == 20 and open_deals[0].score > open_deals[-1].score
        assert contact_ids(screen, "recent") == [i.contact_id for i in recent]
        assert column(screen, "recent", 2)[0].startswith(recent[0].kind)


@sync
async def test_enter_opens_the_deal_under_the_cursor(demo_db):
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        deals = deal_ids(screen)
        screen.query_one("#deals").focus()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DealScreen)
        assert app.screen.deal_id == deals[1]


@sync
async def test_tab_reaches_each_panel_and_enter_opens_from_it(demo_db):
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert app.focused.id == "due"
        await pilot.press("tab")
        assert app.focused.id == "touch"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == contact_ids(screen, "touch")[0]


@sync
async def test_an_interaction_logged_elsewhere_shows_up(demo_db):
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        quiet = contact_ids(screen, "touch")[0]
        with session_scope(demo_db) as session:  # as `crm log` would
            log_interaction(session, quiet, "call", "caught up at last",
                            at=NOW - timedelta(minutes=5), now=NOW)  # fmt: skip
        app.check_for_changes()
        await settle(app, pilot)
        assert contact_ids(screen, "recent")[0] == quiet
        assert column(screen, "recent", 2)[0] == "call caught up at last"
        assert quiet not in contact_ids(screen, "touch")  # the clock was reset


@sync
async def test_an_empty_database_reads_well(engine):
    app = app_on(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert column(screen, "due", 1) == ["nothing due today"]
        assert column(screen, "deals", 0) == ["no open deals"]
        assert column(screen, "recent", 1) == ["nothing logged yet"]
        assert screen.query_one(StageBars).counts == tuple(
            (stage, 0) for stage in ("awareness", "interest", "decision", "action", "won", "lost")
        )
