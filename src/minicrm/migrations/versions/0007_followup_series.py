"""A recurring follow-up's occurrences are one series: one calendar entry.

`crm followup done` on a recurring follow-up closes it and makes a new row
for the next occurrence. `series_id` names the series by its first row's id
(NULL on the first row itself), so the iCalendar export keeps one UID for
the series; `series_revision` counts the moves of its due time before the
row, so the entry's SEQUENCE only ever goes up.

Existing rows keep NULL and 0: each stays a series of its own, which is the
UID (`followup-<id>`) and SEQUENCE (its snoozes) the export gave it before,
so a calendar that imported an earlier file updates the same entries. The
rows an earlier done made cannot be linked reliably (nothing recorded which
row came from which) and are left apart.

Both columns are plain integers on SQLite and PostgreSQL alike: series_id is
a label, not a foreign key (the series' first row may be removed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place on both (a server default fills the NOT NULL one);
    # SQLite's batch mode would copy the table and drop its triggers.
    op.add_column("followup", sa.Column("series_id", sa.Integer(), nullable=True))
    op.add_column(
        "followup",
        sa.Column("series_revision", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    # Neither column is indexed, so SQLite (3.35+) drops them in place too.
    op.drop_column("followup", "series_revision")
    op.drop_column("followup", "series_id")
