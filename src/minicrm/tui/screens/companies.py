"""Companies: a table that filters as you type, and one company's people and
deals (enter opens a person or a deal)."""

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from minicrm.errors import NotFoundError
from minicrm.models import CompanyRead
from minicrm.tui import data, deal_data
from minicrm.tui.messages import WorkFailed
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.cards import NOTHING, FitTable, money, shown

COMPANIES_SHOWN = 200  # the filter finds the rest


def company_rows(companies: list[CompanyRead]) -> list[tuple[str, list[Text]]]:
    return [
        (
            str(c.id),
            [
                Text(c.name),
                Text(c.industry or NOTHING),
                Text(c.city or NOTHING),
                Text(str(c.people_count), justify="right"),
                Text(str(c.open_deals), justify="right"),
            ],
        )
        for c in companies
    ]


class CompaniesScreen(CrmScreen):
    TITLE = "Companies"
    BINDINGS = [
        Binding("enter", "open_company", "Open"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    DEFAULT_CSS = """
    CompaniesScreen #company-filter { margin: 0 1; }
    CompaniesScreen #companies { height: 1fr; }
    """

    @dataclass
    class Loaded(Message):
        request: int
        companies: list[CompanyRead]

    def __init__(self) -> None:
        super().__init__()
        self._request = 0
        self.filter_text = ""

    def compose(self) -> ComposeResult:
        yield Static("Companies", id="screen-title")
        yield Input(placeholder="Filter: part of a company's name…  (/)", id="company-filter")
        people, deals = FitTable.number("People"), FitTable.number("Open")
        yield FitTable(
            [("Company", None), ("Industry", 12), ("City", 12), (people, 6), (deals, 5)],
            empty="no companies", id="companies",
        )  # fmt: skip
        yield Footer(compact=True)

    @property
    def table(self) -> FitTable:
        return self.query_one("#companies", FitTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.reload()

    def reload(self) -> None:
        self._request += 1
        self._load(self._request, self.filter_text)

    @work(thread=True, exclusive=True, group="companies-load", exit_on_error=False)
    def _load(self, request: int, filter_text: str) -> None:
        try:
            found = deal_data.list_companies(self.app.engine, filter_text, limit=COMPANIES_SHOWN)
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(self.Loaded(request, found))

    def on_companies_screen_loaded(self, message: Loaded) -> None:
        if message.request != self._request:
            return  # typed on meanwhile: a newer answer is coming
        self.table.show(company_rows(message.companies))

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.text, severity="error")

    @on(Input.Changed, "#company-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.reload()

    @on(Input.Submitted, "#company-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#company-filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#company-filter", Input)
        if self.focused is box:
            self.table.focus()
        elif box.value:
            box.value = ""  # Input.Changed reloads

    @on(DataTable.RowSelected, "#companies")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        self._open(event.row_key.value)

    def action_open_company(self) -> None:
        if self.focused is self.table:
            self._open(self.table.selected_key())

    def _open(self, key: str | None) -> None:
        if key:
            self.app.push_screen(CompanyScreen(int(key)))


class CompanyScreen(CrmScreen):
    """One company: its fields, its people and its deals."""

    BINDINGS = [
        Binding("question_mark", "app.keys", "Keys"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    CompanyScreen #company-heading {
        height: 1; padding: 0 1; background: $primary; color: $text;
    }
    CompanyScreen #company-body { height: 1fr; padding: 0 1; }
    CompanyScreen #company-fields { height: auto; padding: 1 0 0 0; }
    CompanyScreen FitTable { height: auto; max-height: 14; }
    CompanyScreen .table-heading { text-style: bold; margin: 1 0 0 0; }
    """

    @dataclass
    class Loaded(Message):
        view: deal_data.CompanyView

    @dataclass
    class Missing(Message):
        text: str

    def __init__(self, company_id: int):
        super().__init__()
        self.company_id = company_id
        self.view: deal_data.CompanyView | None = None

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="company-heading")
        with VerticalScroll(id="company-body"):
            yield Static("", id="company-fields")
            yield Static("People", classes="table-heading")
            yield FitTable(
                [("Person", None), ("Title", 14), ("Stage", 9), (FitTable.number("Score"), 5)],
                empty="no people", id="company-people",
            )  # fmt: skip
            from minicrm.tui.screens.contact import DEAL_COLUMNS

            yield Static("Open deals", classes="table-heading")
            yield FitTable(DEAL_COLUMNS, empty="no open deals", id="company-deals")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load(self.company_id)

    @work(thread=True, exclusive=True, group="company-load", exit_on_error=False)
    def _load(self, company_id: int) -> None:
        try:
            view = deal_data.load_company(self.app.engine, company_id, now=self.app.now())
        except NotFoundError as exc:
            self.post_message(self.Missing(exc.message))
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(self.Loaded(view))

    def on_company_screen_loaded(self, message: Loaded) -> None:
        from minicrm.tui.screens.contact import deal_rows

        self.view = view = message.view
        company = view.company
        self.query_one("#company-heading", Static).update(
            Text.assemble(f"#{company.id} ", (company.name, "bold"))
        )
        self.query_one("#company-fields", Static).update(company_fields(view))
        people = [
            (
                str(p.id),
                [
                    Text(p.name),
                    Text(p.title or NOTHING),
                    Text(shown(p.stage)),
                    Text(shown(p.score), justify="right"),
                ],
            )
            for p in view.people
        ]
        self.query_one("#company-people", FitTable).show(people)
        self.query_one("#company-deals", FitTable).show(deal_rows(view.deals))

    def on_company_screen_missing(self, message: Missing) -> None:
        self.notify(f"This company is gone: {message.text}", severity="warning")
        self.action_back()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.text, severity="error")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    @on(DataTable.RowSelected, "#company-people")
    def _person_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            from minicrm.tui.screens.contact import ContactScreen

            self.app.push_screen(ContactScreen(int(event.row_key.value)))

    @on(DataTable.RowSelected, "#company-deals")
    def _deal_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            from minicrm.tui.screens.deal import DealScreen

            self.app.push_screen(DealScreen(int(event.row_key.value)))


def company_fields(view: deal_data.CompanyView) -> Group:
    company = view.company
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in (
        ("Industry", company.industry), ("City", company.city), ("Region", company.region),
        ("Country", company.country), ("Domain", company.domain), ("Email", company.email),
        ("Phone", company.phone), ("Owner", company.owner),
    ):  # fmt: skip
        if value:
            grid.add_row(label, Text(value))
    if company.tags:
        grid.add_row("Tags", Text(", ".join(company.tags)))
    grid.add_row("People", str(company.people_count))
    grid.add_row("Open deals", str(company.open_deals))
    grid.add_row("Won revenue", money(view.won_revenue_cents))
    parts = [grid]
    if company.notes:
        parts += [Text(""), Text("Notes", style="bold"), Text(company.notes)]
    return Group(*parts)
