"""Display pieces shared by the dashboard, follow-ups, pipeline and reports
screens: how money, rates, days and due times read, the pipeline's contact
cards, and a table whose columns fit the width it is given."""

from collections.abc import Sequence
from dataclasses import dataclass
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


def short_when(at: datetime, now: datetime, zone: tzinfo) -> str:
    """A time in at most 11 cells, for a narrow column: "today 14:00", a
    weekday within the week either side ("Fri 09:00"), the day this year
    ("Nov 20"), else the date ("2025-11-20"); in the local zone."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return local.strftime("today %H:%M")
    if abs((local.date() - today).days) < 7:
        return local.strftime("%a %H:%M")
    if local.year == today.year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def late_label(due_at: datetime, now: datetime, zone: tzinfo) -> str:
    """When a follow-up is due, for a narrow column: "3d late" once its day
    has passed, else as short_when says."""
    late = (now.astimezone(zone).date() - due_at.astimezone(zone).date()).days
    return f"{late}d late" if late > 0 else short_when(due_at, now, zone)


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


MIN_CUT = 4  # the narrowest a column that may be cut becomes, its ellipsis included


@dataclass(frozen=True)
class Column:
    """How one FitTable column takes its width.

    `width` fixes it. Otherwise it shares the table's room: a `fit` column
    wants as much as its widest cell (the heading and the empty-state text
    count), a plain one all it can get. When room is short, the columns that
    want most are cut first, each down to the same width (never below
    MIN_CUT), so a short name stays whole beside a long note; a column that
    must not be cut (`cut=False`: a date, a figure) keeps its whole width.
    What is left once every column has its fill goes to the `grow` ones."""

    label: str | Text
    width: int | None = None
    fit: bool = False
    cut: bool = True
    grow: bool = False

    @classmethod
    def of(cls, spec: "Column | tuple[str | Text, int | None]") -> "Column":
        """(label, width) as the older screens write it: a width fixes the
        column, None shares the room equally."""
        return spec if isinstance(spec, Column) else cls(spec[0], width=spec[1])


def share_room(columns: Sequence[Column], wanted: Sequence[int | None], room: int) -> list[int]:
    """Column widths that add up to `room` where they can: each column gets
    its floor, then the room left is shared out evenly among the columns
    still short of what they want (`wanted[i]`, None for no limit), level by
    level, so the hungriest are the ones cut; the rest goes to `grow` columns."""
    widths = [_floor(c, want) for c, want in zip(columns, wanted, strict=True)]

    def short(i: int) -> bool:
        return wanted[i] is None or widths[i] < wanted[i]

    left = room - sum(widths)
    hungry = [i for i, c in enumerate(columns) if c.width is None and c.cut and short(i)]
    while left > 0 and hungry:
        share, extra = divmod(left, len(hungry))
        for number, i in enumerate(hungry):
            give = share + (number < extra)
            if wanted[i] is not None:
                give = min(give, wanted[i] - widths[i])
            widths[i] += give
            left -= give
        hungry = [i for i in hungry if short(i)]
    growing = [i for i, c in enumerate(columns) if c.grow]
    if left > 0 and growing:
        share, extra = divmod(left, len(growing))
        for number, i in enumerate(growing):
            widths[i] += share + (number < extra)
    return widths


def _floor(column: Column, want: int | None) -> int:
    if column.width is not None:
        return column.width
    if want is None:
        return MIN_CUT
    return min(want, MIN_CUT) if column.cut else want


class FitTable(DataTable):
    """A row-cursor table whose columns share its width (see Column): long
    text ends in an ellipsis instead of pushing the table into a sideways
    scroll, and the room goes where the text is.

    `show(rows)` replaces the rows (keyed, cells as Text) and keeps the cursor
    on the same key when it is still there, else at the same position."""

    def __init__(
        self,
        columns: Sequence[Column | tuple[str | Text, int | None]],
        *,
        empty: str = "",
        **kwargs,
    ):
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.spec = [Column.of(c) for c in columns]
        self.empty = empty
        self._rows: list[tuple[str, list[Text]]] = []
        self._fitted_to = -1

    @staticmethod
    def number(label: str) -> Text:
        """A heading for a column of figures, right-aligned like them."""
        return Text(label, justify="right")

    def widths(self, total: int) -> list[int]:
        padding = 2 * self.cell_padding * len(self.spec)
        # Room stays free for the vertical scrollbar a long list brings.
        gutter = self.styles.scrollbar_size_vertical
        return share_room(self.spec, self._wanted(), total - padding - gutter)

    def _wanted(self) -> list[int | None]:
        wanted: list[int | None] = []
        for index, column in enumerate(self.spec):
            if not column.fit:
                wanted.append(None)
                continue
            cells = [cells[index].cell_len for _key, cells in self._rows]
            if not self._rows and index == self._empty_column():
                cells.append(Text(self.empty).cell_len)
            wanted.append(max([_label_text(column.label).cell_len, *cells]))
        return wanted

    def _empty_column(self) -> int:
        """Where the "nothing here" sentence goes: the first column that may
        be cut (a name, a note), the widest place for a sentence."""
        for index, column in enumerate(self.spec):
            if column.width is None and column.cut:
                return index
        return 0

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
        for column, width in zip(self.spec, widths, strict=True):
            self.add_column(_fit(_label_text(column.label), width), width=width)
        for key, cells in self._rows:
            fitted = [_fit(cell, width) for cell, width in zip(cells, widths, strict=True)]
            self.add_row(*fitted, key=key)
        if not self._rows and self.empty:
            at = self._empty_column()
            cells = [Text("")] * len(self.spec)
            cells[at] = _fit(Text(self.empty, style="italic"), widths[at])
            self.add_row(*cells, key="")
        keys = [key for key, _cells in self._rows]
        row = keys.index(kept_key) if kept_key in keys else min(kept_row, len(keys) - 1)
        self.move_cursor(row=max(row, 0), animate=False)


def _label_text(label: str | Text) -> Text:
    return label.copy() if isinstance(label, Text) else Text(label)


def _fit(cell: Text, width: int) -> Text:
    cell = cell.copy()
    cell.no_wrap = True
    if cell.cell_len > width:
        cell.truncate(width, overflow="ellipsis")
    return cell
