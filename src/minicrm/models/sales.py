"""Tables for what is sold and to whom: companies, products, deals and their lines.

A deal is what moves through the funnel (SPEC §1a); a contact has any number
of them. Money is integer cents; `expected_close` is a calendar date.
"""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from minicrm.models.columns import optional_key, parent_key, timestamp_field


class Company(SQLModel, table=True):
    __tablename__ = "company"
    __table_args__ = (
        Index("ix_company_name_folded", "name_folded"),
        Index("ix_company_domain_lower", text("lower(domain)")),
        Index("ix_company_deleted_at", "deleted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    name_folded: str = Field(sa_column=Column(Text, nullable=False))
    domain: str | None = Field(default=None, sa_column=Column(Text))
    email: str | None = Field(default=None, sa_column=Column(Text))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    industry: str | None = Field(default=None, sa_column=Column(Text))
    city: str | None = Field(default=None, sa_column=Column(Text))
    region: str | None = Field(default=None, sa_column=Column(Text))
    country: str | None = Field(default=None, sa_column=Column(Text))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    extra: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    created_at: datetime | None = timestamp_field(nullable=False)
    updated_at: datetime | None = timestamp_field(nullable=False)
    deleted_at: datetime | None = timestamp_field()
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class CompanyTag(SQLModel, table=True):
    __tablename__ = "company_tag"
    __table_args__ = (Index("ix_company_tag_tag", "tag_id", "company_id"),)

    company_id: int = Field(
        sa_column=Column(Integer, ForeignKey("company.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    )


class Product(SQLModel, table=True):
    """The catalogue. A product some deal line uses is archived (`active`
    false), never deleted, so old deals keep their meaning."""

    __tablename__ = "product"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    # fold() with the spaces squeezed out: "GTX Pro" and "gtxpro" are one product.
    name_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    code: str | None = Field(default=None, sa_column=Column(Text))
    price_cents: int = Field(sa_column=Column(Integer, nullable=False))
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("1"))
    )
    created_at: datetime | None = timestamp_field(nullable=False)
    updated_at: datetime | None = timestamp_field(nullable=False)


class Deal(SQLModel, table=True):
    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_contact", "contact_id", "stage"),
        Index("ix_deal_company", "company_id"),
        Index("ix_deal_stage", "stage"),
        Index("ix_deal_owner", "owner"),
        Index("ix_deal_score", "score"),
        Index("ix_deal_expected_close", "expected_close"),
        Index("ix_deal_closed_at", "closed_at"),
        Index("ix_deal_created_at", "created_at"),
        Index("ix_deal_updated_at", "updated_at"),
        Index("ix_deal_deleted_at", "deleted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    # A purged contact takes its deals with it (they are its history).
    contact_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=True),
    )
    company_id: int | None = optional_key("company")
    stage: str = Field(sa_column=Column(Text, nullable=False))
    stage_entered_at: datetime | None = timestamp_field(nullable=False)
    value_cents: int | None = Field(default=None, sa_column=Column(Integer))
    expected_close: date | None = Field(default=None, sa_column=Column(Date))
    closed_at: datetime | None = timestamp_field()
    lost_reason: str | None = Field(default=None, sa_column=Column(Text))
    # The open stage a lost deal was lost from; NULL when it was created (or
    # imported) straight into lost, so it tells nothing about any stage.
    lost_at_stage: str | None = Field(default=None, sa_column=Column(Text))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, sa_column=Column(Text))
    score: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    extra: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    created_at: datetime | None = timestamp_field(nullable=False)
    updated_at: datetime | None = timestamp_field(nullable=False)
    deleted_at: datetime | None = timestamp_field()
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class DealLine(SQLModel, table=True):
    """A product (or a free-text description) on a deal. `total_cents` is
    quantity × unit price less the discount, rounded to the cent once, so
    sums in SQL add up to what a user sees."""

    __tablename__ = "deal_line"
    __table_args__ = (
        Index("ix_deal_line_deal", "deal_id"),
        Index("ix_deal_line_product", "product_id"),
        CheckConstraint(
            "product_id IS NOT NULL OR description IS NOT NULL", name="ck_deal_line_what"
        ),
        CheckConstraint("discount >= 0 AND discount <= 100", name="ck_deal_line_discount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = parent_key("deal")
    product_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("product.id", ondelete="RESTRICT"), nullable=True),
    )
    description: str | None = Field(default=None, sa_column=Column(Text))
    quantity: float = Field(sa_column=Column(Float, nullable=False))
    unit_price_cents: int = Field(sa_column=Column(Integer, nullable=False))
    discount: float = Field(default=0, sa_column=Column(Float, nullable=False, server_default="0"))
    total_cents: int = Field(sa_column=Column(Integer, nullable=False))
