"""The dashboard: what needs doing today, how the funnel stands, which open
deals are worth a call, and what happened lately. One worker loads it all in one session."""

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from minicrm.tui.data import DashboardData, load_dashboard
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.bars import StageBars
from minicrm.tui.widgets.cards import Column, FitTable, late_label, short_money, short_when


def contact_row_key(contact_id: int, number: int) -> str:
    """Row keys must be unique, a contact may appear twice in one table."""
    return f"{contact_id}:{number}"


def contact_of_row(key: str | None) -> int | None:
    return int(key.split(":", 1)[0]) if key else None


# Every column takes the room its panel has, no more: dates and figures are
# never cut, names and notes share what is left (a short name stays whole
# beside a long note), and the last text column takes any room to spare.


def figure(label: str | Text) -> Column:
    """A date or a number: as wide as its widest cell, never cut."""
    return Column(label, fit=True, cut=False)


def words(label: str, *, grow: bool = False) -> Column:
    """A name or a note: as wide as its longest when there is room, cut
    with an ellipsis when there is not."""
    return Column(label, fit=True, grow=grow)


def deal_and_who(deal) -> Text:
    """The deal's title, then whom it is with (the contact, else the company)
    dimmed: one cell, so a narrow panel gives the title the room first."""
    cell = Text(deal.title)
    who = deal.contact_name or deal.company
    if who and who != deal.title:  # a first deal is titled with its contact's name
        cell.append(f" · {who}", style="dim")
    return cell


def counted(shown: int, total: int, what: str) -> str:
    """A panel's count: "60 overdue", or "showing 50 of 60 overdue" when
    the list holds only the first few."""
    return f"{total} {what}" if shown >= total else f"showing {shown} of {total} {what}"


class DashboardScreen(CrmScreen):
    TITLE = "Dashboard"
    BINDINGS = [
        Binding("enter", "open_row", "Open"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #dashboard-left { width: 3fr; }
    DashboardScreen #dashboard-right { width: 2fr; }
    DashboardScreen .panel {
        border: round $primary 50%;
        border-title-color: $text-primary;
        height: 1fr;
    }
    DashboardScreen .panel:focus-within { border: round $primary; }
    DashboardScreen #due, DashboardScreen #recent { height: 3fr; }
    DashboardScreen #touch { height: 2fr; }
    DashboardScreen #funnel-panel { height: auto; padding: 0 1; background: $surface; }
    DashboardScreen .empty { color: $text-muted; text-style: italic; }
    DashboardScreen FitTable { scrollbar-size-vertical: 1; }
    """

    @dataclass
    class Loaded(Message):
        generation: int
        data: DashboardData
        now: datetime

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield Static("Dashboard", id="screen-title")
        with Horizontal(id="dashboard"):
            with Vertical(id="dashboard-left"):
                yield self._table(
                    "due", "Follow-ups due",
                    [figure("When"), words("Contact"), words("Note", grow=True)],
                    "nothing due today",
                )  # fmt: skip
                yield self._table(
                    "touch", "Get in touch",
                    [words("Contact", grow=True), figure("Quiet"), figure("Every")],
                    "no one waiting",
                )  # fmt: skip
                yield self._table(
                    "recent", "Recent activity",
                    [figure("When"), words("Contact"), words("What", grow=True)],
                    "nothing logged yet",
                )  # fmt: skip
            with Vertical(id="dashboard-right"):
                with Vertical(id="funnel-panel", classes="panel") as funnel:
                    funnel.border_title = "Funnel"
                    yield StageBars(id="funnel")
                value, score = FitTable.number("Value"), FitTable.number("Score")
                yield self._table(
                    "deals", "Top open deals",
                    [words("Deal · contact", grow=True), figure(value), figure(score)],
                    "no open deals",
                )  # fmt: skip
        yield Footer()

    def _table(self, table_id: str, title: str, columns, empty: str) -> FitTable:
        table = FitTable(columns, empty=empty, id=table_id, classes="panel")
        table.border_title = title
        return table

    # ------------------------------------------------------------- loading

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        self.load(self._generation, self.app.engine, self.app.now())

    @work(thread=True, exclusive=True, group="dashboard")
    def load(self, generation: int, engine, now: datetime) -> None:
        self.post_message(self.Loaded(generation, load_dashboard(engine, now), now))

    def on_dashboard_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return  # an older load finishing late; a newer one is on its way
        data, now = message.data, message.now
        self._fill_due(data, now)
        self._fill_touch(data, now)
        self._fill_recent(data, now)
        self._fill_deals(data)
        self.query_one("#funnel", StageBars).counts = tuple(data.stage_counts)

    def _fill_due(self, data: DashboardData, now: datetime) -> None:
        rows = []
        for number, f in enumerate([*data.overdue, *data.today]):
            when = Text(late_label(f.due_at, now, data.zone))
            if f.due_at < now:
                when.stylize("bold red")
            rows.append(
                (
                    contact_row_key(f.contact_id, number),
                    [when, Text(f.contact_name), Text(f.note or "")],
                )
            )
        table = self.query_one("#due", FitTable)
        table.border_subtitle = " · ".join(
            (counted(len(data.overdue), data.overdue_total, "overdue"),
             counted(len(data.today), data.today_total, "today"))
        )  # fmt: skip
        table.show(rows)

    def _fill_touch(self, data: DashboardData, now: datetime) -> None:
        rows = []
        for number, t in enumerate(data.get_in_touch):
            since = t.last_interaction_at
            quiet = f"{(now - since).days}d ago" if since else "never"
            cells = [Text(t.contact_name), Text(quiet), Text(f"{t.every_days}d")]
            rows.append((contact_row_key(t.contact_id, number), cells))
        table = self.query_one("#touch", FitTable)
        table.border_subtitle = counted(len(data.get_in_touch), data.touch_total, "due")
        table.show(rows)

    def _fill_recent(self, data: DashboardData, now: datetime) -> None:
        rows = []
        for number, i in enumerate(data.recent):
            what = Text(i.kind, style="bold")
            if i.amount_cents is not None:
                what.append(f" {short_money(i.amount_cents)}")
            if i.summary:
                what.append(f" {i.summary}")
            when = Text(short_when(i.at, now, data.zone))
            rows.append((contact_row_key(i.contact_id, number), [when, Text(i.contact_name), what]))
        self.query_one("#recent", FitTable).show(rows)

    def _fill_deals(self, data: DashboardData) -> None:
        rows = [
            (
                str(d.id),
                [
                    deal_and_who(d),
                    Text(short_money(d.value_cents), justify="right"),
                    Text(str(d.score), justify="right"),
                ],
            )
            for d in data.top_deals
        ]
        self.query_one("#deals", FitTable).show(rows)

    # ------------------------------------------------------------- actions

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        self._open(event.data_table, event.row_key.value)

    def action_open_row(self) -> None:
        if isinstance(self.focused, FitTable):
            self._open(self.focused, self.focused.selected_key())

    def _open(self, table: DataTable, key: str | None) -> None:
        if not key:
            return  # the "nothing here" row
        if table.id == "deals":
            from minicrm.tui.screens.deal import DealScreen

            self.app.push_screen(DealScreen(int(key)))
        else:
            self.open_contact(contact_of_row(key))

    def open_contact(self, contact_id: int) -> None:
        from minicrm.tui.screens.contact import ContactScreen

        self.app.push_screen(ContactScreen(contact_id))
