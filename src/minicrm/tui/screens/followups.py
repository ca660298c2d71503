"""Follow-ups: the agenda (overdue, today, the rest of the week), marking one
done, and snoozing one with a WHEN field that shows the date as you type."""

from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Static

from minicrm.dates import EXAMPLES, format_local, parse_when
from minicrm.errors import CrmError
from minicrm.models import FollowUpRead
from minicrm.services.followups.followups import DoneResult
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.cards import FitTable, due_label, repeats
from minicrm.tui.widgets.form_fields import describe_when
from minicrm.tui.workers import Agenda, finish_followup, load_agenda, snooze

SECTION_STYLES = {"overdue": "bold red", "today": "bold", "upcoming": "dim"}


class FollowUpsScreen(CrmScreen):
    TITLE = "Follow-ups"
    BINDINGS = [
        Binding("enter", "open_contact", "Open"),  # o is the app's key for companies
        # space checks a follow-up off; d stays the app's key for the dashboard
        Binding("space", "done", "Done"),
        Binding("z", "snooze", "Snooze"),
    ]
    DEFAULT_CSS = """
    FollowUpsScreen #agenda-summary { height: 1; padding: 0 1; color: $text-muted; }
    FollowUpsScreen #agenda { height: 1fr; }
    """

    @dataclass
    class Loaded(Message):
        generation: int
        agenda: Agenda
        now: datetime

    @dataclass
    class Finished(Message):
        result: DoneResult

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self.agenda: Agenda | None = None
        self._by_key: dict[str, FollowUpRead] = {}

    def compose(self) -> ComposeResult:
        yield Static("Follow-ups", id="screen-title")
        yield Static("loading…", id="agenda-summary")
        yield FitTable(
            [("Due", 16), ("", 8), ("Contact", None), ("Note", None), ("Repeats", 11)],
            empty="nothing to follow up this week",
            id="agenda",
        )
        yield Footer()

    # ------------------------------------------------------------- loading

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        self.load(self._generation, self.app.engine, self.app.now())

    @work(thread=True, exclusive=True, group="followups-load")
    def load(self, generation: int, engine, now: datetime) -> None:
        self.post_message(self.Loaded(generation, load_agenda(engine, now), now))

    def on_follow_ups_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return  # an older load finishing late; a newer one is on its way
        self.agenda, now = message.agenda, message.now
        rows, self._by_key = [], {}
        for section, followups in self.agenda.sections():
            for f in followups:
                key = str(f.id)
                self._by_key[key] = f
                when = Text(due_label(f.due_at, now, self.agenda.zone))
                if section == "overdue":
                    when.stylize("bold red")
                cells = [
                    when,
                    Text(section, style=SECTION_STYLES[section]),
                    Text(f.contact_name),
                    Text(f.note or ""),
                    Text(repeats(f.recurrence)),
                ]
                rows.append((key, cells))
        self.query_one("#agenda", FitTable).show(rows)
        counts = [f"{len(items)} {name}" for name, items in self.agenda.sections()]
        self.query_one("#agenda-summary", Static).update(" · ".join(counts) + " (this week)")

    def selected(self) -> FollowUpRead | None:
        return self._by_key.get(self.query_one("#agenda", FitTable).selected_key() or "")

    # ------------------------------------------------------------- actions

    @on(DataTable.RowSelected)
    def _row_chosen(self, _event: DataTable.RowSelected) -> None:
        self.action_open_contact()

    def action_open_contact(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.open_contact(chosen.contact_id)

    def action_done(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.finish(chosen.id, self.app.engine, self.app.now())

    @work(thread=True, group="followups-write")
    def finish(self, followup_id: int, engine, now: datetime) -> None:
        try:
            self.post_message(self.Finished(finish_followup(engine, followup_id, now)))
        except CrmError as exc:
            self.post_message(self.Failed(exc.message))

    def on_follow_ups_screen_finished(self, message: Finished) -> None:
        closed, following = message.result.closed, message.result.next
        text = f"Done: {closed.contact_name}"
        if following is not None and self.agenda is not None:
            text += f"; next on {format_local(following.due_at, self.agenda.zone)}"
        self.notify(text, title="Follow-up")
        self.reload()

    def on_follow_ups_screen_failed(self, message: Failed) -> None:
        self.notify(message.text, severity="error")
        self.reload()

    def action_snooze(self) -> None:
        chosen = self.selected()
        if chosen is None or self.agenda is None:
            return

        def snoozed(result: FollowUpRead | None) -> None:
            if result is not None:
                when = format_local(result.due_at, self.agenda.zone)
                self.notify(f"Snoozed {result.contact_name} to {when}", title="Follow-up")
                self.reload()

        self.app.push_screen(SnoozeScreen(chosen, self.agenda.zone), snoozed)

    def open_contact(self, contact_id: int) -> None:
        from minicrm.tui.screens.contact import ContactScreen

        self.app.push_screen(ContactScreen(contact_id))


class SnoozeScreen(ModalScreen[FollowUpRead | None]):
    """Ask WHEN; the date it means shows under the field as you type, and
    nothing is saved until it reads as a time in the future."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SnoozeScreen { align: center middle; }
    SnoozeScreen > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SnoozeScreen #snooze-preview { height: auto; margin: 0 1; }
    SnoozeScreen #snooze-preview.invalid { color: $text-error; }
    SnoozeScreen #snooze-preview.valid { color: $text-success; }
    SnoozeScreen #snooze-help { color: $text-muted; margin: 0 1; }
    """

    @dataclass
    class Saved(Message):
        followup: FollowUpRead

    @dataclass
    class Refused(Message):
        text: str

    def __init__(self, followup: FollowUpRead, zone: tzinfo) -> None:
        super().__init__()
        self.followup, self.zone = followup, zone
        self.when: datetime | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Snooze: {self.followup.contact_name}"
            due = format_local(self.followup.due_at, self.zone)
            yield Label(Text(f"{self.followup.note or 'follow-up'}, due {due}"))
            yield Input(placeholder="when? e.g. tomorrow 9am, +2d, next friday", id="when")
            yield Static("", id="snooze-preview")
            yield Static("enter snooze · esc cancel", id="snooze-help")

    @on(Input.Changed, "#when")
    def _typed(self, event: Input.Changed) -> None:
        self._read(event.value)

    def _read(self, typed: str) -> datetime | None:
        preview = self.query_one("#snooze-preview", Static)
        self.when = None
        if not typed.strip():
            preview.set_classes("")
            preview.update(Text(f"try: {EXAMPLES}"))
            return None
        now = self.app.now()
        try:
            when = parse_when(typed, now=now, zone=self.zone, scheduling=True)
        except CrmError as exc:
            return self._show_error(exc.message)
        if when <= now:
            return self._show_error("that is in the past; snooze to a time in the future")
        self.when = when
        preview.set_classes("valid")
        preview.update(Text("→ " + describe_when(when, now=now, zone=self.zone)))
        return when

    def _show_error(self, text: str) -> None:
        preview = self.query_one("#snooze-preview", Static)
        preview.set_classes("invalid")
        preview.update(Text(text))

    @on(Input.Submitted, "#when")
    def _submitted(self, event: Input.Submitted) -> None:
        when = self._read(event.value)
        if when is not None:
            self.save(self.followup.id, when, self.app.engine, self.app.now())

    @work(thread=True, exclusive=True, group="snooze")
    def save(self, followup_id: int, when: datetime, engine, now: datetime) -> None:
        try:
            self.post_message(self.Saved(snooze(engine, followup_id, when, now)))
        except CrmError as exc:
            self.post_message(self.Refused(exc.message))

    def on_snooze_screen_saved(self, message: Saved) -> None:
        self.dismiss(message.followup)

    def on_snooze_screen_refused(self, message: Refused) -> None:
        self._show_error(message.text)

    def action_cancel(self) -> None:
        self.dismiss(None)
