"""Indexed search on PostgreSQL: trigram indexes over the folded search text.

SQLite searches through FTS5 (migration 0001); on PostgreSQL the portable
LIKE search over `search_text` is made fast by pg_trgm GIN indexes, which
serve both `LIKE 'word%'` and `LIKE '% word%'`. Nothing changes on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {"ix_contact_search_trgm": "contact", "ix_interaction_search_trgm": "interaction"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may
    # add it. Without the right, search still works, only unindexed.
    savepoint = bind.begin_nested()
    try:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:
        savepoint.rollback()
        return
    savepoint.commit()
    for name, table in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
