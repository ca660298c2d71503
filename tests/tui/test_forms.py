"""The modal forms on their own: where errors go, what Save returns, the
live WHEN preview, and the edit form's change detection."""

import asyncio
from datetime import UTC, datetime

import pytest
from textual.app import App
from textual.widgets import Static

from minicrm.errors import ConflictError, ValidationError
from minicrm.models import ContactRead
from minicrm.tui.screens.forms import (
    ConfirmScreen,
    EditContactForm,
    FollowUpForm,
    KeysScreen,
    LogInteractionForm,
    StageForm,
    contact_changes,
    edit_form_start,
)
from minicrm.tui.widgets.form_fields import describe_when, preview_when

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday


class Host(App):
    """Just enough app for a form: a clock, a zone, and the form's answer."""

    zone = UTC

    def __init__(self, screen):
        super().__init__()
        self.form = screen
        self.answers = []

    def now(self) -> datetime:
        return NOW

    def on_mount(self) -> None:
        self.push_screen(self.form, self.answers.append)


def contact(**fields) -> ContactRead:
    base = {
        "id": 7, "name": "Maria Lopez", "stage": "interest", "email": "maria@example.com",
        "tags": ["vip"], "value_cents": 125050, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    return ContactRead(**{**base, **fields})


async def settle(pilot):
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


# ------------------------------------------------------------- pure parts


def test_describe_when_reads_at_a_glance():
    assert describe_when(datetime(2026, 11, 24, 10, tzinfo=UTC), now=NOW, zone=UTC) == (
        "Tue 2026-11-24 10:00, in 1 day"
    )
    assert describe_when(datetime(2026, 11, 23, 7, 30, tzinfo=UTC), now=NOW, zone=UTC) == (
        "Mon 2026-11-23 07:30, 2 h ago"
    )
    assert describe_when(NOW, now=NOW, zone=UTC).endswith(", now")
    assert describe_when(datetime(2026, 11, 23, 9, 45, tzinfo=UTC), now=NOW, zone=UTC).endswith(
        "in 15 min"
    )


def test_preview_when_shows_the_date_or_what_is_wrong():
    from zoneinfo import ZoneInfo

    text, warning = preview_when("tomorrow 10am", now=NOW, zone=ZoneInfo("Asia/Tehran"))
    assert text == "→ Tue 2026-11-24 10:00, in 21 h" and not warning  # 06:30 UTC
    text, warning = preview_when("someday", now=NOW, zone=UTC)
    assert "cannot read the date 'someday'" in text and warning
    assert preview_when("  ", now=NOW, zone=UTC) == ("", False)


def test_edit_form_changes_hold_only_what_the_user_changed():
    start = edit_form_start(contact())
    assert start["value"] == "1250.5" and start["tags"] == "vip"
    same = dict(start)
    assert contact_changes(start, same) == ({}, [], [])
    edited = {**start, "company": "Tiles", "tags": "VIP, #Wholesale"}
    fields, add, remove = contact_changes(start, edited)
    assert fields == {"company": "Tiles"}
    assert add == ["#Wholesale"] and remove == []  # VIP is the vip already there
    fields, add, remove = contact_changes(start, {**start, "tags": "", "email": ""})
    assert fields == {"email": ""} and remove == ["vip"]  # '' clears a field


# ------------------------------------------------------------------ forms


@pytest.mark.parametrize(
    "error, where",
    [
        (ValidationError("bad amount", field="amount"), "#field-amount"),
        (ValidationError("odd", field=None), "#form-error"),
        (ValidationError("odd", field="no_such_field"), "#form-error"),
        (ConflictError("someone else saved first"), "#form-error"),
    ],
)
def test_an_error_lands_under_its_field_or_the_form(error, where):
    def save(values):
        raise error

    async def scenario():
        app = Host(LogInteractionForm(save, subject="Maria", kinds=("call", "visit")))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, LogInteractionForm)
            shown = app.screen.query_one(where)
            message = shown if isinstance(shown, Static) else shown.query_one(".field-error")
            assert error.message in str(message.render())
            assert message.display
            assert app.answers == []

    asyncio.run(scenario())


def test_save_gets_the_values_and_the_form_returns_its_result():
    got = []

    def save(values):
        got.append(values)
        return "saved!"

    async def scenario():
        app = Host(LogInteractionForm(save, kinds=("call", "visit"), kind="visit"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"Came by", "enter")
            await settle(pilot)
            assert not isinstance(app.screen, LogInteractionForm)
            assert app.answers == ["saved!"]

    asyncio.run(scenario())
    assert got == [{"kind": "visit", "summary": "Came by", "when": "now", "amount": ""}]


def test_cancel_saves_nothing():
    def save(values):
        raise AssertionError("cancel must not save")

    async def scenario():
        app = Host(FollowUpForm(save))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"tomorrow", "escape")
            await settle(pilot)
            assert app.answers == [None]

    asyncio.run(scenario())


def test_stage_form_offers_the_next_stage_and_hides_the_reason():
    stages = ["awareness", "interest", "decision", "action", "won", "lost"]
    got = []

    async def scenario():
        form = StageForm(got.append, stages=stages, current="interest", reasons=("no budget",))
        app = Host(form)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            choices = [value for _label, value in form.field("stage").control._options]
            assert "interest" not in choices and form.field("stage").value == "decision"
            assert not form.field("reason").display
            form.field("stage").control.value = "lost"
            await pilot.pause()
            assert form.field("reason").display
            form.field("reason").control.value = "no budget"
            form.field("stage").control.value = "won"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await settle(pilot)

    asyncio.run(scenario())
    assert got == [{"stage": "won"}]  # a hidden reason is not sent


def test_edit_form_starts_from_the_contact_and_fits_80x24():
    async def scenario():
        form = EditContactForm(lambda values: values, contact=contact())
        app = Host(form)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert form.field("name").value == "Maria Lopez"
            assert form.field("value").value == "1250.5"
            assert form.field("tags").value == "vip"
            save_button = form.query_one("#save")
            assert save_button.region.bottom <= 24 and save_button.region.width > 0

    asyncio.run(scenario())


@pytest.mark.parametrize("keys, answer", [(["y"], True), (["n"], False), (["escape"], False)])
def test_confirm_answers(keys, answer):
    async def scenario():
        app = Host(ConfirmScreen("Move #7 Maria to the trash?"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
            assert app.answers == [answer]

    asyncio.run(scenario())


def test_confirm_buttons_answer_too():
    async def scenario():
        app = Host(ConfirmScreen("Sure?"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.click("#yes")
            await pilot.pause()
            assert app.answers == [True]

    asyncio.run(scenario())


def test_keys_screen_lists_the_keys_of_the_screen_under_it():
    from textual.binding import Binding
    from textual.screen import Screen

    class Under(Screen):
        BINDINGS = [Binding("l", "log", "Log"), Binding("z", "hidden", show=False)]

    async def scenario():
        app = Host(Under())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.push_screen(KeysScreen(app.screen))
            await pilot.pause()
            listed = app.screen.query_one("#keys-list").content
            rows = list(zip(listed.columns[0].cells, listed.columns[1].cells, strict=True))
            assert ("l", "Log") in rows
            assert "Command palette" in [description for _key, description in rows]
            assert "hidden" not in str(rows)  # no description: not a key to list
            await pilot.press("escape")
            assert isinstance(app.screen, Under)

    asyncio.run(scenario())


def test_a_busy_database_is_told_in_words_and_the_form_stays_open():
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def save(values):
        locked = sqlite3.OperationalError("database is locked")
        raise OperationalError("BEGIN IMMEDIATE", {}, locked)

    async def scenario():
        app = Host(FollowUpForm(save))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"tomorrow", "enter")
            await settle(pilot)
            assert isinstance(app.screen, FollowUpForm)
            shown = str(app.screen.query_one("#form-error").render())
            assert "the database is busy" in shown and "Traceback" not in shown

    asyncio.run(scenario())
