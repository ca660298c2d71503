"""Reviewed snapshots of the dashboard, follow-ups, pipeline, reports and
companies screens on seeded demo data with a fixed clock, at 80×24 and
120×40, plus the snooze form with a WHEN typed in, a deal and a company.
Regenerate with --snapshot-update and look at every changed SVG before
accepting it."""

from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope
from minicrm.services.demo.generate import generate_demo
from minicrm.services.followups.cadence import set_cadence
from minicrm.services.scoring.scores import recompute_scores
from minicrm.tui.app import make_app

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SCREENS = {"dashboard": "d", "followups": "f", "pipeline": "p", "reports": "r", "companies": "o"}


@pytest.fixture
def demo_db(engine):
    with session_scope(engine) as session:
        generate_demo(session, contacts=50, seed=7, now=NOW)
        recompute_scores(session, now=NOW)
        for contact_id in range(1, 11):
            set_cadence(session, "30d", ref=str(contact_id), now=NOW)
    return engine


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def showing(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, demo_db, screen, size):
    app = make_app(demo_db, now_provider=lambda: NOW, poll_seconds=0)
    assert snap_compare(app, terminal_size=size, run_before=showing(SCREENS[screen]))


def test_snooze_form_previews_the_date(snap_compare, demo_db):
    app = make_app(demo_db, now_provider=lambda: NOW, poll_seconds=0)
    keys = ["f", "z", *"next", "space", *"friday", "space", *"10am"]
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing(*keys))


def test_lost_reason_form(snap_compare, demo_db):
    app = make_app(demo_db, now_provider=lambda: NOW, poll_seconds=0)
    keys = ["p", "l", "l", "l", "l", "right_square_bracket"]  # the won column's top card
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing(*keys))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_deal_screen(snap_compare, demo_db, size):
    app = make_app(demo_db, now_provider=lambda: NOW, poll_seconds=0)
    keys = ["p", "l", "l", "enter"]  # the decision column's best deal
    assert snap_compare(app, terminal_size=size, run_before=showing(*keys))


def test_company_screen(snap_compare, demo_db):
    app = make_app(demo_db, now_provider=lambda: NOW, poll_seconds=0)
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing("o", "enter"))
