"""Deals in the TUI, driven with Pilot against a real database: the deal
screen (fields, lines, stage history, s to move, l to add a line), the
contact screen's deals, the companies screen (o) and a company's people and
deals, the dashboard's top open deals, and contacts without any deal."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from minicrm.db import session_scope
from minicrm.models import Contact, Deal, StageChange
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.deals.deals import DealInput, add_deal
from minicrm.services.deals.products import add_product
from minicrm.tui.app import make_app
from minicrm.tui.screens.companies import CompaniesScreen, CompanyScreen
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.deal import DealScreen
from minicrm.tui.screens.forms import LineForm, StageForm
from minicrm.tui.widgets.cards import FitTable
from tui_support import sync

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SIZE = (100, 40)


@pytest.fixture
def deals_db(engine):
    """Acme: Ana (her first deal, plus a renewal with a line) and Bo; Globex:
    Cy; Dee has no deal at all."""
    with session_scope(engine) as session:
        add_product(session, "Widget", price="10", now=NOW)
        add_contact(session, ContactInput(name="Ana Lima", company="Acme", title="Buyer",
                                          stage="interest", value="1200"), now=NOW)  # fmt: skip
        add_contact(session, ContactInput(name="Bo Chen", company="Acme", stage="awareness"),
                    now=NOW)  # fmt: skip
        add_contact(session, ContactInput(name="Cy Ode", company="Globex Industrie",
                                          stage="decision", value="9000"), now=NOW)  # fmt: skip
        add_contact(session, ContactInput(name="Dee Nodeal", no_deal=True), now=NOW)
        add_deal(session, DealInput(contact="Ana", title="Renewal 2026", stage="decision",
                                    close="2026-04-30", owner="sam", source="referral",
                                    notes="wants a discount", lines=["Widget x 3 -10%"]),
                 now=NOW)  # fmt: skip
    return engine


def app_on(engine, start_mode="dashboard"):
    return make_app(engine, now_provider=lambda: NOW, poll_seconds=0, start_mode=start_mode)


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def deal_id(engine, title: str) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(Deal.id).where(Deal.title == title)).scalar_one()


def stored_deal(engine, title: str) -> Deal:
    with session_scope(engine, write=False) as session:
        return session.execute(select(Deal).where(Deal.title == title)).scalar_one()


def contact_row(engine, name: str) -> Contact:
    with session_scope(engine, write=False) as session:
        return session.execute(select(Contact).where(Contact.name == name)).scalar_one()


def text_of(app, selector: str, plain) -> str:
    return plain(app.screen.query_one(selector))


def table_cells(table: FitTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def open_deal(app, pilot, the_id: int) -> DealScreen:
    app.push_screen(DealScreen(the_id))
    await settle(app, pilot)
    assert isinstance(app.screen, DealScreen)
    for _ in range(50):  # its deal loaded (the day's first read may recompute scores first)
        if app.screen.view is not None:
            break
        await settle(app, pilot)
    assert app.screen.view is not None
    return app.screen


# ------------------------------------------------------------ deal screen


@sync
async def test_the_deal_screen_shows_fields_lines_and_history(deals_db, plain):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(app, pilot, deal_id(deals_db, "Renewal 2026"))
        heading = text_of(app, "#deal-heading", plain)
        assert "Renewal 2026 · decision · score" in heading
        fields = text_of(app, "#deal-fields", plain)
        for label, value in [
            ("Contact", "Ana Lima"), ("Company", "Acme"), ("Stage", "decision"),
            ("Value", "27 USD"), ("Expected close", "2026-04-30"), ("Owner", "sam"),
            ("Source", "referral"),
        ]:  # fmt: skip
            assert any(line.split() == [*label.split(), *value.split()]
                       for line in fields.splitlines()), (label, fields)  # fmt: skip
        assert "wants a discount" in fields
        lines = text_of(app, "#deal-lines", plain).splitlines()
        assert lines[1].split() == ["Product", "Qty", "Unit", "price", "Disc.", "Total"]
        assert lines[2].split() == ["Widget", "3", "10", "10%", "27"]
        assert lines[3].split() == ["total", "27"]
        history = text_of(app, "#deal-history", plain)
        assert "created in decision" in history


@sync
async def test_s_moves_the_deal_and_its_contact_follows(deals_db, plain):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        the_id = deal_id(deals_db, "Renewal 2026")
        screen = await open_deal(app, pilot, the_id)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, StageForm)
        assert app.screen.field("stage").value == "action"  # the next stage is offered
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        assert stored_deal(deals_db, "Renewal 2026").stage == "action"
        # Ana's first deal (interest) is still open: her copy is the newest open deal
        assert contact_row(deals_db, "Ana Lima").stage == "action"
        assert "decision → action" in text_of(app, "#deal-history", plain)
        assert screen.view.deal.stage == "action"


@sync
async def test_moving_a_deal_to_lost_needs_a_reason(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(app, pilot, deal_id(deals_db, "Renewal 2026"))
        await pilot.press("s")
        await settle(app, pilot)
        form = app.screen
        form.field("stage").control.value = "lost"
        await settle(app, pilot)
        assert form.field("reason").display
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form  # refused: nothing saved
        assert "needs a reason" in str(form.field("reason").query_one(".field-error").content)
        assert stored_deal(deals_db, "Renewal 2026").stage == "decision"

        form.field("reason").control.value = "no budget"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        deal = stored_deal(deals_db, "Renewal 2026")
        assert (deal.stage, deal.lost_reason) == ("lost", "no budget")
        with session_scope(deals_db, write=False) as session:
            last = session.execute(
                select(StageChange).where(StageChange.deal_id == deal.id)
                .order_by(StageChange.id.desc())
            ).scalars().first()  # fmt: skip
            moved = (last.from_stage, last.to_stage, last.reason)
        assert moved == ("decision", "lost", "no budget")


@sync
async def test_l_adds_a_line_and_a_bad_one_is_explained(deals_db, plain):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deal(app, pilot, deal_id(deals_db, "Renewal 2026"))
        await pilot.press("l")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, LineForm)
        await pilot.press(*"Gadget x 2")  # no such product, and no price
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is form
        error = str(form.field("spec").query_one(".field-error").content)
        assert "no product 'Gadget'" in error and "Widget" in error

        form.field("spec").control.value = "widget x 2 @ 7.50"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        lines = text_of(app, "#deal-lines", plain).splitlines()
        assert lines[3].split() == ["Widget", "2", "7.50", "15"]
        assert lines[4].split() == ["total", "42"]
        assert stored_deal(deals_db, "Renewal 2026").value_cents == 4200


@sync
async def test_escape_goes_back(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        under = app.screen
        await open_deal(app, pilot, deal_id(deals_db, "Cy Ode"))
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is under


# ------------------------------------------------------- contact's deals


@sync
async def test_the_contact_lists_its_deals_and_enter_opens_one(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ContactScreen(contact_row(deals_db, "Ana Lima").id))
        await settle(app, pilot)
        table = app.screen.query_one("#contact-deals", FitTable)
        rows = table_cells(table)
        assert [r[0] for r in rows] == ["Renewal 2026", "Ana Lima"]  # newest open first
        assert rows[0][1:] == ["decision", "27", "2026-04-30"]
        assert rows[1][1:] == ["interest", "1.2k", "–"]
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DealScreen)
        assert app.screen.deal_id == deal_id(deals_db, "Renewal 2026")


@sync
async def test_a_contact_without_deals_shows_dashes(deals_db, plain):
    app = app_on(deals_db, start_mode="contacts")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#contacts")
        columns = [str(c.label).strip().lower() for c in table.columns.values()]
        row = next(r for r in table_cells(table) if r[0] == "Dee Nodeal")
        assert row[columns.index("stage")] == "–"
        assert row[columns.index("score")].strip() == "–"

        app.push_screen(ContactScreen(contact_row(deals_db, "Dee Nodeal").id))
        await settle(app, pilot)
        assert text_of(app, "#contact-heading", plain).split("·")[1:] == [" – ", " score –\n"]
        assert table_cells(app.screen.query_one("#contact-deals", FitTable))[0][0] == "no deals yet"


# ------------------------------------------------------------ companies


@sync
async def test_o_shows_companies_and_filters_as_you_type(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, CompaniesScreen)
        table = app.screen.query_one("#companies", FitTable)
        assert [r[0] for r in table_cells(table)] == ["Acme", "Globex Industrie"]
        assert [r[3:] for r in table_cells(table)] == [["2", "3"], ["1", "1"]]

        await pilot.press("slash", *"glob")
        await settle(app, pilot)
        assert [r[0] for r in table_cells(table)] == ["Globex Industrie"]
        await pilot.press(*"zz")
        await settle(app, pilot)
        assert table_cells(table)[0][0] == "no companies"
        await pilot.press("escape", "escape")  # leave the box, then clear it
        await settle(app, pilot)
        assert len(table_cells(table)) == 2


@sync
async def test_a_company_shows_its_people_and_deals(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await settle(app, pilot)
        await pilot.press("enter")  # Acme
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CompanyScreen)
        people = screen.query_one("#company-people", FitTable)
        assert [r[:3] for r in table_cells(people)] == [
            ["Ana Lima", "Buyer", "decision"], ["Bo Chen", "–", "awareness"],
        ]  # fmt: skip
        deals = screen.query_one("#company-deals", FitTable)
        assert sorted(r[0] for r in table_cells(deals)) == ["Ana Lima", "Bo Chen", "Renewal 2026"]

        deals.focus()
        await pilot.press("enter")  # the soonest close first: the renewal
        await settle(app, pilot)
        assert isinstance(app.screen, DealScreen)
        assert app.screen.view.deal.title == "Renewal 2026"
        await pilot.press("escape")
        await settle(app, pilot)
        people.focus()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == contact_row(deals_db, "Bo Chen").id


# ------------------------------------------------------------ dashboard


@sync
async def test_the_dashboard_shows_top_open_deals_and_enter_opens_one(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=(140, 40)) as pilot:  # room for every title in full
        await settle(app, pilot)
        table = app.screen.query_one("#deals", FitTable)
        assert table.border_title == "Top open deals"
        rows = table_cells(table)
        assert {r[0] for r in rows} == {
            "Ana Lima", "Bo Chen", "Cy Ode", "Renewal 2026 · Ana Lima",
        }  # fmt: skip
        scores = [int(r[2]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        assert next(r for r in rows if r[0] == "Cy Ode")[1] == "9k"
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DealScreen)
        assert app.screen.view.deal.title == rows[0][0].split(" · ")[0]


@sync
async def test_companies_is_in_the_footer_and_the_palette(deals_db):
    app = app_on(deals_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Companies" in titles
        keys = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values()}
        assert keys["o"] == "Companies"
