"""Screens of `crm tui`, and the base the data-showing ones share."""

from textual import events
from textual.screen import Screen

from minicrm.tui.messages import DataChanged


class CrmScreen(Screen):
    """A screen that shows data and reloads it when the database changes.

    Subclasses implement reload(), which starts their worker. A change seen
    while the screen is covered (a contact opened over the list, a form
    open) is remembered and shown when the screen comes back."""

    _stale = False

    def reload(self) -> None:
        raise NotImplementedError

    def on_data_changed(self, _message: DataChanged) -> None:
        if self.is_current:
            self.reload()
        else:
            self._stale = True

    def on_screen_resume(self, _event: events.ScreenResume) -> None:
        if self._stale:
            self._stale = False
            self.reload()
