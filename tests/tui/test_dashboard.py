"""The Dashboard driven with Pilot on demo data: due follow-ups, who is due
to get in touch, the funnel bars, the top open deals and recent activity
match the services; enter opens the contact (or deal) under the cursor; the
dashboard follows changes made elsewhere. Then the panels at 80×24 and
100×30 with long Persian and Greek names and a long note: columns take the
room their panel has, dates are short and whole, counts count everything."""

from datetime import UTC, datetime, timedelta

import pytest

from minicrm.db import session_scope
from minicrm.models import LOST, WON
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.deals.deals import DealInput, add_deal
from minicrm.services.deals.stages import pipeline
from minicrm.services.demo.generate import generate_demo
from minicrm.services.followups.cadence import due_to_get_in_touch, set_cadence
from minicrm.services.followups.followups import add_followup, list_followups
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.funnel.activity import recent_interactions
from minicrm.services.scoring.scores import recompute_scores
from minicrm.tui.app import make_app
from minicrm.tui.data import DASHBOARD_ROWS
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.dashboard import DashboardScreen, contact_of_row
from minicrm.tui.screens.deal import DealScreen
from minicrm.tui.widgets.bars import StageBars
from minicrm.tui.widgets.cards import (
    MIN_CUT,
    Column,
    FitTable,
    late_label,
    share_room,
    short_when,
)
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


@pytest.mark.parametrize("size", [(80, 24), (100, 30), SIZE], ids=["80x24", "100x30", "120x40"])
@sync
async def test_an_empty_database_reads_well(engine, size):
    """Each panel's "nothing here" sentence whole, at every size."""
    app = app_on(engine)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert column(screen, "due", 1) == ["nothing due today"]
        assert column(screen, "deals", 0) == ["no open deals"]
        assert column(screen, "recent", 1) == ["nothing logged yet"]
        assert column(screen, "touch", 0) == ["no one waiting"]
        assert screen.query_one(StageBars).counts == tuple(
            (stage, 0) for stage in ("awareness", "interest", "decision", "action", "won", "lost")
        )


# ------------------------------------------------- long names, short room

MORNING = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # a Tuesday
PERSIAN = "محمدرضا نیک\u200cپور شاهرخ\u200cآبادی"  # two ZERO WIDTH NON-JOINERs
GREEK = "Αλέξανδρος Παπαδοπουλόπουλος-Καραγιαννόπουλος"
CHINESE = "王小明"
NOTE_60 = "Send the signed contract and confirm the delivery dates, ok?"


def long_names_db(engine):
    """Four contacts, two with very long names, a follow-up 3 days late, two
    due today (one with a 60-character note), a week of activity, two quiet
    contacts with a cadence, and a deal with a long title."""
    month_ago = MORNING - timedelta(days=30)
    with session_scope(engine) as session:
        people = [
            add_contact(session, ContactInput(name=name, company=company, stage=stage,
                                              value=value), force=True, now=month_ago).id
            for name, company, stage, value in [
                (PERSIAN, "بازرگانی نیک\u200cپور", "decision", "12500"),
                (GREEK, "Ελληνικά Τρόφιμα", "interest", "9800"),
                (CHINESE, "北京贸易公司", "awareness", "3000"),
                ("Ann Lee", None, "action", "450"),
            ]
        ]  # fmt: skip
        persian, greek, chinese, ann = people
        spring = DealInput(contact=str(greek), title="Spring order: olive oil for 12 shops",
                           stage="decision", value="22000")  # fmt: skip
        add_deal(session, spring, now=month_ago)
        for who, due, note in [
            (persian, MORNING - timedelta(days=3), "Call back about the overdue invoice"),
            (chinese, MORNING.replace(hour=8, minute=0), "Tea samples"),
            (greek, MORNING.replace(hour=14, minute=0), NOTE_60),
            (ann, MORNING.replace(hour=16, minute=30), None),
        ]:
            add_followup(session, who, due, note, now=month_ago)
        for who, kind, summary, ago in [
            (greek, "call", "Asked about delivery dates for the spring order", timedelta(days=20)),
            (ann, "purchase", "Saffron, 4 jars", timedelta(days=10)),
            (persian, "meeting", "Showed the new catalogue to the purchasing team",
             timedelta(hours=16)),
            (chinese, "email", "Sent the price list", timedelta(hours=1)),
        ]:  # fmt: skip
            amount = "120" if kind == "purchase" else None
            log_interaction(session, who, kind, summary, at=MORNING - ago, amount=amount,
                            now=MORNING)  # fmt: skip
        set_cadence(session, "14d", ref=str(greek), now=MORNING)
        set_cadence(session, "7d", ref=str(ann), now=MORNING)
        recompute_scores(session, now=MORNING)
    return engine


def render_widths(table: FitTable) -> int:
    return sum(c.get_render_width(table) for c in table.columns.values())


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
@sync
async def test_columns_take_the_room_their_panel_has(engine, size):
    """No panel cuts a cell while it leaves room unused; dates and figures
    are never cut; a name or note is cut only when the columns beside it are
    at least as wide."""
    app = make_app(long_names_db(engine), now_provider=lambda: MORNING, poll_seconds=0)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for table in app.screen.query(FitTable):
            columns = list(table.columns.values())
            widths = [c.width for c in columns]
            cut = {
                i for i in range(len(columns)) for key, cells in table._rows
                if cells[i].cell_len > widths[i]
            }  # fmt: skip
            if cut:
                room = table.size.width - table.styles.scrollbar_size_vertical
                assert render_widths(table) == room, table.id
            for i in cut:
                assert table.spec[i].cut, (table.id, i)
                assert all(widths[i] >= w for j, w in enumerate(widths) if j in cut), table.id
                for j in set(range(len(columns))) - cut:  # the others have no room to spare
                    assert widths[j] == max(
                        [
                            columns[j].label.cell_len,
                            *(cells[j].cell_len for _k, cells in table._rows),
                        ]
                    ), (table.id, j)


@sync
async def test_dates_are_short_and_the_long_note_is_shown_as_far_as_room_allows(engine):
    app = make_app(long_names_db(engine), now_provider=lambda: MORNING, poll_seconds=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert column(screen, "due", 0) == ["3d late", "today 08:00", "today 14:00", "today 16:30"]
        assert column(screen, "recent", 0) == ["today 08:30", "Mon 17:30", "Feb 28", "Feb 18"]
        due = screen.query_one("#due", FitTable)
        note = column(screen, "due", 2)[2]
        assert note.endswith("…") and NOTE_60.startswith(note[:-1])
        assert len(note) >= 20  # was ~10 beside empty room
        assert column(screen, "due", 1)[1] == CHINESE  # short names stay whole
        assert render_widths(due) == due.size.width - 1  # the whole panel, bar the scrollbar
        assert screen.query_one("#due").border_subtitle == "2 overdue · 2 today"
        assert column(screen, "touch", 1) == ["20d ago", "10d ago"]


@sync
async def test_a_capped_list_says_how_many_there_are(engine):
    """Counts count every follow-up; the list shows the first DASHBOARD_ROWS."""
    with session_scope(engine) as session:
        who = add_contact(session, ContactInput(name="Busy Person"), now=MORNING).id
        for hour in range(DASHBOARD_ROWS + 10):
            add_followup(session, who, MORNING - timedelta(hours=hour + 1), f"late {hour}",
                         now=MORNING - timedelta(days=30))  # fmt: skip
        add_followup(session, who, MORNING + timedelta(hours=2), "today", now=MORNING)
    app = make_app(engine, now_provider=lambda: MORNING, poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        due = app.screen.query_one("#due", FitTable)
        assert (
            due.border_subtitle
            == f"showing {DASHBOARD_ROWS} of {DASHBOARD_ROWS + 10} overdue · 1 today"
        )
        assert due.row_count == DASHBOARD_ROWS + 1


# ----------------------------------------------------- labels and widths


def test_short_when_and_late_label_fit_a_narrow_column():
    now = MORNING
    assert short_when(now.replace(hour=14, minute=0), now, UTC) == "today 14:00"
    assert short_when(now - timedelta(days=1), now, UTC) == "Mon 09:30"
    assert short_when(now + timedelta(days=3), now, UTC) == "Fri 09:30"
    assert short_when(now - timedelta(days=7), now, UTC) == "Mar 03"
    assert short_when(now - timedelta(days=400), now, UTC) == "2025-02-03"
    assert late_label(now - timedelta(days=3), now, UTC) == "3d late"
    assert late_label(now.replace(hour=0, minute=5) - timedelta(minutes=10), now, UTC) == "1d late"
    assert late_label(now.replace(hour=8, minute=0), now, UTC) == "today 08:00"  # late, but today


def test_plain_columns_still_share_the_room_equally():
    """The older (label, width) columns: fixed keep theirs, the others split the rest."""
    columns = [Column.of(("When", 16)), Column.of(("Contact", None)), Column.of(("Note", None))]
    assert share_room(columns, [None, None, None], 51) == [16, 18, 17]
    assert share_room(columns, [None, None, None], 10) == [16, MIN_CUT, MIN_CUT]


def test_fitted_columns_cut_the_longest_first_and_give_the_rest_to_growing_ones():
    when = Column("When", fit=True, cut=False)
    name, note = Column("Contact", fit=True), Column("Note", fit=True, grow=True)
    assert share_room([when, name, note], [11, 7, 60], 40) == [
        11,
        7,
        22,
    ]  # a short name stays whole
    assert share_room([when, name, note], [11, 45, 60], 40) == [11, 15, 14]
    assert share_room([when, name, note], [11, 7, 12], 40) == [11, 7, 22]  # slack to the note
    assert share_room([when, name, note], [11, 45, 60], 15) == [11, MIN_CUT, MIN_CUT]
