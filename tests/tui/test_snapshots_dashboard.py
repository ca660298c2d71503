"""Reviewed pictures of the dashboard at 80×24 and 100×30 with long Persian
(with zero-width non-joiners) and Greek names, a Chinese one and a
60-character note, on a fixed clock: every column takes the room its panel
has, dates are short and whole, borders line up. Update with
`pytest tests/tui/test_snapshots_dashboard.py --snapshot-update`, then look
at the SVGs in tests/tui/__snapshots__ before accepting them."""

import pytest

from minicrm.tui.app import make_app
from tui.test_dashboard import MORNING, long_names_db

SIZES = [(80, 24), (100, 30)]


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_dashboard_with_long_names(snap_compare, engine, size):
    app = make_app(long_names_db(engine), now_provider=lambda: MORNING, poll_seconds=0)
    assert snap_compare(app, terminal_size=size, run_before=settle)
