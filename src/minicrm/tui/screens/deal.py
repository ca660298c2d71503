"""One deal: its fields, lines and stage history; keys to change its stage
and add a line."""

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer

from minicrm.errors import NotFoundError
from minicrm.tui import data, deal_data
from minicrm.tui.messages import WorkFailed
from minicrm.tui.screens import CrmScreen
from minicrm.tui.screens.forms import LineForm, StageForm
from minicrm.tui.widgets.deal_panels import (
    DealFieldsPanel,
    DealHeading,
    DealHistoryPanel,
    DealLinesPanel,
)

NEEDS_DEAL = frozenset({"stage", "line"})


class DealScreen(CrmScreen):
    """Opened over the pipeline, the dashboard, a contact or a company."""

    BINDINGS = [
        Binding("question_mark", "app.keys", "Keys"),
        Binding("s", "stage", "Stage"),
        Binding("l", "line", "Add line"),
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class Loaded(Message):
        view: deal_data.DealView

    @dataclass
    class Missing(Message):
        text: str

    def __init__(self, deal_id: int):
        super().__init__()
        self.deal_id = deal_id
        self.view: deal_data.DealView | None = None

    def compose(self) -> ComposeResult:
        yield DealHeading("Loading…", id="deal-heading")
        with VerticalScroll(id="deal-body"):
            yield DealFieldsPanel(id="deal-fields")
            yield DealLinesPanel(id="deal-lines")
            yield DealHistoryPanel(id="deal-history")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_DEAL and self.view is None:
            return None  # dimmed until the deal is loaded
        return True

    # ----------------------------------------------------------- loading

    def reload(self) -> None:
        self._load(self.deal_id)

    @work(thread=True, exclusive=True, group="deal-load", exit_on_error=False)
    def _load(self, deal_id: int) -> None:
        try:
            view = deal_data.load_deal(self.app.engine, deal_id, now=self.app.now())
        except NotFoundError as exc:
            self.post_message(self.Missing(exc.message))
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(self.Loaded(view))

    def on_deal_screen_loaded(self, message: Loaded) -> None:
        self.view = view = message.view
        zone = self.app.zone
        self.query_one(DealHeading).show(view)
        self.query_one(DealFieldsPanel).show(view, zone)
        self.query_one(DealLinesPanel).show(view)
        self.query_one(DealHistoryPanel).show(view, zone)
        self.refresh_bindings()

    def on_deal_screen_missing(self, message: Missing) -> None:
        self.notify(f"This deal is gone: {message.text}", severity="warning")
        self.action_back()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.text, severity="error")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    # ------------------------------------------------------------- forms

    def _saved(self, what: str):
        def done(result) -> None:
            if result is not None:
                self.notify(what)
                self.app.data_changed()  # this screen and the ones under it reload

        return done

    def action_stage(self) -> None:
        from minicrm.services.deals.stages import LOST_REASONS

        engine, deal_id, app = self.app.engine, self.deal_id, self.app

        def save(values: dict[str, str]):
            return deal_data.move_deal(engine, deal_id, now=app.now(), **values)

        deal = self.view.deal
        form = StageForm(
            save, subject=deal.title, stages=self.view.stages, current=deal.stage,
            reasons=LOST_REASONS,
        )  # fmt: skip
        self.app.push_screen(form, self._saved("Stage changed"))

    def action_line(self) -> None:
        engine, deal_id, app = self.app.engine, self.deal_id, self.app

        def save(values: dict[str, str]):
            return deal_data.add_deal_line(engine, deal_id, now=app.now(), **values)

        form = LineForm(save, subject=self.view.deal.title)
        self.app.push_screen(form, self._saved("Line added"))
