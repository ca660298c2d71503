"""Tables for people and what happens with them: contacts, tags,
interactions, follow-ups, stage history, settings, cadences, imports.

Timestamps are stored in UTC; money as integer cents. `name_folded` holds
text.fold() output (REF matching, sorting) and `search_text` holds
text.search_text() words (full-text search); services write both.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

from minicrm.models.columns import optional_key, parent_key, timestamp_field

OPEN_STAGES_DEFAULT = ("awareness", "interest", "decision", "action")
WON, LOST = "won", "lost"


class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_name_folded", "name_folded"),
        Index("ix_contact_score", "score"),
        Index("ix_contact_stage", "stage"),
        Index("ix_contact_owner", "owner"),
        Index("ix_contact_source", "source"),
        Index("ix_contact_created_at", "created_at"),
        Index("ix_contact_updated_at", "updated_at"),
        Index("ix_contact_email_lower", text("lower(email)")),
        Index("ix_contact_phone", "phone"),
        Index("ix_contact_deleted_at", "deleted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    name_folded: str = Field(sa_column=Column(Text, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(Text))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    # `company` is the linked company's name (kept in step by the companies
    # service) so lists, search and JSON read it without a join.
    company: str | None = Field(default=None, sa_column=Column(Text))
    company_id: int | None = optional_key("company", index=True)
    title: str | None = Field(default=None, sa_column=Column(Text))
    city: str | None = Field(default=None, sa_column=Column(Text))
    region: str | None = Field(default=None, sa_column=Column(Text))
    country: str | None = Field(default=None, sa_column=Column(Text))
    industry: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, sa_column=Column(Text))
    # stage, stage_entered_at, value_cents, score and lost_reason are those
    # of the contact's current deal (its open one, else its most recent),
    # NULL without a deal; services/records/deals.py keeps them in step.
    stage: str | None = Field(default=None, sa_column=Column(Text))
    stage_entered_at: datetime | None = timestamp_field()
    value_cents: int | None = Field(default=None, sa_column=Column(Integer))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    extra: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    score: int | None = Field(default=None, sa_column=Column(Integer))
    lost_reason: str | None = Field(default=None, sa_column=Column(Text))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime | None = timestamp_field(nullable=False)
    updated_at: datetime | None = timestamp_field(nullable=False)
    deleted_at: datetime | None = timestamp_field()
    # Optimistic concurrency: an edit names the version it read.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class Tag(SQLModel, table=True):
    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tag"
    __table_args__ = (Index("ix_contact_tag_tag", "tag_id", "contact_id"),)

    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    )


# Kinds minicrm itself writes on a timeline: they say what happened to the
# record (a merge), not that anyone spoke to the customer, so no figure,
# score, cadence or activity report counts them.
EVENT_KINDS = ("merge",)


def is_contact_with_customer(kind_column):
    """SQL condition: an interaction that was a real contact with the customer."""
    return kind_column.not_in(EVENT_KINDS)


class Interaction(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_contact_at", "contact_id", "at"),
        Index("ix_interaction_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = parent_key("contact")
    deal_id: int | None = optional_key("deal", index=True)
    kind: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = timestamp_field(nullable=False)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    amount_cents: int | None = Field(default=None, sa_column=Column(Integer))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = timestamp_field(nullable=False)
    # Set by `crm merge`: the contact this row came from (its history is
    # shown as a block of its own on the contact it was merged into).
    merged_from_id: int | None = Field(default=None, sa_column=Column(Integer))
    merged_from_name: str | None = Field(default=None, sa_column=Column(Text))


class FollowUp(SQLModel, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        Index(
            "ix_followup_open_due",
            "due_at",
            # The migration also makes it partial on PostgreSQL; naming
            # postgresql_where here would import that dialect on every command.
            sqlite_where=text("done_at IS NULL"),
        ),
        Index("ix_followup_contact", "contact_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = parent_key("contact")
    deal_id: int | None = optional_key("deal", index=True)
    due_at: datetime | None = timestamp_field(nullable=False)
    note: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = timestamp_field()
    recurrence: str | None = Field(default=None, sa_column=Column(Text))  # RFC 5545 RRULE
    snoozed: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = timestamp_field(nullable=False)
    updated_at: datetime | None = timestamp_field(nullable=False)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    # A recurring follow-up done makes a new row for its next occurrence;
    # these keep the rows one series (one calendar entry). series_id is the
    # first row's id (NULL on that row: its own), a label, not a reference:
    # the first row may be removed. series_revision counts the moves of the
    # series' due time before this row (see calendar_export.followup_sequence).
    series_id: int | None = Field(default=None, sa_column=Column(Integer))
    series_revision: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )


class StageChange(SQLModel, table=True):
    """One move of a deal in the funnel; the creation stage is a change from
    None. `contact_id` is the deal's contact at the time (for scripts and the
    contact's timeline), NULL for a deal without one."""

    __tablename__ = "stage_change"
    __table_args__ = (
        Index("ix_stage_change_contact_at", "contact_id", "at"),
        Index("ix_stage_change_deal_at", "deal_id", "at"),
        Index("ix_stage_change_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=True),
    )
    deal_id: int = parent_key("deal")
    from_stage: str | None = Field(default=None, sa_column=Column(Text))
    to_stage: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = timestamp_field(nullable=False)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    merged_from_id: int | None = Field(default=None, sa_column=Column(Integer))  # as Interaction's
    merged_from_name: str | None = Field(default=None, sa_column=Column(Text))


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = timestamp_field(nullable=False)


class Cadence(SQLModel, table=True):
    """Stay in touch: a contact (or everyone with a tag) is due to get in touch
    after `every_days` without an interaction."""

    __tablename__ = "cadence"
    __table_args__ = (
        CheckConstraint("(contact_id IS NULL) <> (tag IS NULL)", name="ck_cadence_contact_or_tag"),
        CheckConstraint("every_days > 0", name="ck_cadence_every_days_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), unique=True),
    )
    tag: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    every_days: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime | None = timestamp_field(nullable=False)


class ReminderLedger(SQLModel, table=True):
    """What `crm remind --only-new` already announced, one key per occurrence."""

    __tablename__ = "reminder_ledger"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    sent_at: datetime | None = timestamp_field(nullable=False)


class ImportBatch(SQLModel, table=True):
    """One `crm import` run: what file, when, and how many rows did what."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    format: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = timestamp_field(nullable=False)
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    undone_at: datetime | None = timestamp_field()


class ImportChange(SQLModel, table=True):
    """A contact an import created, or updated (with its state before, as
    JSON, so `crm import --undo` can put it back). No foreign key to the
    contact: undo must cope with a contact purged since."""

    __tablename__ = "import_change"
    __table_args__ = (
        Index("ix_import_change_batch", "batch_id"),
        CheckConstraint("action IN ('created', 'updated')", name="ck_import_change_action"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = parent_key("import_batch")
    contact_id: int = Field(sa_column=Column(Integer, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    before: str | None = Field(default=None, sa_column=Column(Text))
