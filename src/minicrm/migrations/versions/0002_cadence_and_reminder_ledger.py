"""Stay-in-touch cadences and the ledger of reminders already sent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cadence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("tag", sa.Text(), nullable=True),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id"),
        sa.UniqueConstraint("tag"),
        sa.CheckConstraint(
            "(contact_id IS NULL) <> (tag IS NULL)", name="ck_cadence_contact_or_tag"
        ),
        sa.CheckConstraint("every_days > 0", name="ck_cadence_every_days_positive"),
    )
    op.create_table(
        "reminder_ledger",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("reminder_ledger")
    op.drop_table("cadence")
