"""The contact table: a DataTable over a window of keyset pages.

It holds only the rows fetched so far (a page at a time, ~200 rows) and asks
its screen for the next page when the cursor nears the end, so 100,000
contacts cost what one page costs. It never queries: the screen's workers
fetch, the table shows.
"""

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from minicrm.dates import format_local
from minicrm.tui.widgets.cards import NOTHING, shown

# (sort name, header, width); None is the name column, which takes what is left.
WIDE_COLUMNS = (
    ("name", "Name", None),
    ("company", "Company", 20),
    ("stage", "Stage", 9),
    ("score", "Score", 5),
    ("owner", "Owner", 8),
    ("city", "City", 14),
    ("updated", "Updated", 10),
)
# Below WIDE_FROM the city goes (it still sorts, with s) and the company narrows.
NARROW_COLUMNS = tuple(
    (key, label, 16 if key == "company" else width)
    for key, label, width in WIDE_COLUMNS
    if key != "city"
)
WIDE_FROM = 110  # terminal columns
MIN_NAME_WIDTH = 14
FETCH_AHEAD = 40  # rows left below the cursor when the next page is asked for
DESCENDING_FIRST = frozenset({"score", "updated"})  # best and newest first


class ContactTable(DataTable):
    """Rows are keyed by contact id; the header shows the sort with an arrow."""

    # A row table: Home and End go to the first and last row fetched (End
    # then fetches the next page), not to the first and last column.
    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    @dataclass
    class NeedMore(Message):
        """The cursor is near the last row fetched and more exist."""

        table: "ContactTable"

    @dataclass
    class SortRequested(Message):
        """A header was clicked: sort by that column (again: reverse it)."""

        table: "ContactTable"
        order_by: str

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.order_by = "name"
        self.descending = False
        self.has_more = False
        self.zone = None
        self._rows: list = []  # the fetched ContactRows, in order
        self._ids: set[int] = set()
        self._layout: tuple = ()

    # ------------------------------------------------------------ columns

    def set_order(self, order_by: str, descending: bool) -> None:
        self.order_by, self.descending = order_by, descending
        self._rebuild(force=True)

    def _columns_for(self, width: int) -> tuple:
        spec = WIDE_COLUMNS if width >= WIDE_FROM else NARROW_COLUMNS
        # Each cell has one column of padding either side; then the scrollbar and a spare one.
        fixed = sum(w + 2 for _, _, w in spec if w) + 2 + 2 + 1
        name_width = max(MIN_NAME_WIDTH, width - fixed)
        return tuple((key, label, w or name_width) for key, label, w in spec)

    def _header(self, key: str, label: str) -> Text:
        if key != self.order_by:
            return Text(label)
        return Text(f"{label} {'▼' if self.descending else '▲'}", style="bold")

    def _rebuild(self, *, force: bool = False) -> None:
        layout = self._columns_for(self.size.width or self.app.size.width)
        if layout == self._layout and not force:
            return
        self._layout = layout
        keep = self.current_contact_id
        rows, self._rows, self._ids = self._rows, [], set()
        self.clear(columns=True)
        for key, label, width in layout:
            self.add_column(self._header(key, label), key=key, width=width)
        self._add(rows)
        self._restore_cursor(keep)

    def on_mount(self) -> None:
        self._rebuild(force=True)

    def on_resize(self, _event: events.Resize) -> None:
        self._rebuild()

    # --------------------------------------------------------------- rows

    def show_rows(
        self, rows: list, *, append: bool, has_more: bool, keep_contact_id: int | None = None
    ) -> None:
        """Show a fetched page: appended below, or replacing what was there."""
        self.has_more = False  # moving the cursor while rows change asks for nothing
        if not append:
            self._rows, self._ids = [], set()
            self.clear()
        self._add(rows)
        if not append:
            self._restore_cursor(keep_contact_id)
        self.has_more = has_more

    def _add(self, rows: list) -> None:
        columns = [key for key, _, _ in self._layout]
        for row in rows:
            # A contact edited between two page fetches can sort into the next
            # page again; one line per contact.
            if row.id in self._ids:
                continue
            self._ids.add(row.id)
            self._rows.append(row)
            self.add_row(*(self._cell(row, key) for key in columns), key=str(row.id))

    def _cell(self, row, key: str):
        # Text, never str: DataTable would parse a str as markup, per cell.
        if key == "score":
            return Text(shown(row.score).rjust(5))
        if key == "stage" and row.stage is None:  # a contact without deals
            return Text(NOTHING)
        if key == "updated":
            day = format_local(row.updated_at, self.zone, with_time=False) if self.zone else ""
            return Text(day)
        return Text(getattr(row, key) or "", no_wrap=True, overflow="ellipsis")

    @property
    def current_contact_id(self) -> int | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        return int(row_key.value)

    @property
    def loaded_rows(self) -> list:
        return list(self._rows)

    def _restore_cursor(self, contact_id: int | None) -> None:
        if contact_id is None:
            return
        for index, row in enumerate(self._rows):
            if row.id == contact_id:
                self.move_cursor(row=index, animate=False)
                return

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self.has_more and self.row_count and new.row >= self.row_count - FETCH_AHEAD:
            self.post_message(self.NeedMore(self))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.post_message(self.SortRequested(self, str(event.column_key.value)))
