"""Form rows: a label, an input, and the line under it where a service's
validation message for that field appears."""

from datetime import datetime, tzinfo

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, TextArea

from minicrm.dates import parse_when
from minicrm.errors import UserError


class FormField(Vertical):
    """One labelled input. `answers_for` lists the service field names
    (ValidationError.field) whose messages belong under this input."""

    DEFAULT_CLASSES = "form-field"

    def __init__(self, name: str, label: str, control: Widget, *, answers_for=(), **kwargs):
        super().__init__(id=f"field-{name}", **kwargs)
        self.field_name = name
        self.label = label
        self.control = control
        self.answers_for = {name, *answers_for}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(self.label, classes="form-label")
            yield self.control
        yield Static("", classes="field-note")
        yield Static("", classes="field-error")

    @property
    def value(self) -> str:
        control = self.control
        if isinstance(control, Select):
            return "" if control.value is Select.NULL else str(control.value)
        if isinstance(control, TextArea):
            return control.text
        return control.value

    def show_error(self, text: str) -> None:
        error = self.query_one(".field-error", Static)
        error.update(text)
        error.display = bool(text)
        self.set_class(bool(text), "-invalid")

    def show_note(self, text: str, *, warning: bool = False) -> None:
        note = self.query_one(".field-note", Static)
        note.update(text)
        note.display = bool(text)
        note.set_class(warning, "-warning")

    def on_mount(self) -> None:
        self.show_error("")
        self.show_note("")


def text_input(value: str | None = "", placeholder: str = "", **kwargs) -> Input:
    return Input(value or "", placeholder=placeholder, compact=True, **kwargs)


def describe_when(moment: datetime, *, now: datetime, zone: tzinfo) -> str:
    """'Tue 2026-05-12 10:00, in 1 day': what a WHEN phrase means, at a glance."""
    local = moment.astimezone(zone)
    seconds = (moment - now).total_seconds()
    days, hours = abs(seconds) // 86_400, abs(seconds) % 86_400 // 3_600
    minutes = abs(seconds) % 3_600 // 60
    if days:
        span = f"{int(days)} day{'s' if days != 1 else ''}"
    elif hours:
        span = f"{int(hours)} h {int(minutes)} min" if minutes else f"{int(hours)} h"
    else:
        span = f"{int(minutes)} min"
    relative = "now" if abs(seconds) < 60 else (f"in {span}" if seconds > 0 else f"{span} ago")
    return f"{local:%a %Y-%m-%d %H:%M}, {relative}"


def preview_when(
    text: str, *, now: datetime, zone: tzinfo, looking_back: bool = False, scheduling: bool = False
) -> tuple[str, bool]:
    """The live preview under a WHEN input: (text, is_warning)."""
    if not text.strip():
        return "", False
    try:
        moment = parse_when(
            text, now=now, zone=zone, looking_back=looking_back, scheduling=scheduling
        )
    except UserError as exc:
        return exc.message, True
    return "→ " + describe_when(moment, now=now, zone=zone), False


_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def recurrence_words(rule: str | None) -> str:
    """A stored RRULE in words: 'every 2 weeks', 'weekdays'; unusual rules as they are."""
    if not rule:
        return ""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    if parts.get("BYDAY") == "MO,TU,WE,TH,FR" and parts.get("FREQ") == "WEEKLY":
        return "weekdays"
    unit = _UNITS.get(parts.get("FREQ", ""))
    if unit is None or set(parts) - {"FREQ", "INTERVAL"}:
        return rule
    interval = int(parts.get("INTERVAL", "1") or 1)
    return f"every {interval} {unit}s" if interval > 1 else f"every {unit}"
