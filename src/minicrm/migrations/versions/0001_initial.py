"""Initial schema: every entity of SPEC section 1, indexes, full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Full-text search on SQLite: FTS5 tables over the folded `search_text`
# columns, kept in step by triggers so no code path can forget them.
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE contact_fts USING fts5(
        search_text, content='contact', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER contact_fts_insert AFTER INSERT ON contact BEGIN
        INSERT INTO contact_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER contact_fts_delete AFTER DELETE ON contact BEGIN
        INSERT INTO contact_fts(contact_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER contact_fts_update AFTER UPDATE OF search_text ON contact BEGIN
        INSERT INTO contact_fts(contact_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO contact_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE VIRTUAL TABLE interaction_fts USING fts5(
        search_text, content='interaction', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER interaction_fts_insert AFTER INSERT ON interaction BEGIN
        INSERT INTO interaction_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER interaction_fts_delete AFTER DELETE ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER interaction_fts_update AFTER UPDATE OF search_text ON interaction BEGIN
        INSERT INTO interaction_fts(interaction_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO interaction_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
]


def _sqlite_has_fts5() -> bool:
    try:
        op.execute("CREATE VIRTUAL TABLE temp._fts5_probe USING fts5(x)")
        op.execute("DROP TABLE temp._fts5_probe")
        return True
    except Exception:  # SQLite built without FTS5: search falls back to LIKE
        return False


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value_cents", sa.Integer(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_created_at", "contact", ["created_at"], unique=False)
    op.create_index("ix_contact_deleted_at", "contact", ["deleted_at"], unique=False)
    op.create_index("ix_contact_name_folded", "contact", ["name_folded"], unique=False)
    op.create_index("ix_contact_owner", "contact", ["owner"], unique=False)
    op.create_index("ix_contact_phone", "contact", ["phone"], unique=False)
    op.create_index("ix_contact_score", "contact", ["score"], unique=False)
    op.create_index("ix_contact_source", "contact", ["source"], unique=False)
    op.create_index("ix_contact_stage", "contact", ["stage"], unique=False)
    op.create_index("ix_contact_updated_at", "contact", ["updated_at"], unique=False)
    op.create_table(
        "setting",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "contact_tag",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "tag_id"),
    )
    op.create_index("ix_contact_tag_tag", "contact_tag", ["tag_id", "contact_id"], unique=False)
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recurrence", sa.Text(), nullable=True),
        sa.Column("snoozed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_followup_contact", "followup", ["contact_id"], unique=False)
    op.create_index(
        "ix_followup_open_due",
        "followup",
        ["due_at"],
        unique=False,
        sqlite_where=sa.text("done_at IS NULL"),
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_interaction_at", "interaction", ["at"], unique=False)
    op.create_index("ix_interaction_contact_at", "interaction", ["contact_id", "at"], unique=False)
    op.create_table(
        "stage_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.Text(), nullable=True),
        sa.Column("to_stage", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stage_change_at", "stage_change", ["at"], unique=False)
    op.create_index(
        "ix_stage_change_contact_at", "stage_change", ["contact_id", "at"], unique=False
    )
    op.create_index("ix_contact_email_lower", "contact", [sa.text("lower(email)")], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _sqlite_has_fts5():
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    for table in ("stage_change", "interaction", "followup", "contact_tag", "tag", "setting"):
        op.drop_table(table)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS contact_fts")
        op.execute("DROP TABLE IF EXISTS interaction_fts")
    op.drop_table("contact")
