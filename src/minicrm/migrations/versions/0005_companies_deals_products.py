"""People, companies and deals (SPEC §1a): a contact stops being a deal.

Every existing contact becomes a contact plus one deal with the same id,
carrying its stage, value, lost reason, stage history and score; a won
contact's purchases are linked to its deal; each distinct company text
(compared folded) becomes a company the contacts link to. The contact keeps
`stage`, `value_cents`, `lost_reason`, `score` and `stage_entered_at` as
the copy of its current deal, now nullable (a contact may have no deal).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from minicrm.text import fold

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_sales_tables()
    _add_links()
    _companies_from_contact_text()
    _one_deal_per_contact()
    _stage_history_belongs_to_deals()
    _contact_deal_fields_nullable()


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _create_sales_tables() -> None:
    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=True)
            for name in (
                "domain",
                "email",
                "phone",
                "industry",
                "city",
                "region",
                "country",
                "owner",
                "notes",
                "extra",
            )
        ),  # fmt: skip
        *_timestamps(),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_company_name_folded", "company", ["name_folded"])
    op.create_index("ix_company_domain_lower", "company", [sa.text("lower(domain)")])
    op.create_index("ix_company_deleted_at", "company", ["deleted_at"])
    op.create_table(
        "company_tag",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("company_id", "tag_id"),
    )
    op.create_index("ix_company_tag_tag", "company_tag", ["tag_id", "company_id"])
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_cents", sa.Integer(), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        *(
            sa.Column(name, sa.Text(), nullable=True)
            for name in (
                "lost_reason",
                "lost_at_stage",
                "owner",
                "source",
            )
        ),  # fmt: skip
        sa.Column("score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        *_timestamps(),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for name, columns in {
        "ix_deal_contact": ["contact_id", "stage"], "ix_deal_company": ["company_id"],
        "ix_deal_stage": ["stage"], "ix_deal_owner": ["owner"], "ix_deal_score": ["score"],
        "ix_deal_expected_close": ["expected_close"], "ix_deal_closed_at": ["closed_at"],
        "ix_deal_created_at": ["created_at"], "ix_deal_updated_at": ["updated_at"],
        "ix_deal_deleted_at": ["deleted_at"],
    }.items():  # fmt: skip
        op.create_index(name, "deal", columns)
    op.create_table(
        "deal_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Float(), server_default="0", nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="RESTRICT"),
        sa.CheckConstraint(
            "product_id IS NOT NULL OR description IS NOT NULL", name="ck_deal_line_what"
        ),
        sa.CheckConstraint("discount >= 0 AND discount <= 100", name="ck_deal_line_discount"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deal_line_deal", "deal_line", ["deal_id"])
    op.create_index("ix_deal_line_product", "deal_line", ["product_id"])


def _add_links() -> None:
    """Nullable links: contact → company, interaction/follow-up → deal."""
    for table, column, parent in (
        ("contact", "company_id", "company"),
        ("interaction", "deal_id", "deal"),
        ("followup", "deal_id", "deal"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            # SQLite adds a column with a REFERENCES clause in place; going
            # through batch mode would copy the table (and drop its triggers).
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                f"REFERENCES {parent}(id) ON DELETE SET NULL"
            )
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(
                f"fk_{table}_{column}", table, parent, [column], ["id"], ondelete="SET NULL"
            )
        op.create_index(f"ix_{table}_{column}", table, [column])


def _companies_from_contact_text() -> None:
    """One company per distinct folded company text; the spelling of the
    oldest contact names it."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, company, created_at FROM contact "
            "WHERE company IS NOT NULL AND trim(company) <> '' ORDER BY id"
        )
    ).all()
    companies: dict[str, dict] = {}
    links: list[dict] = []
    for contact_id, name, created_at in rows:
        key = fold(name)
        if not key:
            continue
        if key not in companies:
            companies[key] = {
                "id": len(companies) + 1, "name": name.strip(), "name_folded": key,
                "created_at": created_at, "updated_at": created_at,
            }  # fmt: skip
        links.append({"contact_id": contact_id, "company_id": companies[key]["id"]})
    if companies:
        bind.execute(
            sa.text(
                "INSERT INTO company (id, name, name_folded, created_at, updated_at, version) "
                "VALUES (:id, :name, :name_folded, :created_at, :updated_at, 1)"
            ),
            list(companies.values()),
        )
        bind.execute(
            sa.text("UPDATE contact SET company_id = :company_id WHERE id = :contact_id"), links
        )
    if bind.dialect.name == "postgresql" and companies:
        bind.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('company', 'id'), max(id)) FROM company")
        )


def _one_deal_per_contact() -> None:
    """Deal #N for contact #N, with its funnel fields. A lost deal records
    the open stage it was lost from (NULL when it never was in one)."""
    op.execute(
        """
        INSERT INTO deal (id, title, contact_id, company_id, stage, stage_entered_at,
                          value_cents, closed_at, lost_reason, lost_at_stage, owner, source,
                          score, created_at, updated_at, deleted_at, version)
        SELECT c.id, c.name, c.id, c.company_id, c.stage,
               COALESCE(c.stage_entered_at, c.created_at), c.value_cents,
               CASE WHEN c.stage IN ('won', 'lost')
                    THEN COALESCE(c.stage_entered_at, c.created_at) END,
               c.lost_reason,
               CASE WHEN c.stage = 'lost' THEN (
                   SELECT s.from_stage FROM stage_change s
                   WHERE s.contact_id = c.id AND s.to_stage = 'lost'
                   ORDER BY s.at DESC, s.id DESC LIMIT 1) END,
               c.owner, c.source, c.score, c.created_at, c.updated_at, c.deleted_at, 1
        FROM contact c
        """
    )
    # A lost deal "lost from" won or from nothing has no open stage to blame.
    op.execute("UPDATE deal SET lost_at_stage = NULL WHERE lost_at_stage IN ('won', 'lost')")
    op.execute(
        "UPDATE interaction SET deal_id = contact_id WHERE kind = 'purchase' "
        "AND contact_id IN (SELECT id FROM contact WHERE stage = 'won')"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('deal', 'id'), "
            "GREATEST((SELECT max(id) FROM deal), 1), (SELECT count(*) > 0 FROM deal))"
        )


def _stage_history_belongs_to_deals() -> None:
    """stage_change gets deal_id (NOT NULL); its contact_id becomes optional."""
    if op.get_bind().dialect.name == "sqlite":
        # Rebuilt by hand: nothing references stage_change, and spelling the
        # table out avoids batch mode reflecting (and warning about) others.
        op.execute(
            """
            CREATE TABLE stage_change_new (
                id INTEGER NOT NULL PRIMARY KEY,
                contact_id INTEGER REFERENCES contact (id) ON DELETE CASCADE,
                from_stage TEXT,
                to_stage TEXT NOT NULL,
                at DATETIME NOT NULL,
                reason TEXT,
                deal_id INTEGER NOT NULL REFERENCES deal (id) ON DELETE CASCADE
            )
            """
        )
        op.execute(
            "INSERT INTO stage_change_new (id, contact_id, from_stage, to_stage, at, reason, "
            "deal_id) SELECT id, contact_id, from_stage, to_stage, at, reason, contact_id "
            "FROM stage_change"
        )
        op.execute("DROP TABLE stage_change")
        op.execute("ALTER TABLE stage_change_new RENAME TO stage_change")
        op.create_index("ix_stage_change_at", "stage_change", ["at"])
        op.create_index("ix_stage_change_contact_at", "stage_change", ["contact_id", "at"])
    else:
        op.add_column("stage_change", sa.Column("deal_id", sa.Integer(), nullable=True))
        op.execute("UPDATE stage_change SET deal_id = contact_id")
        op.alter_column("stage_change", "deal_id", nullable=False)
        op.alter_column("stage_change", "contact_id", nullable=True)
        op.create_foreign_key(
            "fk_stage_change_deal_id", "stage_change", "deal", ["deal_id"], ["id"],
            ondelete="CASCADE",
        )  # fmt: skip
    op.create_index("ix_stage_change_deal_at", "stage_change", ["deal_id", "at"])


def _contact_deal_fields_nullable() -> None:
    """contact.stage and contact.score may now be NULL (no deal). On SQLite
    the columns are dropped and added back (ALTER TABLE cannot relax NOT
    NULL, and rebuilding the table would drop its full-text triggers), then
    refilled from the deal that carries the same values."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("contact", "stage", nullable=True)
        op.alter_column("contact", "score", nullable=True, server_default=None)
        return
    for column in ("stage", "score"):
        op.execute(f"DROP INDEX ix_contact_{column}")
        op.execute(f"ALTER TABLE contact DROP COLUMN {column}")
        kind = "TEXT" if column == "stage" else "INTEGER"
        op.execute(f"ALTER TABLE contact ADD COLUMN {column} {kind}")
        op.execute(
            f"UPDATE contact SET {column} = (SELECT d.{column} FROM deal d WHERE d.id = contact.id)"
        )
        op.create_index(f"ix_contact_{column}", "contact", [column])


def downgrade() -> None:
    raise NotImplementedError("0005 is not reversible: restore the backup made before it")
