"""The panels of the deal screen. Each shows part of a DealView (a read model
the screen's worker loaded); none of them queries."""

from datetime import tzinfo

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from minicrm.dates import format_local
from minicrm.tui.widgets.cards import NOTHING, money


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _number(value: float) -> str:
    return f"{value:g}"


class DealHeading(Static):
    """One line: the id, the title (cut first, it is in full below), the
    stage and the score."""

    _view = None

    def show(self, view) -> None:
        self._view = view
        deal = view.deal
        suffix = f" · {deal.stage} · score {deal.score}"
        title = Text(deal.title, style="bold", no_wrap=True)
        room = self.content_size.width - len(f"#{deal.id} ") - len(suffix)
        if self.content_size.width and title.cell_len > room:
            title.truncate(max(room, 1), overflow="ellipsis")
        self.update(Text.assemble(f"#{deal.id} ", title, suffix))

    def on_resize(self) -> None:
        if self._view is not None:
            self.show(self._view)


class DealFieldsPanel(Static):
    def show(self, view, zone: tzinfo) -> None:
        deal = view.deal
        grid = _grid()
        value = f"{money(deal.value_cents)} {view.currency}" if deal.value_cents else NOTHING
        rows = [
            ("Title", deal.title),
            ("Contact", deal.contact_name or NOTHING),
            ("Company", deal.company or NOTHING),
            ("Stage", deal.stage),
            ("Value", value),
            ("Expected close", deal.expected_close.isoformat() if deal.expected_close else NOTHING),
            ("Owner", deal.owner or NOTHING),
            ("Source", deal.source or NOTHING),
            ("Score", str(deal.score)),
        ]
        if deal.lost_reason:
            rows.append(("Lost reason", deal.lost_reason))
        for label, value in rows:
            grid.add_row(label, Text(str(value)))
        grid.add_row("In stage since", format_local(deal.stage_entered_at, zone))
        if deal.closed_at:
            grid.add_row("Closed", format_local(deal.closed_at, zone))
        parts = [grid, Text(""), Text("Notes", style="bold")]
        parts.append(Text(deal.notes) if deal.notes else Text("none", style="dim"))
        self.update(Group(*parts))


class DealLinesPanel(Static):
    def show(self, view) -> None:
        deal = view.deal
        title = Text("Lines", style="bold")
        if not deal.lines:
            self.update(Group(title, Text("none — press l to add one", style="dim")))
            return
        table = Table(box=None, padding=(0, 1), pad_edge=False, expand=True)
        table.add_column("Product", ratio=1, overflow="fold")
        for heading in ("Qty", "Unit price", "Disc.", "Total"):
            table.add_column(heading, justify="right", no_wrap=True)
        for line in deal.lines:
            what = Text(line.product or "", style="bold")
            if line.description:
                what.append(("  " if line.product else "") + line.description)
            discount = f"{_number(line.discount)}%" if line.discount else ""
            table.add_row(
                what,
                _number(line.quantity),
                money(line.unit_price_cents),
                discount,
                money(line.total_cents),
            )
        total = sum(line.total_cents for line in deal.lines)
        table.add_row(Text("total", style="italic"), "", "", "", Text(money(total), style="bold"))
        self.update(Group(title, table))


class DealHistoryPanel(Static):
    def show(self, view, zone: tzinfo) -> None:
        title = Text("Stage history", style="bold")
        if not view.history:
            self.update(Group(title, Text("no stage changes", style="dim")))
            return
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for change in reversed(view.history):  # newest first, like the timeline
            if change.from_stage is None:
                moved = Text(f"created in {change.to_stage}", style="italic")
            else:
                moved = Text(f"{change.from_stage} → {change.to_stage}")
            if change.reason:
                moved.append(f"  ({change.reason})", style="dim")
            grid.add_row(format_local(change.at, zone), moved)
        self.update(Group(title, grid))
