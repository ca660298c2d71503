"""Contacts: a filter box over a table that pages from the database."""

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from minicrm.services.contacts.paging import PAGE_SIZE, SORTS
from minicrm.tui import data
from minicrm.tui.messages import ContactsCounted, ContactsPageLoaded, WorkFailed
from minicrm.tui.screens import CrmScreen
from minicrm.tui.widgets.contact_table import DESCENDING_FIRST, ContactTable


class ContactsScreen(CrmScreen):
    """Type to filter (same folding as `crm search`), sort by any column,
    Enter opens the contact. Rows arrive a page at a time."""

    BINDINGS = [
        Binding("enter", "open_contact", "Open"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = data.TableQuery()
        self._request = 0  # the newest page request; older answers are dropped
        self._next_key = None
        self._fetching_more = False
        self._total: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Contacts", id="screen-title")
        yield Input(placeholder="Filter: part of a name, email, phone, company…  (/)", id="filter")
        yield ContactTable(id="contacts")
        yield Static("", id="contacts-status")
        yield Footer(compact=True)

    @property
    def table(self) -> ContactTable:
        return self.query_one(ContactTable)

    def on_mount(self) -> None:
        self.table.zone = self.app.zone
        self.table.focus()
        self.reload()

    # ----------------------------------------------------------- loading

    def reload(self, *, keep_cursor: bool = True) -> None:
        """Fetch the first page again (after a filter, sort or data change)."""
        self._request += 1
        keep = self.table.current_contact_id if keep_cursor else None
        # Keep enough rows that the cursor's contact is still among them.
        loaded = max(PAGE_SIZE, len(self.table.loaded_rows)) if keep_cursor else PAGE_SIZE
        self._fetch(self._request, self.query_state, None, min(loaded, PAGE_SIZE * 5), keep)

    @work(thread=True, group="contacts-page", exit_on_error=False)
    def _fetch(self, request: int, query: data.TableQuery, after_key, limit: int, keep) -> None:
        engine = self.app.engine
        try:
            page = data.load_page(
                engine, query, after_key=after_key, limit=limit, now=self.app.now()
            )
            self.post_message(
                ContactsPageLoaded(request, page.rows, page.next_key, after_key is not None, keep)
            )
            if after_key is None:  # after the rows: counting may take longer than a page
                total = data.count_contacts(engine, query.filter_text)
                self.post_message(ContactsCounted(request, total))
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))

    def on_contacts_page_loaded(self, message: ContactsPageLoaded) -> None:
        if message.request != self._request:
            return
        self._fetching_more = False
        self._next_key = message.next_key
        self.table.zone = self.app.zone
        self.table.show_rows(
            message.rows,
            append=message.append,
            has_more=message.next_key is not None,
            keep_contact_id=message.keep_contact_id,
        )
        self._show_status()

    def on_contacts_counted(self, message: ContactsCounted) -> None:
        if message.request == self._request:
            self._total = message.total
            self._show_status()

    def _show_status(self) -> None:
        query = self.query_state
        if self._total is None:
            total = "… contacts"
        else:
            total = f"{self._total:,} contact{'' if self._total == 1 else 's'}"
        matching = f" matching {query.filter_text!r}" if query.filter_text else ""
        arrow = "▼" if query.descending else "▲"
        self.query_one("#contacts-status", Static).update(
            f"{total}{matching}  ·  {self.table.row_count:,} loaded  ·  "
            f"sorted by {query.sort} {arrow}"
        )

    @on(ContactTable.NeedMore)
    def _load_more(self) -> None:
        if self._fetching_more or self._next_key is None:
            return
        self._fetching_more = True
        self._fetch(self._request, self.query_state, self._next_key, PAGE_SIZE, None)

    def on_work_failed(self, message: WorkFailed) -> None:
        self._fetching_more = False
        self.notify(message.text, severity="error")

    # ----------------------------------------------------- filter and sort

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_state = data.TableQuery(
            event.value, self.query_state.sort, self.query_state.descending
        )
        self._total = None
        self.reload(keep_cursor=False)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        """Escape: from the filter box back to the table; there, clear the filter."""
        box = self.query_one("#filter", Input)
        if not box.has_focus and box.value:
            box.value = ""  # Input.Changed reloads
        self.table.focus()

    def sort_by(self, order_by: str, descending: bool | None = None) -> None:
        if descending is None:
            same = order_by == self.query_state.sort
            descending = not self.query_state.descending if same else order_by in DESCENDING_FIRST
        self.query_state = data.TableQuery(self.query_state.filter_text, order_by, descending)
        self.table.set_order(order_by, descending)
        self.reload(keep_cursor=False)

    @on(ContactTable.SortRequested)
    def _header_clicked(self, message: ContactTable.SortRequested) -> None:
        self.sort_by(message.order_by)

    def action_next_sort(self) -> None:
        following = SORTS[(SORTS.index(self.query_state.sort) + 1) % len(SORTS)]
        self.sort_by(following, following in DESCENDING_FIRST)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.query_state.sort, not self.query_state.descending)

    # ---------------------------------------------------------------- open

    def action_open_contact(self) -> None:
        contact_id = self.table.current_contact_id
        if contact_id is not None:
            from minicrm.tui.screens.contact import ContactScreen

            self.app.push_screen(ContactScreen(contact_id, self.query_state))

    @on(ContactTable.RowSelected)
    def _row_chosen(self) -> None:
        self.action_open_contact()
