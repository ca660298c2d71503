"""Display pieces shared by the dashboard, follow-ups, pipeline and reports
screens: how money, rates, days and due times read, the pipeline's contact
cards, and a table whose columns fit the width it is given."""

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable

from minicrm.models import ContactRead, DealRead

NOTHING = "–"


def money(cents: int | None) -> str:
    """1,250 or 1,250.50: cents only when there are some."""
    if cents is None:
        return NOTHING
    if cents % 100 == 0:
        return f"{cents // 100:,}"
    return f"{cents / 100:,.2f}"


def short_money(cents: int | None) -> str:
    """Narrow columns: 950, 12.5k, 1.2M."""
    if cents is None:
        return NOTHING
    major = cents / 100
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(major) >= limit:
            return f"{major / limit:.1f}".removesuffix(".0") + suffix
    return f"{major:,.0f}"


def rate(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1%}"


def days(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1f}"


def day_label(at: datetime, now: datetime, zone: tzinfo) -> str:
    """Close dates by name ("today 14:00", "Fri 09:00", "yesterday 10:15"),
    far ones in full, always in the local zone."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    names = {today: "today", today + timedelta(days=1): "tomorrow"}
    names[today - timedelta(days=1)] = "yesterday"
    if local.date() in names:
        return f"{names[local.date()]} {clock}"
    if abs((local.date() - today).days) < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d")


def due_label(due_at: datetime, now: datetime, zone: tzinfo) -> str:
    """When a follow-up is due; one from before yesterday says how late it is."""
    local, today = due_at.astimezone(zone).date(), now.astimezone(zone).date()
    if (today - local).days > 1:
        return f"{local.strftime('%b %d')}, {(today - local).days}d late"
    return day_label(due_at, now, zone)


def repeats(recurrence: str | None) -> str:
    """A stored RRULE as a short word for a table cell."""
    if not recurrence:
        return ""
    parts = dict(p.split("=", 1) for p in recurrence.split(";") if "=" in p)
    every = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
    unit = every.get(parts.get("FREQ", ""), "")
    if parts.get("BYDAY") == "MO,TU,WE,TH,FR":
        return "weekdays"
    interval = int(parts.get("INTERVAL", "1") or 1)
    if not unit:
        return "repeats"
    return f"every {interval} {unit}s" if interval > 1 else f"every {unit}"


def card(contact: ContactRead, width: int) -> Text:
    """A contact card two lines high: the name, then value and score, each
    cut to `width` (an option list wraps what is too long)."""
    name = Text(contact.name, style="bold")
    name.truncate(max(width, 1), overflow="ellipsis")
    figures = Text(f"{short_money(contact.value_cents)} ")
    figures.append(f"★{shown(contact.score)}", style="dim")
    figures.truncate(max(width, 1), overflow="ellipsis")
    return Text("\n").join([name, figures])


def deal_card(deal: DealRead, width: int) -> Text:
    """A pipeline card: the deal's title; its company (or contact) unless the
    title already says it; its value and score, then its expected close date
    on the same line when there is room for it, else on a line of its own.
    Lines are cut to `width` (an option list wraps what is too long)."""
    width = max(width, 1)
    title = Text(deal.title, style="bold")
    lines = [title]
    who = deal.company or deal.contact_name
    if who != deal.title:  # a contact's first deal is titled with its name: once is enough
        lines.append(Text(who or NOTHING, style="italic"))
    figures = Text(short_money(deal.value_cents))
    figures.append(f" ★{deal.score}", style="dim")
    lines.append(figures)
    if deal.expected_close is not None:
        close = close_label(deal.expected_close)
        if figures.cell_len + 1 + len(close) <= width:
            figures.append(f" {close}")
        else:
            lines.append(Text(close))
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join(lines)


def close_label(day) -> str:
    """An expected close date on a card: the ISO day, unambiguous in any locale."""
    return day.isoformat()


def shown(value) -> str:
    """A figure that may be missing (a contact without deals has no stage or
    score): the dash, else the value."""
    return NOTHING if value is None else str(value)


class FitTable(DataTable):
    """A row-cursor table whose columns share its width: fixed columns keep
    theirs, flexible ones (width None) split the rest, and long text ends in
    an ellipsis instead of pushing the table into a sideways scroll.

    `show(rows)` replaces the rows (keyed, cells as Text) and keeps the cursor
    on the same key when it is still there, else at the same position."""

    def __init__(
        self, columns: Sequence[tuple[str | Text, int | None]], *, empty: str = "", **kwargs
    ):
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.spec = list(columns)
        self.empty = empty
        self._rows: list[tuple[str, list[Text]]] = []
        self._fitted_to = -1

    @staticmethod
    def number(label: str) -> Text:
        """A heading for a column of figures, right-aligned like them."""
        return Text(label, justify="right")

    def widths(self, total: int) -> list[int]:
        padding = 2 * self.cell_padding * len(self.spec)
        fixed = sum(w for _label, w in self.spec if w is not None)
        flexible = [i for i, (_label, w) in enumerate(self.spec) if w is None]
        # Room stays free for the vertical scrollbar a long list brings.
        gutter = self.styles.scrollbar_size_vertical
        room = max(len(flexible) * 4, total - padding - fixed - gutter)
        share, extra = divmod(room, max(len(flexible), 1))
        return [
            w if w is not None else share + (1 if flexible.index(i) < extra else 0)
            for i, (_label, w) in enumerate(self.spec)
        ]

    def show(self, rows: list[tuple[str, list[Text]]]) -> None:
        self._rows = rows
        self._render_rows()

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return key or None

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._fitted_to:
            self._render_rows()

    def _render_rows(self) -> None:
        if not self.spec:
            return
        kept_key, kept_row = self.selected_key(), self.cursor_row
        self._fitted_to = self.size.width
        widths = self.widths(self.size.width)
        self.clear(columns=True)
        for (label, _w), width in zip(self.spec, widths, strict=True):
            heading = label.copy() if isinstance(label, Text) else Text(label)
            self.add_column(_fit(heading, width), width=width)
        for key, cells in self._rows:
            fitted = [_fit(cell, width) for cell, width in zip(cells, widths, strict=True)]
            self.add_row(*fitted, key=key)
        if not self._rows and self.empty:
            # In the first flexible column: the widest place for a sentence.
            flexible = [w is None for _label, w in self.spec]
            at = flexible.index(True) if any(flexible) else 0
            cells = [Text("")] * len(self.spec)
            cells[at] = _fit(Text(self.empty, style="italic"), widths[at])
            self.add_row(*cells, key="")
        keys = [key for key, _cells in self._rows]
        row = keys.index(kept_key) if kept_key in keys else min(kept_row, len(keys) - 1)
        self.move_cursor(row=max(row, 0), animate=False)


def _fit(cell: Text, width: int) -> Text:
    cell = cell.copy()
    cell.no_wrap = True
    if cell.cell_len > width:
        cell.truncate(width, overflow="ellipsis")
    return cell
