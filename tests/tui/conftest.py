"""TUI fixtures: a demo database with a fixed clock, and an app over it.

Tests are plain functions that run their pilot scenario with asyncio.run
(no async plugin needed); `settle` waits for every worker and the messages
they post, instead of sleeping.
"""

from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope

FIXED_NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DEMO_SEED = 7
DEMO_CONTACTS = 50


@pytest.fixture
def fixed_now() -> datetime:
    """The clock of every TUI test: demo data and the app agree on it."""
    return FIXED_NOW


@pytest.fixture
def demo_engine(engine):
    """The test database with 50 demo contacts, a year of their history, and
    their scores worked out (the demo generator leaves every score at 0)."""
    from minicrm.services.demo.generate import generate_demo
    from minicrm.services.scoring.scores import recompute_scores

    with session_scope(engine) as session:
        generate_demo(session, contacts=DEMO_CONTACTS, seed=DEMO_SEED, now=FIXED_NOW)
        recompute_scores(session, now=FIXED_NOW)
    return engine


@pytest.fixture
def lead(demo_engine):
    """An open lead not yet in decision, with its id and name."""
    from sqlalchemy import select

    from minicrm.models import Contact

    with session_scope(demo_engine, write=False) as session:
        row = session.execute(
            select(Contact.id, Contact.name)
            .where(Contact.stage.in_(("awareness", "interest")), Contact.deleted_at.is_(None))
            .order_by(Contact.id)
        ).first()
    return row.id, row.name


@pytest.fixture
def make_tui(demo_engine):
    """make_tui(start_mode="contacts", **options) -> the app, polling off."""
    from minicrm.tui.app import make_app

    def make(start_mode: str | None = "contacts", **options):
        options.setdefault("poll_seconds", 0)
        return make_app(
            demo_engine, now_provider=lambda: FIXED_NOW, start_mode=start_mode, **options
        )

    return make


async def _settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture
def settle():
    """`await settle(pilot)`: let workers finish and their messages be
    handled (a message may start another worker, hence a few rounds)."""
    return _settle


def _plain(widget, width: int = 100) -> str:
    import io

    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.export_text()


@pytest.fixture
def plain():
    """`plain(static_widget)`: the text a Static shows, without styles."""
    return _plain
