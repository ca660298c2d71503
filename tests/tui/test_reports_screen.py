"""The Reports screen driven with Pilot on demo data: the funnel's chart,
per-stage figures and headline figures match funnel_report, and the
breakdown (b, or the Select) reruns the report per owner, source, industry
or region."""

from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.demo.generate import generate_demo
from minicrm.services.funnel.funnel import funnel_report
from minicrm.tui.app import make_app
from minicrm.tui.screens.reports import ReportsScreen
from minicrm.tui.widgets.bars import StageBars
from minicrm.tui.widgets.cards import FitTable, money, rate
from tui_support import sync

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SIZE = (120, 40)


@pytest.fixture
def demo_db(engine):
    with session_scope(engine) as session:
        generate_demo(session, contacts=50, seed=7, now=NOW)
    return engine


def expected(engine, by=None):
    with session_scope(engine, write=False) as session:
        return funnel_report(session, by=by, now=NOW)


def app_on(engine):
    return make_app(engine, now_provider=lambda: NOW, poll_seconds=0)


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_reports(app, pilot) -> ReportsScreen:
    await pilot.press("r")
    await settle(app, pilot)
    assert isinstance(app.screen, ReportsScreen)
    return app.screen


def table_rows(table: FitTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@sync
async def test_the_funnel_with_chart_figures_and_summary(demo_db):
    report = expected(demo_db).figures
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reports(app, pilot)
        bars = screen.query_one(StageBars)
        assert bars.counts == tuple((s.stage, s.current) for s in report.stages)
        rows = table_rows(screen.query_one("#report FitTable", FitTable))
        assert [r[0] for r in rows] == [s.stage for s in report.stages]
        awareness = report.stages[0]
        assert rows[0][1:5] == [
            str(awareness.current), money(awareness.value_cents), str(awareness.reached),
            rate(awareness.conversion_to_next),
        ]  # fmt: skip
        summary = str(screen.query_one(".summary").content)
        assert f"Win rate: {rate(report.win_rate)}" in summary
        assert f"Forecast: {money(report.forecast_cents)}" in summary
        for reason, count in report.lost_reasons.items():
            assert f"{reason} {count} (" in summary
        status = str(screen.query_one("#report-status").content)
        assert status == f"{sum(s.current for s in report.stages)} contacts · values in USD"


@sync
async def test_b_cycles_the_breakdown_and_reruns_the_report(demo_db):
    by_owner = expected(demo_db, "owner")
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reports(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        assert screen.query_one("#breakdown").value == "owner"
        comparison = screen.query_one(".comparison FitTable", FitTable)
        rows = table_rows(comparison)
        assert [r[0] for r in rows] == list(by_owner.groups)
        first = next(iter(by_owner.groups.values()))
        assert rows[0][2:5] == [str(first.won), str(first.lost), rate(first.win_rate)]
        titles = [str(t.content) for t in screen.query(".group-title")]
        assert titles[0] == "By owner" and titles[1].startswith(f"owner: {rows[0][0]} (")
        assert len(screen.query(StageBars)) == len(by_owner.groups)

        await pilot.press("b", "b", "b")
        await settle(app, pilot)
        assert screen.query_one("#breakdown").value == "region"
        by_region = expected(demo_db, "region")
        assert [r[0] for r in table_rows(screen.query_one(".comparison FitTable"))] == list(
            by_region.groups
        )
        from minicrm.tui.screens.reports import BREAKDOWNS

        assert BREAKDOWNS[-2:] == ("product", "company")  # the deal-era breakdowns follow
        for _ in BREAKDOWNS[BREAKDOWNS.index("region") + 1 :]:
            await pilot.press("b")
            await settle(app, pilot)
        assert screen.query_one("#breakdown").value == "company"
        await pilot.press("b")  # and round to no breakdown
        await settle(app, pilot)
        assert not screen.query(".comparison") and len(screen.query(StageBars)) == 1


@sync
async def test_the_select_chooses_a_breakdown(demo_db):
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reports(app, pilot)
        screen.query_one("#breakdown").focus()
        await pilot.press("enter")  # open the list
        await pilot.press("down", "down", "down", "enter")  # none, owner, source, industry
        await settle(app, pilot)
        assert screen.by == "industry"
        rows = table_rows(screen.query_one(".comparison FitTable"))
        assert [r[0] for r in rows] == list(expected(demo_db, "industry").groups)


@sync
async def test_the_report_follows_changes_made_elsewhere(demo_db):
    app = app_on(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reports(app, pilot)
        before = dict(screen.query_one(StageBars).counts)
        with session_scope(demo_db) as session:  # as `crm add` would
            add_contact(session, ContactInput(name="New Lead", stage="action"), now=NOW)
        app.check_for_changes()
        await settle(app, pilot)
        after = dict(screen.query_one(StageBars).counts)
        assert after["action"] == before["action"] + 1


@sync
async def test_an_empty_database_says_so(engine):
    app = app_on(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reports(app, pilot)
        rows = table_rows(screen.query_one("#report FitTable", FitTable))
        assert [r[1] for r in rows] == ["0"] * 6
        assert "Win rate: –" in str(screen.query_one(".summary").content)
