"""The pipeline board: a column per stage with the best-scored deals as
cards; keys move the selected deal to the neighbouring stage, enter opens it."""

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from minicrm.errors import CrmError
from minicrm.models import LOST, DealRead
from minicrm.services.deals.stages import LOST_REASONS, PipelineColumn
from minicrm.tui.deal_data import move_deal
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.cards import deal_card, short_money
from minicrm.tui.workers import Board, load_board


class StageColumn(OptionList):
    """One stage's cards; the option ids are deal ids. Its heading sits
    above it (a border title would cut stage names short at 80 columns)."""

    def __init__(self, stage: str) -> None:
        super().__init__(id=f"stage-{stage}", classes="stage-cards")
        self.stage = stage
        self.deals: list[DealRead] = []
        self._width = 0

    def show(self, deals: list[DealRead]) -> None:
        kept = self.highlighted
        self.deals = deals
        self._width = self.scrollable_content_region.width
        self.set_options(Option(deal_card(d, self._width), id=str(d.id)) for d in deals)
        if deals:
            self.highlighted = min(kept or 0, len(deals) - 1)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self.show(self.deals)

    # The heading shows which column has focus (:focus-within did not
    # restyle it reliably).
    def on_focus(self) -> None:
        self.parent.add_class("-current")

    def on_blur(self) -> None:
        self.parent.remove_class("-current")

    def selected(self) -> DealRead | None:
        if self.highlighted is None or not self.deals:
            return None
        return self.deals[self.highlighted]


def stage_heading(column: PipelineColumn, shown: int) -> Text:
    heading = Text(column.stage, style="bold", no_wrap=True, overflow="ellipsis")
    more = f" top {shown}" if column.count > shown else ""
    heading.append(f"\n{column.count:,} · {short_money(column.value_cents)}{more}", style="")
    return heading


class PipelineScreen(CrmScreen):
    TITLE = "Pipeline"
    BINDINGS = [
        Binding("left,h", "focus_column(-1)", "Stage ←", show=False),
        Binding("right,l", "focus_column(1)", "Stage →", show=False),
        Binding("shift+left,left_square_bracket", "move(-1)", "Move ←", key_display="["),
        Binding("shift+right,right_square_bracket", "move(1)", "Move →", key_display="]"),
        Binding("enter", "open_deal", "Open"),
    ]
    DEFAULT_CSS = """
    PipelineScreen #board { height: 1fr; }
    PipelineScreen .stage-column { width: 1fr; height: 1fr; margin: 0 0 0 1; }
    PipelineScreen .stage-heading {
        height: 2; padding: 0 1; background: $panel; color: $text-muted;
    }
    PipelineScreen .stage-column.-current > .stage-heading {
        background: $primary; color: $text;
    }
    PipelineScreen .stage-cards {
        height: 1fr; border: none; padding: 0; scrollbar-size-vertical: 1;
    }
    PipelineScreen #board-empty { color: $text-muted; padding: 1 2; }
    """

    @dataclass
    class Loaded(Message):
        generation: int
        board: Board

    @dataclass
    class Moved(Message):
        deal: DealRead

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self._follow: DealRead | None = None  # the card focus goes to after a move
        self._moving = False
        self.stages: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("Pipeline", id="screen-title")
        yield Horizontal(Static("loading…", id="board-empty"), id="board")
        yield Footer()

    # ------------------------------------------------------------- loading

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        self.load(self._generation, self.app.engine)

    @work(thread=True, exclusive=True, group="pipeline-load")
    def load(self, generation: int, engine) -> None:
        self.post_message(self.Loaded(generation, load_board(engine, self.app.now())))

    async def on_pipeline_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return  # an older load finishing late; a newer one is on its way
        columns = message.board.columns
        stages = [c.stage for c in columns]
        if stages != self.stages:  # first load, or the stage list changed
            focused = self._focused_column()
            board = self.query_one("#board", Horizontal)
            await board.remove_children()
            await board.mount_all(
                Vertical(
                    Static(stage, id=f"heading-{stage}", classes="stage-heading"),
                    StageColumn(stage),
                    classes="stage-column",
                )
                for stage in stages
            )
            self.stages = stages
            if focused is None or focused.stage not in stages:
                self.query(StageColumn).first().focus()
        follow, self._follow = self._follow, None
        for column in columns:
            deals = list(column.top)
            if follow and follow.stage == column.stage and follow.id not in {d.id for d in deals}:
                deals.append(follow)  # below the top cards, but where the user can see it
            self.query_one(f"#heading-{column.stage}", Static).update(
                stage_heading(column, len(column.top))
            )
            self.query_one(f"#stage-{column.stage}", StageColumn).show(deals)
        if follow is not None:
            self._focus_card(follow)

    def _focus_card(self, deal: DealRead) -> None:
        column = self.query_one(f"#stage-{deal.stage}", StageColumn)
        column.focus()
        column.highlighted = [d.id for d in column.deals].index(deal.id)

    def _focused_column(self) -> StageColumn | None:
        return self.focused if isinstance(self.focused, StageColumn) else None

    # ------------------------------------------------------------- actions

    def action_focus_column(self, step: int) -> None:
        columns = list(self.query(StageColumn))
        current = self._focused_column()
        if not columns or current is None:
            return
        index = min(max(columns.index(current) + step, 0), len(columns) - 1)
        target = columns[index]
        if target.deals and current.highlighted is not None:
            target.highlighted = min(current.highlighted, len(target.deals) - 1)
        target.focus()

    @on(OptionList.OptionSelected)
    def _card_chosen(self, _event: OptionList.OptionSelected) -> None:
        self.action_open_deal()

    def action_open_deal(self) -> None:
        column = self._focused_column()
        chosen = column.selected() if column else None
        if chosen is not None:
            self.open_deal(chosen.id)

    def action_move(self, step: int) -> None:
        column = self._focused_column()
        chosen = column.selected() if column else None
        if chosen is None or self._moving:
            return
        index = self.stages.index(column.stage) + step
        if not 0 <= index < len(self.stages):
            return
        target = self.stages[index]
        if target != LOST:
            self._start_move(chosen, target, None)
            return

        def reason_given(reason: str | None) -> None:
            if reason:
                self._start_move(chosen, target, reason)

        self.app.push_screen(LostReasonScreen(chosen), reason_given)

    def _start_move(self, deal: DealRead, stage: str, reason: str | None) -> None:
        self._moving = True
        self.move(deal.id, stage, reason, self.app.engine, self.app.now())

    @work(thread=True, group="pipeline-move")
    def move(self, deal_id: int, stage: str, reason: str | None, engine, now) -> None:
        try:
            moved = move_deal(engine, deal_id, stage=stage, reason=reason or "", now=now)
        except CrmError as exc:
            self.post_message(self.Failed(exc.message))
        else:
            self.post_message(self.Moved(moved))

    def on_pipeline_screen_moved(self, message: Moved) -> None:
        self._moving = False
        self._follow = message.deal
        self.notify(f"{message.deal.title} → {message.deal.stage}", title="Pipeline")
        self.app.data_changed()  # the dashboard and an open contact show the move too

    def on_pipeline_screen_failed(self, message: Failed) -> None:
        self._moving = False
        self.notify(message.text, severity="error")
        self.reload()

    def open_deal(self, deal_id: int) -> None:
        from minicrm.tui.screens.deal import DealScreen

        self.app.push_screen(DealScreen(deal_id))


class LostReasonScreen(ModalScreen[str | None]):
    """Why a deal was lost: one of the usual reasons, or the user's words."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    LostReasonScreen { align: center middle; }
    LostReasonScreen > Vertical {
        width: 56; max-width: 100%; height: auto;
        border: thick $error; background: $surface; padding: 0 1;
    }
    LostReasonScreen OptionList { height: auto; margin: 1 0 0 0; }
    LostReasonScreen #lost-error { color: $text-error; height: auto; }
    LostReasonScreen #lost-help { color: $text-muted; }
    """

    def __init__(self, deal: DealRead) -> None:
        super().__init__()
        self.deal = deal

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Lost: a reason is needed"
            yield Label(Text(f"Why was {self.deal.title} lost?"))
            yield OptionList(*LOST_REASONS, id="lost-reasons")
            yield Input(placeholder="or type another reason", id="lost-other")
            yield Static("", id="lost-error")
            yield Static("enter choose · tab other reason · esc cancel", id="lost-help")

    @on(OptionList.OptionSelected, "#lost-reasons")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(LOST_REASONS[event.option_index])

    @on(Input.Submitted, "#lost-other")
    def _typed(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if reason:
            self.dismiss(reason)
        else:
            self.query_one("#lost-error", Static).update("type a reason, or pick one above")

    def action_cancel(self) -> None:
        self.dismiss(None)
