"""The Pipeline screen driven with Pilot against a real database: a column
per stage with the best-scored cards, moving the selected card with ] / [
and shift+arrows (focus follows it), lost asking for a reason, focus moving
between columns, and o/enter opening the contact."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from minicrm.db import session_scope
from minicrm.models import Contact, StageChange
from minicrm.services.contacts import ContactInput, add_contact
from minicrm.services.demo import generate_demo
from minicrm.services.scoring import recompute_scores
from minicrm.services.stages import pipeline
from minicrm.tui.app import make_app
from minicrm.tui.screens.contact import ContactScreen
from minicrm.tui.screens.pipeline import LostReasonScreen, PipelineScreen, StageColumn
from tui_support import sync

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SIZE = (120, 40)


@pytest.fixture
def board_db(engine):
    """Two in interest (Ana scores higher: she came by referral), one won."""
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Ana Lima", stage="interest", source="referral",
                                          value="1200"), now=NOW)  # fmt: skip
        add_contact(session, ContactInput(name="Bo Chen", stage="interest", value="300"), now=NOW)
        add_contact(session, ContactInput(name="Wim Claes", stage="won"), now=NOW)
    return engine


def app_on(engine):
    return make_app(engine, now_provider=lambda: NOW, poll_seconds=0)


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_board(app, pilot) -> PipelineScreen:
    await pilot.press("p")
    await settle(app, pilot)
    assert isinstance(app.screen, PipelineScreen)
    return app.screen


def cards(screen, stage: str) -> list[str]:
    return [c.name for c in screen.query_one(f"#stage-{stage}", StageColumn).contacts]


def focused_card(app) -> tuple[str, str]:
    column = app.focused
    assert isinstance(column, StageColumn)
    return column.stage, column.selected().name


def stored(engine, name: str) -> Contact:
    with session_scope(engine, write=False) as session:
        return session.execute(select(Contact).where(Contact.name == name)).scalar_one()


def moves(engine, name: str) -> list[tuple]:
    with session_scope(engine, write=False) as session:
        contact_id = stored(engine, name).id
        rows = session.execute(
            select(StageChange).where(StageChange.contact_id == contact_id).order_by(StageChange.id)
        ).scalars()
        return [(m.from_stage, m.to_stage, m.reason) for m in rows]


@sync
async def test_a_column_per_stage_with_cards_by_score(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        assert [c.stage for c in screen.query(StageColumn)] == [
            "awareness", "interest", "decision", "action", "won", "lost",
        ]  # fmt: skip
        assert cards(screen, "interest") == ["Ana Lima", "Bo Chen"]
        assert cards(screen, "won") == ["Wim Claes"] and cards(screen, "decision") == []
        heading = str(screen.query_one("#heading-interest").content)
        assert heading == "interest\n2 · 1.5k"


@sync
async def test_demo_board_shows_the_top_twenty_of_each_stage(engine):
    with session_scope(engine) as session:
        generate_demo(session, contacts=120, seed=3, now=NOW)
        recompute_scores(session, now=NOW)
        expected = {c.stage: [t.name for t in c.top] for c in pipeline(session, top=20)}
    app = app_on(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        for stage, names in expected.items():
            assert cards(screen, stage) == names
        assert any(len(names) == 20 for names in expected.values())


@pytest.mark.parametrize(("forward", "back"), [("]", "["), ("shift+right", "shift+left")])
@sync
async def test_moving_a_card_to_the_neighbouring_stage(board_db, forward, back):
    keys = {"]": "right_square_bracket", "[": "left_square_bracket"}
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        await pilot.press("right", "down")  # interest, second card: Bo
        assert focused_card(app) == ("interest", "Bo Chen")

        await pilot.press(keys.get(forward, forward))
        await settle(app, pilot)
        assert stored(board_db, "Bo Chen").stage == "decision"
        assert focused_card(app) == ("decision", "Bo Chen")  # focus followed the card
        assert cards(screen, "interest") == ["Ana Lima"]

        await pilot.press(keys.get(back, back))
        await settle(app, pilot)
        assert stored(board_db, "Bo Chen").stage == "interest"
        assert focused_card(app) == ("interest", "Bo Chen")
        assert moves(board_db, "Bo Chen") == [
            (None, "interest", None), ("interest", "decision", None),
            ("decision", "interest", None),
        ]  # fmt: skip


@sync
async def test_the_moved_card_shows_its_new_score(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        before = stored(board_db, "Ana Lima").score
        await pilot.press("right", "right_square_bracket")  # Ana to decision
        await settle(app, pilot)
        ana = screen.query_one("#stage-decision", StageColumn).contacts[0]
        # "close to deciding" (+15) now counts, in the database and on the card
        assert ana.score == stored(board_db, "Ana Lima").score == before + 15


@sync
async def test_lost_asks_for_a_reason_from_the_list(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        await pilot.press("l", "l", "l", "l")  # to the won column: Wim
        assert focused_card(app) == ("won", "Wim Claes")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert isinstance(app.screen, LostReasonScreen)
        assert stored(board_db, "Wim Claes").stage == "won"  # nothing before the reason

        await pilot.press("down", "enter")  # the second reason: no need
        await settle(app, pilot)
        wim = stored(board_db, "Wim Claes")
        assert (wim.stage, wim.lost_reason) == ("lost", "no need")
        assert focused_card(app) == ("lost", "Wim Claes")


@sync
async def test_lost_takes_a_reason_in_the_users_words(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        await pilot.press("right", "right", "right", "right", "right_square_bracket")
        await settle(app, pilot)
        modal = app.screen
        await pilot.press("tab", "enter")  # an empty reason is refused inline
        await settle(app, pilot)
        assert app.screen is modal
        assert str(modal.query_one("#lost-error").content) == "type a reason, or pick one above"

        await pilot.press(*"moved", "space", *"away", "enter")
        await settle(app, pilot)
        assert stored(board_db, "Wim Claes").lost_reason == "moved away"
        assert moves(board_db, "Wim Claes")[-1] == ("won", "lost", "moved away")


@sync
async def test_escape_on_the_reason_moves_nothing(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        await pilot.press("l", "l", "l", "l", "shift+right")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, PipelineScreen)
        assert stored(board_db, "Wim Claes").stage == "won"
        assert focused_card(app) == ("won", "Wim Claes")


@sync
async def test_left_right_h_l_move_focus_and_the_edges_stay_put(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        assert app.focused.stage == "awareness"
        await pilot.press("left")
        assert app.focused.stage == "awareness"
        await pilot.press("l", "right")
        assert app.focused.stage == "decision"
        await pilot.press("h")
        assert focused_card(app) == ("interest", "Ana Lima")
        await pilot.press("left_square_bracket")  # back to awareness works too
        await settle(app, pilot)
        assert stored(board_db, "Ana Lima").stage == "awareness"


@pytest.mark.parametrize("key", ["o", "enter"])
@sync
async def test_o_and_enter_open_the_contact(board_db, key):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        await pilot.press("right", "down", key)
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == stored(board_db, "Bo Chen").id


@sync
async def test_a_move_made_elsewhere_appears(board_db):
    from minicrm.services.stages import move_stage

    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        with session_scope(board_db) as session:  # as `crm stage` would
            move_stage(session, "Bo", "action", now=NOW)
        app.check_for_changes()
        await settle(app, pilot)
        assert cards(screen, "action") == ["Bo Chen"]
        assert cards(screen, "interest") == ["Ana Lima"]
