"""The database as the commands see it: one engine per run, one transaction
per command, and a note on stderr when the schema was upgraded."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import typer


@dataclass
class AppState:
    """What the root callback learnt from the global options."""

    db_path: str | None = None
    _engine: Any = field(default=None, repr=False)

    def engine(self):
        if self._engine is None:
            from minicrm.db import ensure_schema, make_engine, resolve_database_url

            engine = make_engine(resolve_database_url(self.db_path))
            upgrade = ensure_schema(engine)
            if upgrade and upgrade.from_revision is None:
                _say_created(engine)
            elif upgrade and upgrade.from_revision:
                from minicrm.commands._output import info

                saved = f"; the old one is saved as {upgrade.backup}" if upgrade.backup else ""
                info(
                    f"crm: upgraded the database schema from {upgrade.from_revision} "
                    f"to {upgrade.to_revision}{saved}"
                )
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _say_created(engine) -> None:
    """A new database is news: `--db /typo/crm.db` would otherwise start an
    empty one without a word."""
    from minicrm.commands._output import info
    from minicrm.db import sqlite_path

    where = sqlite_path(engine) or engine.url.render_as_string(hide_password=True)
    info(f"crm: created a new database at {where}")


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
        root.call_on_close(root.obj.close)
    return root.obj


@contextmanager
def unit_of_work(ctx: typer.Context, *, write: bool = True) -> Iterator[Any]:
    """A session for one command: everything it does commits together."""
    from minicrm.db import session_scope

    with session_scope(state(ctx).engine(), write=write) as session:
        yield session
