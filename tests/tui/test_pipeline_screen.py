"""The Pipeline screen driven with Pilot against a real database: a column
per stage with the best-scored cards, moving the selected card with ] / [
and shift+arrows (focus follows it), lost asking for a reason, focus moving
between columns, and enter opening the deal. Cards are deals: a contact
added with a stage gets one deal titled with its name."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from minicrm.db import session_scope
from minicrm.models import Contact, Deal, DealRead, StageChange
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.deals.stages import pipeline
from minicrm.services.scoring.scores import recompute_scores
from minicrm.tui.app import make_app
from minicrm.tui.screens.deal import DealScreen
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
    return [d.title for d in screen.query_one(f"#stage-{stage}", StageColumn).deals]


def focused_card(app) -> tuple[str, str]:
    column = app.focused
    assert isinstance(column, StageColumn)
    return column.stage, column.selected().title


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
    from minicrm.services.demo.generate import generate_demo

    with session_scope(engine) as session:
        generate_demo(session, contacts=120, seed=3, now=NOW)
        recompute_scores(session, now=NOW)
        expected = {c.stage: [t.title for t in c.top] for c in pipeline(session, top=20)}
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
        ana = screen.query_one("#stage-decision", StageColumn).deals[0]
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


@sync
async def test_enter_opens_the_deal(board_db):
    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_board(app, pilot)
        await pilot.press("right", "down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DealScreen)
        with session_scope(board_db, write=False) as session:
            bo_deal = session.execute(select(Deal.id).where(Deal.title == "Bo Chen")).scalar_one()
        assert app.screen.deal_id == bo_deal
        assert app.screen.view.deal.title == "Bo Chen"


@sync
async def test_a_card_shows_title_company_value_score_and_close_date(engine):
    from minicrm.services.deals.deals import DealInput, add_deal

    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Ana Lima", company="Acme", no_deal=True), now=NOW)
        add_deal(session, DealInput(contact="Ana", title="Fit-out", stage="decision",
                                    value="12500", close="2026-04-30"), now=NOW)  # fmt: skip
        add_deal(session, DealInput(title="Walk-in", stage="decision"), now=NOW)
    app = app_on(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        column = screen.query_one("#stage-decision", StageColumn)
        shown = [str(option.prompt).split("\n") for option in column.options]
        score = column.deals[0].score
        # 120 columns leave 18 cells a card: the close date takes a line of its own
        assert shown[0] == ["Fit-out", "Acme", f"12.5k ★{score}", "2026-04-30"]
        assert shown[1] == ["Walk-in", "–", f"– ★{column.deals[1].score}"]


@sync
async def test_a_move_made_elsewhere_appears(board_db):
    from minicrm.services.deals.stages import move_stage

    app = app_on(board_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        with session_scope(board_db) as session:  # as `crm stage` would
            move_stage(session, "Bo", "action", now=NOW)
        app.check_for_changes()
        await settle(app, pilot)
        assert cards(screen, "action") == ["Bo Chen"]
        assert cards(screen, "interest") == ["Ana Lima"]


def test_the_close_date_shares_the_figures_line_when_it_fits():
    from minicrm.tui.widgets.cards import deal_card

    deal = DealRead(
        id=1, title="Fit-out", company="Acme", stage="decision", value_cents=1_250_000,
        expected_close=date(2026, 4, 30), score=15, stage_entered_at=NOW, created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    assert str(deal_card(deal, 20)).split("\n") == ["Fit-out", "Acme", "12.5k ★15 2026-04-30"]
    assert str(deal_card(deal, 19)).split("\n") == ["Fit-out", "Acme", "12.5k ★15", "2026-04-30"]
    assert str(deal_card(deal, 6)).split("\n") == ["Fit-o…", "Acme", "12.5k…", "2026-…"]
