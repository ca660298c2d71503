"""Merges are timeline events, not interactions with the customer.

`crm merge` used to write its "Merged #N … into this contact" line as a
`note`, which counted as contact with the customer for scores, cadences,
stale deals and the activity report. Those lines become kind `merge`
(models.EVENT_KINDS), which nothing counts; the timeline still shows them.
Only lines exactly of the shape merge wrote are changed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MERGE_LINE = "summary LIKE 'Merged #%' AND summary LIKE '% into this contact'"


def upgrade() -> None:
    op.execute(f"UPDATE interaction SET kind = 'merge' WHERE kind = 'note' AND {MERGE_LINE}")


def downgrade() -> None:
    op.execute(f"UPDATE interaction SET kind = 'note' WHERE kind = 'merge' AND {MERGE_LINE}")
