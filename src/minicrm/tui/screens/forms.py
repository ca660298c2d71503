"""Modal screens: the forms of the contact screen, a yes/no question, and
the list of keys.

A form saves through the `save` function it is given, in a thread worker,
with the same services the CLI calls: a ValidationError comes back as a
message under the field it names, any other user error under the form, and
nothing is written until the service accepts the whole form.
"""

from collections.abc import Callable
from typing import Any

from rich.table import Table
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Select, Static, TextArea

from minicrm.errors import CrmError, ValidationError
from minicrm.tui.messages import FormRejected, FormSaved
from minicrm.tui.widgets.form_fields import (
    FormField,
    preview_when,
    recurrence_words,
    text_input,
)

Save = Callable[[dict[str, str]], Any]


class FormScreen(ModalScreen):
    """A form over the screen it was opened from; dismisses with what
    `save` returned, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]
    heading = "Form"

    def __init__(self, save: Save, *, subject: str = ""):
        super().__init__()
        self._save = save
        self.subject = subject

    def form_fields(self) -> ComposeResult:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            title = f"{self.heading} · {self.subject}" if self.subject else self.heading
            yield Static(title, classes="form-title")
            with VerticalScroll(classes="form-body"):
                yield from self.form_fields()
            yield Static("", id="form-error", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Save  ctrl+s", variant="primary", id="save")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#form-error", Static).display = False

    def field(self, name: str) -> FormField:
        return self.query_one(f"#field-{name}", FormField)

    def values(self) -> dict[str, str]:
        # A hidden field (the lost reason once another stage is picked) says nothing.
        return {f.field_name: f.value for f in self.query(FormField) if f.display}

    # ------------------------------------------------------------- saving

    def action_save(self) -> None:
        for form_field in self.query(FormField):
            form_field.show_error("")
        self.query_one("#form-error", Static).display = False
        self.run_save(self.values())

    @work(thread=True, exclusive=True, group="form-save", exit_on_error=False)
    def run_save(self, values: dict[str, str]) -> None:
        try:
            result = self._save(values)
        except ValidationError as exc:
            self.post_message(FormRejected(exc.field, exc.message))
        except Exception as exc:  # any other refusal goes under the form; nothing was saved
            from minicrm.tui.data import failure_text

            self.post_message(FormRejected(None, failure_text(exc)))
        else:
            self.post_message(FormSaved(result))

    def on_form_saved(self, message: FormSaved) -> None:
        self.dismiss(message.result)

    def on_form_rejected(self, message: FormRejected) -> None:
        for form_field in self.query(FormField):
            if message.field in form_field.answers_for and form_field.display:
                form_field.show_error(message.text)
                form_field.control.focus()
                return
        error = self.query_one("#form-error", Static)
        error.update(message.text)
        error.display = True

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _enter_saves(self) -> None:
        self.action_save()

    # ------------------------------------------------------ live previews

    # How this form's WHEN reads a day said without a year: what happened
    # (a logged call) looks back, what is to do (a follow-up) ahead.
    when_looks_back = False

    def preview_when_field(self, name: str) -> None:
        form_field = self.field(name)
        text, warning = preview_when(
            form_field.value,
            now=self.app.now(),
            zone=self.app.zone,
            looking_back=self.when_looks_back,
            scheduling=not self.when_looks_back,
        )
        form_field.show_note(text, warning=warning)


class LogInteractionForm(FormScreen):
    heading = "Log an interaction"
    when_looks_back = True

    def __init__(self, save: Save, *, subject: str = "", kinds=(), kind: str = "call"):
        super().__init__(save, subject=subject)
        self.kinds, self.kind = kinds, kind

    def form_fields(self) -> ComposeResult:
        kinds = Select(
            [(k, k) for k in self.kinds], value=self.kind, allow_blank=False, compact=True
        )
        yield FormField("kind", "Kind", kinds)
        yield FormField("summary", "Summary", text_input(placeholder="what happened"))
        yield FormField("when", "When", text_input("now", placeholder="now, 2h ago, yesterday 3pm"))
        yield FormField("amount", "Amount", text_input(placeholder="for quotes and purchases"))

    def on_mount(self) -> None:
        self.field("summary").control.focus()
        self.preview_when_field("when")

    @on(Input.Changed, "#field-when Input")
    def _when_changed(self) -> None:
        self.preview_when_field("when")


class FollowUpForm(FormScreen):
    heading = "Add a follow-up"

    def form_fields(self) -> ComposeResult:
        yield FormField("when", "When", text_input(placeholder="tomorrow 10am, next friday, +2d"))
        yield FormField("note", "Note", text_input(placeholder="what to do"))
        yield FormField(
            "every",
            "Every",
            text_input(placeholder="optional: week, 2 weeks, month…"),
            answers_for=("recurrence",),
        )

    def on_mount(self) -> None:
        self.field("when").control.focus()

    @on(Input.Changed, "#field-when Input")
    def _when_changed(self) -> None:
        self.preview_when_field("when")

    @on(Input.Changed, "#field-every Input")
    def _every_changed(self) -> None:
        from minicrm.services.followups.followups import parse_recurrence

        form_field = self.field("every")
        try:
            rule = parse_recurrence(form_field.value)
        except CrmError as exc:
            form_field.show_note(exc.message, warning=True)
        else:
            form_field.show_note(f"→ {recurrence_words(rule)}  ({rule})" if rule else "")


class StageForm(FormScreen):
    """Pick a stage; lost also asks why."""

    heading = "Change stage"

    def __init__(self, save: Save, *, subject="", stages=(), current="", reasons=()):
        super().__init__(save, subject=f"{subject} (now {current})" if current else subject)
        self.stages, self.current, self.reasons = list(stages), current, list(reasons)

    def form_fields(self) -> ComposeResult:
        choices = [s for s in self.stages if s != self.current]
        following = self._following_stage(choices)
        stage = Select([(s, s) for s in choices], value=following, allow_blank=False, compact=True)
        yield FormField("stage", "Move to", stage)
        reason = text_input(
            placeholder=", ".join(self.reasons), suggester=SuggestFromList(self.reasons)
        )
        yield FormField("reason", "Lost because", reason, answers_for=("lost_reason",))

    def _following_stage(self, choices: list[str]) -> str:
        if self.current in self.stages:
            after = self.stages[self.stages.index(self.current) + 1 :]
            for stage in after:
                if stage in choices:
                    return stage
        return choices[0]

    def on_mount(self) -> None:
        self._show_reason()
        self.field("stage").control.focus()

    @on(Select.Changed)
    def _show_reason(self) -> None:
        self.field("reason").display = self.field("stage").value == "lost"


class LineForm(FormScreen):
    """One deal line, typed the way `crm deal line add` takes it."""

    heading = "Add a line"

    def form_fields(self) -> ComposeResult:
        spec = text_input(placeholder="PRODUCT x QTY [@ PRICE] [-D%]")
        yield FormField("spec", "Line", spec, answers_for=("line", "product", "quantity"))

    def on_mount(self) -> None:
        self.field("spec").show_note("e.g. Widget x 3 -10%, or Repair x 1 @ 80")
        self.field("spec").control.focus()


EDIT_FIELDS = (
    ("name", "Name"), ("email", "Email"), ("phone", "Phone"), ("company", "Company"),
    ("title", "Title"), ("city", "City"), ("region", "Region"), ("country", "Country"),
    ("industry", "Industry"), ("source", "Source"), ("owner", "Owner"), ("value", "Value"),
)  # fmt: skip


def edit_form_start(contact) -> dict[str, str]:
    """The edit form's starting text per field, to tell what the user changed."""
    start = {name: getattr(contact, name) or "" for name, _ in EDIT_FIELDS if name != "value"}
    start["value"] = "" if contact.value is None else str(contact.value)
    start["tags"] = ", ".join(contact.tags)
    start["notes"] = contact.notes or ""
    return start


def contact_changes(
    start: dict[str, str], values: dict[str, str]
) -> tuple[dict[str, str], list[str], list[str]]:
    """(changed fields, tags to add, tags to remove) between two form states.
    Tags compare folded, as they are stored: typing VIP keeps vip."""
    from minicrm.text import fold

    fields = {k: v for k, v in values.items() if k != "tags" and v != start.get(k, "")}

    def tags(text: str) -> dict[str, str]:
        return {fold(t).lstrip("#"): t.strip() for t in text.split(",") if t.strip()}

    before, after = tags(start.get("tags", "")), tags(values.get("tags", ""))
    add = [after[t] for t in sorted(after.keys() - before.keys())]
    remove = [before[t] for t in sorted(before.keys() - after.keys())]
    return fields, add, remove


class EditContactForm(FormScreen):
    heading = "Edit contact"

    def __init__(self, save: Save, *, contact, start: dict[str, str] | None = None):
        super().__init__(save, subject=f"#{contact.id} {contact.name}")
        self.start = start or edit_form_start(contact)

    def form_fields(self) -> ComposeResult:
        for name, label in EDIT_FIELDS:
            yield FormField(name, label, text_input(self.start[name]))
        tags = text_input(self.start["tags"], placeholder="vip, wholesale")
        yield FormField("tags", "Tags", tags)
        yield FormField("notes", "Notes", TextArea(self.start["notes"], compact=True))

    def on_mount(self) -> None:
        self.field("name").control.focus()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; dismisses with True for yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="form confirm"):
            yield Static(self.question, classes="form-title")
            with Horizontal(classes="form-buttons"):
                yield Button("Yes  y", variant="error", id="yes")
                yield Button("No  n", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class KeysScreen(ModalScreen):
    """`?`: the keys of the screen it was opened on, app keys included."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        shown = set()
        for active in self.under.active_bindings.values():
            binding = active.binding
            if binding.description and (binding.action, binding.description) not in shown:
                shown.add((binding.action, binding.description))
                table.add_row(self.app.get_key_display(binding), binding.description)
        table.add_row(self.app.get_key_display(Binding("ctrl+p", "")), "Command palette")
        with VerticalScroll(classes="form keys"):
            yield Static(f"Keys · {self.under.__class__.__name__.removesuffix('Screen')}",
                         classes="form-title")  # fmt: skip
            yield Static(table, id="keys-list")
            yield Static("esc closes", classes="field-note")
