"""A merged contact's history stays its own: who each moved row came from.

`crm merge` moves the other contacts' interactions and stage history to the
contact it keeps. Mixed in with KEEP's own, they read as nonsense (two
"created in awareness", `awareness → interest` while it is in awareness).
`merged_from_id` and `merged_from_name` say which contact a row came from
(the first one, when merges chain), so the timeline shows each merged
contact's history as a block of its own ("from #207 Chloe Lefevre").

Rows moved by merges before this revision cannot be told apart (nothing
recorded where they came from): they keep NULL and stay in KEEP's history.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("interaction", "stage_change")


def upgrade() -> None:
    # Nullable ADD COLUMN in place on both backends (no table copy: the
    # AUTOINCREMENT tables of 0008 and their triggers stay as they are).
    for table in TABLES:
        op.add_column(table, sa.Column("merged_from_id", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("merged_from_name", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("merged_from_name")
            batch.drop_column("merged_from_id")
