"""Messages between the TUI's workers, screens and the app.

Workers run in threads with their own sessions and post one of these back;
the handlers on the UI thread update widgets. Each carries read models or
plain values, never live ORM rows.
"""

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class DataChanged(Message, bubble=False):
    """The database changed (here or in another program): show fresh data.

    The app sends it to every screen of the current mode's stack, and to a
    mode's screen when the user comes back to it after a change. Screens
    that show data handle it by reloading."""


@dataclass
class DataVersionMoved(Message):
    """The poll saw a commit from another connection (for the app only)."""


@dataclass
class ZoneLoaded(Message):
    zone: Any  # tzinfo: dates are shown and typed in it


@dataclass
class WorkFailed(Message):
    """A worker hit an error meant for the user; shown as a notification."""

    text: str


@dataclass
class ContactsPageLoaded(Message):
    """A page for the contact table; `request` tells stale answers apart."""

    request: int
    rows: list
    next_key: Any
    append: bool
    keep_contact_id: int | None = None  # put the cursor back on this contact


@dataclass
class ContactsCounted(Message):
    request: int
    total: int


@dataclass
class ContactLoaded(Message):
    view: Any  # data.ContactView


@dataclass
class ContactMissing(Message):
    """The contact shown was deleted or purged meanwhile."""

    text: str


@dataclass
class NeighbourFound(Message):
    contact_id: int | None
    forward: bool


@dataclass
class ContactTrashed(Message):
    contact_id: int
    name: str


@dataclass
class FormSaved(Message):
    result: Any


@dataclass
class FormRejected(Message):
    """A service refused the form's values; `field` names the input to
    mark (None: a message for the whole form)."""

    field: str | None
    text: str
