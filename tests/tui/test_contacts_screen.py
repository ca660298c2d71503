"""The contacts screen driven with a pilot over a real demo database."""

import asyncio

from sqlalchemy import select

from minicrm.db import make_engine, session_scope
from minicrm.models import Contact
from minicrm.services.contacts import paging
from minicrm.services.contacts.editing import ContactInput, add_contact, update_contact
from minicrm.services.followups.interactions import log_interaction
from minicrm.text import fold
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.contacts import ContactsScreen
from minicrm.tui.screens.forms import KeysScreen
from minicrm.tui.widgets.contact_table import ContactTable


def table_ids(app) -> list[int]:
    table = app.screen.query_one(ContactTable)
    return [row.id for row in table.loaded_rows]


def service_order(engine, **query) -> list[int]:
    with session_scope(engine, write=False) as session:
        page = paging.contacts_page(session, limit=10_000, **query)
    return [row.id for row in page.rows]


async def open_contact(app, pilot, settle, contact_id: int) -> ContactScreen:
    await settle(pilot)
    await app.push_screen(ContactScreen(contact_id))
    await settle(pilot)
    return app.screen


def status(app) -> str:
    return str(app.screen.query_one("#contacts-status").render())


def test_opens_with_every_contact_in_name_order(make_tui, demo_engine, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ContactsScreen)
            assert table_ids(app) == service_order(demo_engine)
            assert len(table_ids(app)) == 50
            assert "50 contacts" in status(app) and "sorted by name ▲" in status(app)
            table = app.screen.query_one(ContactTable)
            first = table.loaded_rows[0]
            assert table.get_row_at(0)[0].plain == first.name

    asyncio.run(scenario())


def test_typing_a_persian_fragment_filters_as_you_type(make_tui, demo_engine, settle):
    with session_scope(demo_engine, write=False) as session:
        persian = (
            session.execute(select(Contact.name).where(Contact.name_folded.contains("رضا")))
            .scalars()
            .all()
        )
    assert persian, "the demo data has Persian names"

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("slash")
            assert app.focused.id == "filter"
            await pilot.press(*"رضا")
            await settle(pilot)
            shown = app.screen.query_one(ContactTable).loaded_rows
            assert {row.name for row in shown} >= set(persian)
            assert all(
                "رضا" in fold(row.name) or row.id in service_order(demo_engine, filter_text="رضا")
                for row in shown
            )
            assert [row.id for row in shown] == service_order(demo_engine, filter_text="رضا")
            noun = "contact" if len(shown) == 1 else "contacts"
            assert f"{len(shown)} {noun} matching 'رضا'" in status(app)
            # Enter goes to the table, Escape there clears the filter.
            await pilot.press("enter")
            assert isinstance(app.focused, ContactTable)
            await pilot.press("escape")
            await settle(pilot)
            assert len(table_ids(app)) == 50

    asyncio.run(scenario())


def test_a_filter_matching_nobody_shows_an_empty_table(make_tui, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("slash", *"qqqzzz")
            await settle(pilot)
            assert table_ids(app) == []
            assert "0 contacts matching 'qqqzzz'" in status(app)
            await pilot.press("enter", "enter")  # nothing to open: no crash, no screen
            assert isinstance(app.screen, ContactsScreen)

    asyncio.run(scenario())


def test_sort_keys_cycle_columns_and_reverse(make_tui, demo_engine, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("s")  # name -> company
            await settle(pilot)
            assert table_ids(app) == service_order(demo_engine, sort="company")
            assert "sorted by company ▲" in status(app)
            await pilot.press("S")
            await settle(pilot)
            assert table_ids(app) == service_order(demo_engine, sort="company", descending=True)
            await pilot.press("s", "s")  # stage, then score (best first)
            await settle(pilot)
            assert table_ids(app) == service_order(demo_engine, sort="score", descending=True)
            table = app.screen.query_one(ContactTable)
            assert str(table.columns["score"].label) == "Score ▼"

    asyncio.run(scenario())


def test_clicking_a_header_sorts_by_it_and_again_reverses(make_tui, demo_engine, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            table = app.screen.query_one(ContactTable)
            x = 0
            for key, column in table.columns.items():
                if key.value == "owner":
                    break
                x += column.get_render_width(table)
            await pilot.click(ContactTable, offset=(x + 2, 0))
            await settle(pilot)
            assert table_ids(app) == service_order(demo_engine, sort="owner")
            await pilot.click(ContactTable, offset=(x + 2, 0))
            await settle(pilot)
            assert table_ids(app) == service_order(demo_engine, sort="owner", descending=True)

    asyncio.run(scenario())


def test_rows_arrive_a_page_at_a_time_as_the_cursor_moves(
    make_tui, demo_engine, settle, monkeypatch
):
    from minicrm.tui.screens import contacts
    from minicrm.tui.widgets import contact_table

    monkeypatch.setattr(contacts, "PAGE_SIZE", 12)
    monkeypatch.setattr(contact_table, "FETCH_AHEAD", 3)

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert len(table_ids(app)) == 12  # one page, not the whole table
            assert "12 loaded" in status(app) and "50 contacts" in status(app)
            await pilot.press("end")  # the cursor nears the end: the next page comes
            await settle(pilot)
            assert len(table_ids(app)) == 24
            for _ in range(5):
                await pilot.press("end")
                await settle(pilot)
            assert table_ids(app) == service_order(demo_engine)  # all, once, in order
            assert not app.screen.query_one(ContactTable).has_more

    asyncio.run(scenario())


def test_enter_opens_the_contact_under_the_cursor(make_tui, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("down", "down", "enter")
            await settle(pilot)
            assert isinstance(app.screen, ContactScreen)
            third = app.screen_stack[0].query_one(ContactTable).loaded_rows[2]
            assert app.screen.contact_id == third.id
            assert third.name in str(app.screen.query_one("#contact-heading").render())
            await pilot.press("escape")
            assert isinstance(app.screen, ContactsScreen)

    asyncio.run(scenario())


def test_changes_from_another_program_show_after_the_poll(
    make_tui, demo_engine, database_url, settle
):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            cli = make_engine(database_url)  # what `crm add` would do, elsewhere
            try:
                with session_scope(cli) as session:
                    new = add_contact(session, ContactInput(name="Aaron Aardvark"), force=True)
                    first = session.execute(select(Contact.id)).scalars().first()
                    update_contact_name(session, first)
            finally:
                cli.dispose()
            assert new.id not in table_ids(app)
            app.check_for_changes()  # the poll the timer runs every 2 s
            await settle(pilot)
            assert table_ids(app)[0] == new.id
            assert "51 contacts" in status(app)

    asyncio.run(scenario())


def update_contact_name(session, contact_id: int) -> None:
    from minicrm.services.contacts.editing import ContactChanges

    update_contact(session, contact_id, ContactChanges(fields={"city": "Elsewhere"}))


def test_the_timer_polls_on_its_own(make_tui, database_url, settle):
    async def scenario():
        app = make_tui(poll_seconds=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            cli = make_engine(database_url)
            try:
                with session_scope(cli) as session:
                    new = add_contact(session, ContactInput(name="Aaron Poll"), force=True)
            finally:
                cli.dispose()
            for _ in range(100):  # bounded: each pause lets the 50 ms timer fire
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
                if new.id in table_ids(app):
                    break
            assert new.id in table_ids(app)

    asyncio.run(scenario())


def test_help_palette_and_quit(make_tui, settle, plain):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            commands = [c.title for c in app.get_system_commands(app.screen)]
            for wanted in ("Filter", "Sort", "Reverse", "Contacts", "Keys", "Quit"):
                assert wanted in commands
            await pilot.press("question_mark")
            assert isinstance(app.screen, KeysScreen)
            keys_text = plain(app.screen.query_one("#keys-list"))
            assert "Filter" in keys_text and "Reverse" in keys_text and "Quit" in keys_text
            await pilot.press("escape")
            assert isinstance(app.screen, ContactsScreen)
            # The palette runs a screen action: reverse the sort.
            await pilot.press("ctrl+p")
            await pilot.press(*"Reverse")
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen.query_state.descending
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert app.return_code == 0

    asyncio.run(scenario())


def test_mode_keys_switch_screens_and_come_back(make_tui, settle):
    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for key, mode in (("d", "dashboard"), ("f", "followups"), ("p", "pipeline")):
                if mode in app.screens_available:
                    await pilot.press(key)
                    await settle(pilot)
                    assert app.current_mode == mode
            await pilot.press("c")
            await settle(pilot)
            assert isinstance(app.screen, ContactsScreen)
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("c")  # already in contacts: back to the list
            assert isinstance(app.screen, ContactsScreen)

    asyncio.run(scenario())


def test_opens_on_the_dashboard_when_it_exists(make_tui, settle):
    async def scenario():
        app = make_tui(start_mode=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            expected = "dashboard" if "dashboard" in app.screens_available else "contacts"
            assert app.current_mode == expected

    asyncio.run(scenario())


# ------------------------------------------ the open contact, changed elsewhere


def test_another_programs_change_shows_on_the_open_contact(
    make_tui, database_url, settle, lead, plain
):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_contact(app, pilot, settle, contact_id)
            other = make_engine(database_url)
            try:
                with session_scope(other) as session:
                    log_interaction(session, contact_id, "sms", "Sent from the shell")
            finally:
                other.dispose()
            app.check_for_changes()
            await settle(pilot)
            timeline = plain(screen.query_one("#contact-timeline"), width=120)
            assert "Sent from the shell" in timeline

    asyncio.run(scenario())


def test_a_contact_deleted_elsewhere_closes_its_screen(make_tui, database_url, settle, lead):
    contact_id, _name = lead

    async def scenario():
        app = make_tui()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_contact(app, pilot, settle, contact_id)
            other = make_engine(database_url)
            try:
                from minicrm.services.contacts.trash import trash_contact

                with session_scope(other) as session:
                    trash_contact(session, contact_id)
            finally:
                other.dispose()
            app.check_for_changes()
            await settle(pilot)
            assert isinstance(app.screen, ContactsScreen)

    asyncio.run(scenario())


def test_crm_tui_opens_the_app_on_the_global_db(db_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from minicrm.commands import root, tui

    cli = typer.Typer()
    cli.callback()(root)  # the real --db option
    tui.register(cli)
    opened = []
    monkeypatch.setattr(
        "minicrm.tui.app.MinicrmApp.run", lambda app: opened.append(str(app.engine.url))
    )
    result = CliRunner().invoke(cli, ["--db", str(db_path), "tui"])
    assert result.exit_code == 0, result.output
    assert opened == [f"sqlite:///{db_path}"]
