"""Ids are never handed out twice (SQLite AUTOINCREMENT).

Without AUTOINCREMENT SQLite gives a new row the largest id plus one, so
after `crm rm --purge` or `crm merge` of the newest contact the next one
got its id again: old timeline lines ("Merged #207 …"), vCard UIDs and
anyone's scripts then pointed at someone else. Each table with an integer
id is rebuilt with `INTEGER PRIMARY KEY AUTOINCREMENT` (SQLite's recipe for
a schema change it cannot ALTER: new table, copy, drop, rename, indexes and
triggers back), rows and ids unchanged; from then on sqlite_sequence keeps
the largest id ever used. db.upgrade_schema turns foreign keys off around
the migration, as that recipe requires, and checks them after.

PostgreSQL's sequences never hand an id out twice: nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import re

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = (
    "contact", "interaction", "followup", "stage_change", "tag", "cadence", "import_batch",
    "import_change", "company", "product", "deal", "deal_line",
)  # fmt: skip
_ID_COLUMN = re.compile(r"\bid INTEGER NOT NULL(?: PRIMARY KEY)?", re.IGNORECASE)
_ID_CONSTRAINT = re.compile(r",\s*PRIMARY KEY \(id\)", re.IGNORECASE)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("0008 rebuilds tables: run it with foreign keys off (db.upgrade_schema)")
    for table in TABLES:
        _rebuild_with_autoincrement(bind, table)
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        raise RuntimeError(f"foreign keys broken after the rebuild: {problems[:5]}")


def downgrade() -> None:
    """AUTOINCREMENT is harmless to the older code: the tables stay as they are."""


def _rebuild_with_autoincrement(bind, table: str) -> None:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return
    rebuilt = autoincrement_sql(sql, table, f"{table}_autoincrement")
    attached = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL",
        (table,),
    ).scalars().all()  # fmt: skip
    bind.exec_driver_sql(rebuilt)
    bind.exec_driver_sql(f'INSERT INTO "{table}_autoincrement" SELECT * FROM "{table}"')
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{table}_autoincrement" RENAME TO "{table}"')
    for statement in attached:  # indexes and the full-text triggers went with the old table
        bind.exec_driver_sql(statement)


def autoincrement_sql(sql: str, table: str, new_name: str) -> str:
    """The table's CREATE TABLE, renamed, with its id as INTEGER PRIMARY KEY
    AUTOINCREMENT (the only way SQLite spells it) and no separate
    PRIMARY KEY (id) constraint."""
    head, paren, body = sql.partition("(")
    if not paren or not re.search(rf'TABLE\s+"?{table}"?\s*$', head.strip(), re.IGNORECASE):
        raise RuntimeError(f"unexpected definition of {table}: {sql[:80]!r}")
    if not _ID_COLUMN.search(body):
        raise RuntimeError(f"no integer id in {table}: {sql[:80]!r}")
    body = _ID_COLUMN.sub("id INTEGER PRIMARY KEY AUTOINCREMENT", body, count=1)
    body = _ID_CONSTRAINT.sub("", body, count=1)
    return f'CREATE TABLE "{new_name}" ({body}'
