"""Reports: the funnel report of SPEC §4 with its bar chart, per-stage
figures, win rate, sales cycle, lost reasons and forecast; optionally one
funnel per owner, source, industry or region."""

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Label, Select, Static

from minicrm.errors import CrmError
from minicrm.services.funnel.funnel import BY_FIELDS, FunnelFigures
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.bars import StageBars
from minicrm.tui.widgets.cards import FitTable, days, money, rate
from minicrm.tui.workers import ReportData, load_report

BREAKDOWNS = ("none", *BY_FIELDS)


class ReportsScreen(CrmScreen):
    TITLE = "Reports"
    BINDINGS = [Binding("b", "next_breakdown", "Breakdown")]
    DEFAULT_CSS = """
    ReportsScreen #report-bar { height: auto; padding: 0 1; }
    ReportsScreen #report-bar Label { padding: 0 1 0 0; }
    ReportsScreen #breakdown { width: 24; }
    ReportsScreen #report-status { color: $text-muted; padding: 0 2; width: 1fr; }
    ReportsScreen #report { height: 1fr; padding: 0 1; }
    ReportsScreen .group-title {
        text-style: bold; color: $text-primary; margin: 1 0 0 0;
        border-bottom: solid $primary 40%;
    }
    ReportsScreen .chart-row, ReportsScreen .comparison { height: auto; }
    ReportsScreen .chart-row StageBars { width: 1fr; margin: 0 2 0 0; }
    ReportsScreen .summary { width: 1fr; height: auto; }
    ReportsScreen FitTable { height: auto; max-height: 100%; margin: 1 0 0 0; }
    ReportsScreen .empty { color: $text-muted; text-style: italic; padding: 1 0; }
    """

    @dataclass
    class Loaded(Message):
        generation: int
        data: ReportData

    @dataclass
    class Failed(Message):
        generation: int
        text: str

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self.by: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Reports: funnel", id="screen-title")
        with Horizontal(id="report-bar"):
            yield Label("Breakdown")
            yield Select(
                [(b, b) for b in BREAKDOWNS], value="none", allow_blank=False,
                id="breakdown", compact=True,
            )  # fmt: skip
            yield Static("", id="report-status")
        yield VerticalScroll(id="report")
        yield Footer()

    # ------------------------------------------------------------- loading

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        self.query_one("#report-status", Static).update("working…")
        self.load(self._generation, self.app.engine, self.app.now(), self.by)

    @work(thread=True, exclusive=True, group="report-load")
    def load(self, generation: int, engine, now: datetime, by: str | None) -> None:
        try:
            self.post_message(self.Loaded(generation, load_report(engine, now, by)))
        except CrmError as exc:
            self.post_message(self.Failed(generation, exc.message))

    async def on_reports_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return  # an older report finishing late; a newer one is on its way
        report = message.data.report
        body = self.query_one("#report", VerticalScroll)
        scrolled = body.scroll_y
        await body.remove_children()
        await body.mount_all(self._sections(message.data))
        body.scroll_to(y=scrolled, animate=False)
        contacts = sum(contacts_in(f) for f in report.groups.values())
        groups = f", {len(report.groups)} groups" if report.by else ""
        self.query_one("#report-status", Static).update(
            f"{contacts:,} contacts{groups} · values in {report.currency}"
        )

    def on_reports_screen_failed(self, message: Failed) -> None:
        if message.generation == self._generation:
            self.query_one("#report-status", Static).update("")
            self.notify(message.text, severity="error")

    def _sections(self, data: ReportData) -> list[Widget]:
        report = data.report
        if not report.groups:
            return [Static("No contacts yet: nothing to report.", classes="empty")]
        if report.by is None:
            return funnel_widgets(report.figures)
        widgets: list[Widget] = [comparison_table(report.by, report.groups)]
        for key, figures in report.groups.items():
            title = f"{report.by}: {key} ({contacts_in(figures):,} contacts)"
            widgets.append(Static(Text(title), classes="group-title"))
            widgets += funnel_widgets(figures)
        return widgets

    # ------------------------------------------------------------- actions

    def action_next_breakdown(self) -> None:
        select = self.query_one("#breakdown", Select)
        current = BREAKDOWNS.index(select.value) if select.value in BREAKDOWNS else 0
        select.value = BREAKDOWNS[(current + 1) % len(BREAKDOWNS)]

    @on(Select.Changed, "#breakdown")
    def _breakdown_chosen(self, event: Select.Changed) -> None:
        by = None if event.value in (None, "none", Select.BLANK) else str(event.value)
        if by != self.by:
            self.by = by
            self.query_one("#report", VerticalScroll).scroll_home(animate=False)
            self.reload()


# --------------------------------------------------------------- sections


def contacts_in(figures: FunnelFigures) -> int:
    """Every contact is in exactly one stage now, lost included."""
    return sum(s.current for s in figures.stages)


def funnel_widgets(figures: FunnelFigures) -> list[Widget]:
    """The chart beside the headline figures, then the per-stage table."""
    bars = StageBars([(s.stage, s.current) for s in figures.stages])
    summary = Static(summary_text(figures), classes="summary")
    return [Horizontal(bars, summary, classes="chart-row"), stage_table(figures)]


def summary_text(figures: FunnelFigures) -> Text:
    text = Text()
    lines = [
        ("Won / lost", f"{figures.won:,} / {figures.lost:,}"),
        ("Win rate", rate(figures.win_rate)),
        ("Cycle (days)", f"{days(figures.avg_cycle_days)} avg, "
                         f"{days(figures.median_cycle_days)} median"),
        ("Forecast", money(figures.forecast_cents)),
    ]  # fmt: skip
    for label, value in lines:
        text.append(f"{label}: ", style="bold")
        text.append(f"{value}\n")
    total = sum(figures.lost_reasons.values())
    if total:
        text.append("Lost reasons:", style="bold")
        for reason, count in figures.lost_reasons.items():
            text.append(f"\n  {reason} {count} ({count / total:.0%})")
    return text


def stage_table(figures: FunnelFigures) -> FitTable:
    number = FitTable.number
    columns = [("Stage", None), (number("Now"), 5), (number("Value"), 9),
               (number("Reached"), 7), (number("To next"), 7), (number("Avg d"), 6),
               (number("Med d"), 6)]  # fmt: skip
    table = FitTable(columns, show_cursor=False, zebra_stripes=True)
    rows = []
    for s in figures.stages:
        cells = [Text(s.stage), *(Text(v, justify="right") for v in (
            f"{s.current:,}", money(s.value_cents), f"{s.reached:,}",
            rate(s.conversion_to_next), days(s.avg_days_in_stage), days(s.median_days_in_stage),
        ))]  # fmt: skip
        rows.append((s.stage, cells))
    table.show(rows)
    return table


def comparison_table(by: str, groups: dict[str, FunnelFigures]) -> Vertical:
    number = FitTable.number
    columns = [(by.capitalize(), None), (number("Contacts"), 8), (number("Won"), 5),
               (number("Lost"), 5), (number("Win rate"), 8), (number("Forecast"), 10)]  # fmt: skip
    table = FitTable(columns, zebra_stripes=True)
    table.show(
        [
            (
                key,
                [
                    Text(key),
                    *(
                        Text(v, justify="right")
                        for v in (
                            f"{contacts_in(f):,}",
                            f"{f.won:,}",
                            f"{f.lost:,}",
                            rate(f.win_rate),
                            money(f.forecast_cents),
                        )
                    ),
                ],
            )  # fmt: skip
            for key, f in groups.items()
        ]
    )
    return Vertical(Static(f"By {by}", classes="group-title"), table, classes="comparison")
