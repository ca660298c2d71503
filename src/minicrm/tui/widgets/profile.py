"""The panels of the contact screen. Each shows part of a ContactView (a
read model the screen's worker loaded); none of them queries."""

from datetime import datetime, tzinfo

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from minicrm.dates import format_local
from minicrm.models import cents_to_major
from minicrm.tui.widgets.cards import shown
from minicrm.tui.widgets.form_fields import recurrence_words

FIELDS = (
    ("email", "Email"), ("phone", "Phone"), ("company", "Company"), ("title", "Title"),
    ("city", "City"), ("region", "Region"), ("country", "Country"), ("industry", "Industry"),
    ("source", "Source"), ("value", "Value"), ("owner", "Owner"), ("lost_reason", "Lost reason"),
)  # fmt: skip


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _money(cents: int | None) -> str:
    value = cents_to_major(cents)
    return "" if value is None else f"{value:,}"


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 86_400:
        days = int(seconds // 86_400)
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3_600:
        return f"{int(seconds // 3_600)} h"
    return f"{int(seconds // 60)} min"


def due_text(due: datetime, now: datetime, overdue_style: str = "bold") -> Text:
    """'in 2 days', or 'overdue 3 h' in `overdue_style`."""
    seconds = (due - now).total_seconds()
    if seconds < 0:
        return Text(f"overdue {_span(seconds)}", style=overdue_style)
    return Text(f"in {_span(seconds)}")


class ContactHeading(Static):
    def show(self, view) -> None:
        contact = view.contact
        heading = Text.assemble(
            f"#{contact.id} ",
            (contact.name, "bold"),
            f" · {shown(contact.stage)} · score {shown(view.score)}",
        )
        self.update(heading)


class FieldsPanel(Static):
    def show(self, view, zone: tzinfo) -> None:
        contact = view.contact
        grid = _grid()
        for name, label in FIELDS:
            value = _money(contact.value_cents) if name == "value" else getattr(contact, name)
            if value not in (None, ""):
                grid.add_row(label, Text(str(value)))
        grid.add_row("Tags", Text(", ".join(contact.tags) if contact.tags else "none"))
        for key, value in contact.extra.items():
            grid.add_row(Text(str(key)), Text(str(value)))
        grid.add_row("In stage since", format_local(contact.stage_entered_at, zone))
        grid.add_row("Created", format_local(contact.created_at, zone))
        parts = [grid]
        if contact.notes:
            parts += [Text(""), Text("Notes", style="bold"), Text(contact.notes)]
        self.update(Group(*parts))


class ScorePanel(Static):
    def show(self, view) -> None:
        title = Text(f"Score {shown(view.score)}", style="bold")
        if view.score_lines is None:
            self.update(Group(title, Text("no explanation available", style="dim")))
            return
        if not view.score_lines:
            self.update(Group(title, Text("no rule applies yet", style="dim")))
            return
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(overflow="fold")
        for line in view.score_lines:
            grid.add_row(f"{line.points:+d}", Text(line.rule))
            if line.detail:  # the figures the rule read, on a line of their own
                grid.add_row("", Text(line.detail, style="dim"))
        self.update(Group(title, grid))


class FollowUpsPanel(Static):
    def show(self, view, zone: tzinfo, now: datetime) -> None:
        title = Text("Open follow-ups", style="bold")
        if not view.open_followups:
            self.update(Group(title, Text("none — press a to add one", style="dim")))
            return
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        # The theme's own error colour, readable on its light and dark backgrounds.
        overdue = f"bold {self.app.get_css_variables().get('text-error', '')}".strip()
        for followup in view.open_followups:
            note = Text(followup.note or "")
            if followup.recurrence:
                note.append(f"  ({recurrence_words(followup.recurrence)})", style="dim")
            due = due_text(followup.due_at, now, overdue)
            grid.add_row(format_local(followup.due_at, zone), due, note)
        self.update(Group(title, grid))


class TimelinePanel(Static):
    def show(self, view, zone: tzinfo) -> None:
        title = Text("Timeline", style="bold")
        if not view.timeline:
            self.update(Group(title, Text("nothing yet — press l to log a call", style="dim")))
            return
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        block = None
        for entry in view.timeline:
            if entry.merged_from_id != block:  # a merged contact's history: its own block
                block = entry.merged_from_id
                heading = f"from #{block} {entry.merged_from_name}, merged into this contact"
                grid.add_row(Text("merged", style="italic"), "", Text(heading, style="bold"))
            grid.add_row(format_local(entry.at, zone), *_timeline_cells(entry))
        self.update(Group(title, grid))


def _timeline_cells(entry) -> tuple[Text, Text]:
    if entry.interaction is not None:
        interaction = entry.interaction
        summary = Text(interaction.summary or "")
        if interaction.amount_cents is not None:
            summary.append(f"  ({_money(interaction.amount_cents)})", style="bold")
        return Text(interaction.kind), summary
    change = entry.stage_change
    if change.from_stage is None:
        return Text("created", style="italic"), Text(f"in {change.to_stage}")
    moved = Text(f"{change.from_stage} → {change.to_stage}")
    if change.reason:
        moved.append(f"  ({change.reason})", style="dim")
    return Text("stage", style="italic"), moved
