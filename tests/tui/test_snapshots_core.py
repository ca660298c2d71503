"""Reviewed pictures of the contacts and contact screens on seeded demo
data with a fixed clock, at 80×24 (the smallest supported terminal) and
120×40. Update with `pytest tests/tui --snapshot-update`, then look at the
SVGs in tests/tui/__snapshots__ before accepting them."""

import pytest
from textual.widgets import Input

SIZES = [(80, 24), (120, 40)]


def size_id(size) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_contacts(snap_compare, make_tui, settle, size):
    async def loaded(pilot):
        await settle(pilot)

    assert snap_compare(make_tui(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_contacts_filtered(snap_compare, make_tui, settle, size):
    async def filtered(pilot):
        await settle(pilot)
        await pilot.press("slash", *"رضا", "enter")
        await settle(pilot)

    assert snap_compare(make_tui(), terminal_size=size, run_before=filtered)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_contact(snap_compare, make_tui, settle, size):
    async def opened(pilot):
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)

    assert snap_compare(make_tui(), terminal_size=size, run_before=opened)


def test_follow_up_form_with_its_live_date(snap_compare, make_tui, settle):
    async def typing(pilot):
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("a", *"tomorrow 10am")
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_tui(), terminal_size=(80, 24), run_before=typing)
