"""Companies and deals written in bulk by imports, and the batch manifest.

Companies are found by folded name among the live ones (one per folded
name, the first spelling seen names a new one); deal ids are drawn before
writing, as contact ids are, so stage history goes in the same bulk insert.

What an import created besides contacts (companies, deals without a
contact, products) and the settings it changed are kept in one manifest
row of import_change (contact_id 0, no contact has that id) as JSON, so
`crm import --undo` can take them back.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from minicrm.models import Company, ImportChange
from minicrm.text import fold

CHUNK = 500
ID_BLOCK = 2_000
MANIFEST_ID = 0  # the import_change.contact_id of a batch's manifest row
COMPANY = Company.__table__


class Companies:
    """Folded name → (id, name) of live companies, creating the missing ones."""

    def __init__(self, session: Session, writer):
        self.connection = session.connection()
        self.writer, self.stamp = writer, writer.stamp
        self.known: dict[str, tuple[int, str]] = {}
        self.created: list[int] = []

    def resolve(self, names: dict[str, str], now: datetime, extra: dict[str, dict] | None = None):
        """Make sure every folded key of `names` (key → first spelling) has a
        live company; `extra` gives fields for the ones created."""
        missing = [k for k in names if k and k not in self.known]
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            rows = self.connection.execute(
                select(COMPANY.c.name_folded, COMPANY.c.id, COMPANY.c.name)
                .where(COMPANY.c.name_folded.in_(chunk), COMPANY.c.deleted_at.is_(None))
                .order_by(COMPANY.c.id.desc())
            ).all()
            for key, cid, name in rows:  # the lowest id wins, as find_company_by_name
                self.known[key] = (cid, name)
        new = [k for k in missing if k not in self.known]
        if not new:
            return
        at = self.stamp(int(now.timestamp()))
        top = self.connection.execute(select(func.coalesce(func.max(COMPANY.c.id), 0))).scalar()
        rows = []
        for key in new:
            rows.append({
                "name": names[key], "name_folded": key, "industry": None, "country": None,
                "extra": None, "created_at": at, "updated_at": at, "deleted_at": None,
                "version": 1, **(extra or {}).get(key, {}),
            })  # fmt: skip
        self.writer.insert(Company, rows)
        query = select(COMPANY.c.name_folded, COMPANY.c.id, COMPANY.c.name).where(
            COMPANY.c.id > top
        )
        for key, cid, name in self.connection.execute(query):
            self.known[key] = (cid, name)
            self.created.append(cid)

    def of(self, name: str | None) -> tuple[int, str] | None:
        key = fold(name) if name else ""
        return self.known.get(key) if key else None


def deal_ids(connection) -> Iterator[int]:
    """Ids for new deals, known before writing (as BulkWriter's contact ids)."""
    if connection.dialect.name == "postgresql":
        draw = text("SELECT nextval(pg_get_serial_sequence('deal', 'id')) "
                    "FROM generate_series(1, :n)")  # fmt: skip
        while True:
            yield from connection.execute(draw, {"n": ID_BLOCK}).scalars().all()
    from minicrm.db import highest_id_used

    top = highest_id_used(connection, "deal")  # never an id a deleted deal had
    while True:
        top += 1
        yield top


def write_manifest(session: Session, batch_id: int, manifest: dict[str, Any]) -> None:
    manifest = {k: v for k, v in manifest.items() if v}
    if manifest:
        session.execute(
            insert(ImportChange.__table__),
            [{"batch_id": batch_id, "contact_id": MANIFEST_ID, "action": "created",
              "before": json.dumps(manifest, sort_keys=True)}],
        )  # fmt: skip


def read_manifest(session: Session, batch_id: int) -> dict[str, Any]:
    row = session.execute(
        select(ImportChange.before).where(
            ImportChange.batch_id == batch_id, ImportChange.contact_id == MANIFEST_ID
        )
    ).scalar()
    return json.loads(row) if row else {}


@contextmanager
def sqlite_deal_indexes_paused(connection, *, pause: bool) -> Iterator[None]:
    """SQLite: drop the deal table's indexes while a big import fills it and
    recreate them from their stored SQL afterwards, in the same transaction
    (bulk_load.sqlite_bulk_load does this for the contact tables)."""
    if not pause or connection.dialect.name != "sqlite":
        yield
        return
    indexes = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deal' "
             "AND sql IS NOT NULL")
    ).all()  # fmt: skip
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)
