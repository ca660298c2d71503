"""One contact: fields and tags, score with its explanation, its deals, open
follow-ups, the timeline; keys to log, schedule, move, edit, delete and walk
the list; enter on a deal opens it."""

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from minicrm.errors import NotFoundError
from minicrm.tui import data
from minicrm.tui.messages import (
    ContactLoaded,
    ContactMissing,
    ContactTrashed,
    NeighbourFound,
    WorkFailed,
)
from minicrm.tui.screens import CrmScreen
from minicrm.tui.screens.forms import (
    ConfirmScreen,
    EditContactForm,
    FollowUpForm,
    LogInteractionForm,
    StageForm,
    contact_changes,
    edit_form_start,
)
from minicrm.tui.widgets.cards import NOTHING, FitTable, short_money
from minicrm.tui.widgets.profile import (
    ContactHeading,
    FieldsPanel,
    FollowUpsPanel,
    ScorePanel,
    TimelinePanel,
)

DEAL_COLUMNS = [("Deal", None), ("Stage", 9), (FitTable.number("Value"), 7), ("Close", 10)]
NEEDS_CONTACT = frozenset({"log", "followup", "stage", "edit", "delete", "next", "previous"})


class ContactScreen(CrmScreen):
    """Opened over the contact list (or any screen) with the list's order,
    so n and b walk the same order the table shows."""

    # `?` first so it stays in an 80-column footer; the app's keys follow.
    BINDINGS = [
        Binding("question_mark", "app.keys", "Keys"),
        Binding("l", "log", "Log"),
        Binding("a", "followup", "Follow-up"),
        Binding("s", "stage", "Stage"),
        Binding("e", "edit", "Edit"),
        Binding("x", "delete", "Delete"),
        Binding("n", "next", "Next"),
        Binding("b", "previous", "Previous"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, contact_id: int, order: data.TableQuery | None = None):
        super().__init__()
        self.contact_id = contact_id
        self.order = order or data.TableQuery()
        self.view: data.ContactView | None = None

    def compose(self) -> ComposeResult:
        yield ContactHeading("Loading…", id="contact-heading")
        with VerticalScroll(id="contact-body"):
            with Horizontal(id="contact-top"):
                yield FieldsPanel(id="contact-fields")
                yield ScorePanel(id="contact-score")
            yield Static("Deals", id="contact-deals-heading")
            yield FitTable(DEAL_COLUMNS, empty="no deals yet", id="contact-deals")
            yield FollowUpsPanel(id="contact-followups")
            yield TimelinePanel(id="contact-timeline")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_CONTACT and self.view is None:
            return None  # shown dimmed until the contact is loaded
        return True

    # ----------------------------------------------------------- loading

    def reload(self) -> None:
        self._load(self.contact_id)

    @work(thread=True, exclusive=True, group="contact-load", exit_on_error=False)
    def _load(self, contact_id: int) -> None:
        try:
            view = data.load_contact(self.app.engine, contact_id, now=self.app.now())
        except NotFoundError as exc:
            self.post_message(ContactMissing(exc.message))
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(ContactLoaded(view))

    def on_contact_loaded(self, message: ContactLoaded) -> None:
        view = message.view
        if view.contact.id != self.contact_id:
            return  # an answer for the contact shown before n/b
        self.view = view
        zone, now = self.app.zone, self.app.now()
        self.query_one(ContactHeading).show(view)
        self.query_one(FieldsPanel).show(view, zone)
        self.query_one(ScorePanel).show(view)
        self.query_one("#contact-deals", FitTable).show(deal_rows(view.deals))
        self.query_one(FollowUpsPanel).show(view, zone, now)
        self.query_one(TimelinePanel).show(view, zone)
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#contact-deals")
    def _deal_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:  # not the "no deals yet" row
            from minicrm.tui.screens.deal import DealScreen

            self.app.push_screen(DealScreen(int(event.row_key.value)))

    def on_contact_missing(self, message: ContactMissing) -> None:
        self.notify(f"This contact is gone: {message.text}", severity="warning")
        self.action_back()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.text, severity="error")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    # ------------------------------------------------------------- forms

    def _saved(self, what: str):
        def done(result) -> None:
            if result is not None:
                self.notify(what)
                self.app.data_changed()  # this screen and the list under it reload

        return done

    def action_log(self) -> None:
        from minicrm.services.followups.interactions import KINDS

        engine, contact_id, app = self.app.engine, self.contact_id, self.app

        def save(values: dict[str, str]):
            return data.log_interaction(engine, contact_id, now=app.now(), **values)

        form = LogInteractionForm(save, subject=self.view.contact.name, kinds=KINDS)
        self.app.push_screen(form, self._saved("Interaction logged"))

    def action_followup(self) -> None:
        engine, contact_id, app = self.app.engine, self.contact_id, self.app

        def save(values: dict[str, str]):
            return data.add_followup(engine, contact_id, now=app.now(), **values)

        form = FollowUpForm(save, subject=self.view.contact.name)
        self.app.push_screen(form, self._saved("Follow-up added"))

    def action_stage(self) -> None:
        from minicrm.services.deals.stages import LOST_REASONS

        engine, contact_id, app = self.app.engine, self.contact_id, self.app

        def save(values: dict[str, str]):
            return data.move_stage(engine, contact_id, now=app.now(), **values)

        contact = self.view.contact
        form = StageForm(
            save,
            subject=contact.name,
            stages=self.view.stages,
            current=contact.stage,
            reasons=LOST_REASONS,
        )
        self.app.push_screen(form, self._saved("Stage changed"))

    def action_edit(self) -> None:
        engine, contact, app = self.app.engine, self.view.contact, self.app
        start = edit_form_start(contact)

        def save(values: dict[str, str]):
            fields, add_tags, remove_tags = contact_changes(start, values)
            if not (fields or add_tags or remove_tags):
                return contact  # nothing changed: nothing to write
            return data.edit_contact(
                engine,
                contact.id,
                fields=fields,
                add_tags=add_tags,
                remove_tags=remove_tags,
                version=contact.version,
                now=app.now(),
            )

        form = EditContactForm(save, contact=contact, start=start)
        self.app.push_screen(form, self._saved("Contact saved"))

    # ------------------------------------------------------------ delete

    def action_delete(self) -> None:
        contact = self.view.contact

        def answered(yes: bool | None) -> None:
            if yes:
                self._trash(contact.id)

        question = (
            f"Move #{contact.id} {contact.name} to the trash?\n(`crm restore` brings it back)"
        )
        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exit_on_error=False)
    def _trash(self, contact_id: int) -> None:
        try:
            gone = data.trash_contact(self.app.engine, contact_id, now=self.app.now())
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(ContactTrashed(gone.id, gone.name))

    def on_contact_trashed(self, message: ContactTrashed) -> None:
        self.notify(f"#{message.contact_id} {message.name} moved to the trash")
        self.action_back()
        self.app.data_changed()

    # ---------------------------------------------------------- next/prev

    def action_next(self) -> None:
        self._neighbour(self.contact_id, True)

    def action_previous(self) -> None:
        self._neighbour(self.contact_id, False)

    @work(thread=True, exclusive=True, group="contact-neighbour", exit_on_error=False)
    def _neighbour(self, contact_id: int, forward: bool) -> None:
        try:
            found = data.find_neighbour(self.app.engine, contact_id, self.order, forward=forward)
        except Exception as exc:  # shown, never raised into the app
            self.post_message(WorkFailed(data.failure_text(exc)))
        else:
            self.post_message(NeighbourFound(found, forward))

    def on_neighbour_found(self, message: NeighbourFound) -> None:
        if message.contact_id is None:
            self.notify("This is the last contact" if message.forward else "This is the first one")
            return
        self.contact_id = message.contact_id
        self.query_one("#contact-body", VerticalScroll).scroll_home(animate=False)
        self.reload()


def deal_rows(deals) -> list[tuple[str, list[Text]]]:
    """A contact's or company's deals as table rows keyed by deal id."""
    return [
        (
            str(d.id),
            [
                Text(d.title),
                Text(d.stage),
                Text(short_money(d.value_cents), justify="right"),
                Text(d.expected_close.isoformat() if d.expected_close else NOTHING),
            ],
        )
        for d in deals
    ]
