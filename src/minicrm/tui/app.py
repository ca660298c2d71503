"""The `crm tui` application: screens as modes, the keys that switch them,
the command palette, and the poll that shows other programs' changes.

`make_app` is the one way to build it, for `crm tui` and for the snapshot
tests alike.
"""

import importlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from minicrm.dates import local_zone
from minicrm.tui import data
from minicrm.tui.messages import DataChanged, DataVersionMoved, ZoneLoaded

# mode -> (module, screen class, title). Screens other sessions build may not
# exist yet: a missing module leaves its mode (and key) out.
SCREENS = {
    "dashboard": ("minicrm.tui.screens.dashboard", "DashboardScreen", "Dashboard"),
    "contacts": ("minicrm.tui.screens.contacts", "ContactsScreen", "Contacts"),
    "followups": ("minicrm.tui.screens.followups", "FollowUpsScreen", "Follow-ups"),
    "pipeline": ("minicrm.tui.screens.pipeline", "PipelineScreen", "Pipeline"),
    "reports": ("minicrm.tui.screens.reports", "ReportsScreen", "Reports"),
    "companies": ("minicrm.tui.screens.companies", "CompaniesScreen", "Companies"),
}
FIRST_MODES = ("dashboard", "contacts")  # open on the first that exists
POLL_SECONDS = 2.0


def available_screens() -> dict[str, type[Screen]]:
    """The screens that exist in this build, by mode name."""
    found = {}
    for mode, (module_name, class_name, _title) in SCREENS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise  # the screen exists but is broken: say so
            continue
        screen = getattr(module, class_name, None)
        if screen is not None:
            found[mode] = screen
    return found


class MinicrmApp(App):
    """A full-screen CRM over one database engine.

    `now_provider` is the clock every time-dependent view and write reads
    (tests fix it); `poll_seconds` how often other programs' commits are
    looked for (0: never, tests trigger check_for_changes themselves)."""

    TITLE = "minicrm"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    BINDINGS = [
        Binding("question_mark", "keys", "Keys"),
        Binding("d", "go('dashboard')", "Dashboard"),
        Binding("c", "go('contacts')", "Contacts"),
        Binding("f", "go('followups')", "Follow-ups"),
        Binding("p", "go('pipeline')", "Pipeline"),
        Binding("r", "go('reports')", "Reports"),
        Binding("o", "go('companies')", "Companies"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        now_provider: Callable[[], datetime] | None = None,
        poll_seconds: float = POLL_SECONDS,
        start_mode: str | None = None,
        dispose_engine: bool = False,
    ):
        super().__init__()
        self._start_mode = start_mode
        self.engine = engine
        self._now_provider = now_provider or (lambda: datetime.now(UTC))
        self._poll_seconds = poll_seconds
        self._dispose_engine = dispose_engine
        self.zone = local_zone()  # until the database's timezone setting is read
        self.data_generation = 0  # counts changes seen; modes compare on return
        self._mode_generation: dict[str, int] = {}
        self.watcher = data.DataVersionWatcher(engine)
        self.screens_available = available_screens()
        for mode, screen in self.screens_available.items():
            self.add_mode(mode, screen)

    def now(self) -> datetime:
        return self._now_provider()

    # -------------------------------------------------------------- start

    def on_mount(self) -> None:
        first = self._start_mode or next(m for m in FIRST_MODES if m in self.screens_available)
        self.switch_mode(first)
        self._mode_generation[first] = self.data_generation
        # The first screen's own query goes first; these can wait a frame.
        self.call_after_refresh(self._start_background_work)

    def _start_background_work(self) -> None:
        self.load_zone()
        self.check_for_changes()  # the first reading is the baseline
        if self._poll_seconds > 0:
            self.set_interval(self._poll_seconds, self.check_for_changes)

    def on_unmount(self) -> None:
        self.watcher.close()
        if self._dispose_engine:
            self.engine.dispose()

    @work(thread=True, group="zone", exit_on_error=False)
    def load_zone(self) -> None:
        self.post_message(ZoneLoaded(data.load_zone(self.engine)))

    def on_zone_loaded(self, message: ZoneLoaded) -> None:
        changed = message.zone != self.zone
        self.zone = message.zone
        if changed:  # dates on screen were shown in TZ's zone, not the setting's
            self.data_changed()

    # ------------------------------------------------------- live refresh

    @work(thread=True, group="data-version", exit_on_error=False)
    def check_for_changes(self) -> None:
        """Runs every few seconds: one PRAGMA on a connection kept open."""
        if self.watcher.changed():
            self.post_message(DataVersionMoved())

    def on_data_version_moved(self, _message: DataVersionMoved) -> None:
        self.load_zone()  # the timezone setting may be what changed
        self.data_changed()

    def data_changed(self) -> None:
        """The data changed, here or elsewhere: every screen of this mode
        shows it now, the other modes' screens when the user goes back.

        Screens call it after their own writes, so the list under a contact
        shows an edit at once rather than at the next poll."""
        self.data_generation += 1
        self._mode_generation[self.current_mode] = self.data_generation
        for screen in self.screen_stack:
            screen.post_message(DataChanged())

    # ---------------------------------------------------------- switching

    def action_go(self, mode: str) -> None:
        if mode not in self.screens_available:
            self.notify(f"{SCREENS[mode][2]} is not available in this build", severity="warning")
            return
        if mode == self.current_mode:
            # Already here: come back to the mode's first screen (close a contact).
            while len(self.screen_stack) > 1 and not self.screen.is_modal:
                self.pop_screen()
            return
        self.switch_mode(mode)
        if self._mode_generation.get(mode, self.data_generation) < self.data_generation:
            for screen in self.screen_stack:
                screen.post_message(DataChanged())
        self._mode_generation[mode] = self.data_generation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A screen this build lacks: its key is hidden from the footer and the palette.
        return not (action == "go" and parameters and parameters[0] not in self.screens_available)

    def action_keys(self) -> None:
        from minicrm.tui.screens.forms import KeysScreen

        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen))

    # ------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key of the screen the palette was opened on (the widgets' own
        cursor keys aside), then Textual's: theme, quit, screenshot…"""
        seen = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            if binding.action in ("quit", "command_palette"):
                continue  # Textual lists Quit itself
            if not binding.show and not isinstance(active.node, App | Screen):
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                f"key: {self.get_key_display(binding)}",
                _runner(self, active.node, binding.action),
            )
        for command in super().get_system_commands(screen):
            if command.title != "Keys":  # ours (?) lists every key instead of a side panel
                yield command


def _runner(app: App, node, action: str) -> Callable[[], object]:
    def run() -> object:
        return app.run_action(action, node)

    return run


def make_app(
    db: Engine | str,
    *,
    now_provider: Callable[[], datetime] | None = None,
    poll_seconds: float = POLL_SECONDS,
    start_mode: str | None = None,
) -> MinicrmApp:
    """The app over a database URL (schema created or upgraded first) or an
    engine someone else owns."""
    options = {"now_provider": now_provider, "poll_seconds": poll_seconds, "start_mode": start_mode}
    if isinstance(db, Engine):
        return MinicrmApp(db, **options)
    from minicrm.db import ensure_schema, make_engine

    engine = make_engine(db)
    ensure_schema(engine)
    return MinicrmApp(engine, dispose_engine=True, **options)
