"""Tables (SQLModel) and the read models services hand out.

The schema covers every entity of SPEC §1 at once so later features add
behaviour, not columns. Timestamps are stored in UTC; money as integer cents.
`name_folded` holds text.fold() output (REF matching, sorting) and
`search_text` holds text.search_text() words (full-text search); services
write both, users never type them.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

OPEN_STAGES_DEFAULT = ("awareness", "interest", "decision", "action")
WON, LOST = "won", "lost"


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL.

    SQLite has no time zone type, so values are stored there as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _fk(table: str) -> Any:
    return Field(
        sa_column=Column(Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False)
    )


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
    company: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))
    city: str | None = Field(default=None, sa_column=Column(Text))
    region: str | None = Field(default=None, sa_column=Column(Text))
    country: str | None = Field(default=None, sa_column=Column(Text))
    industry: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, sa_column=Column(Text))
    stage: str = Field(sa_column=Column(Text, nullable=False))
    stage_entered_at: datetime | None = _ts()
    value_cents: int | None = Field(default=None, sa_column=Column(Integer))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    extra: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    score: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    lost_reason: str | None = Field(default=None, sa_column=Column(Text))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
    deleted_at: datetime | None = _ts()
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


class Interaction(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_contact_at", "contact_id", "at"),
        Index("ix_interaction_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact")
    kind: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = _ts(nullable=False)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    amount_cents: int | None = Field(default=None, sa_column=Column(Integer))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = _ts(nullable=False)


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
    contact_id: int = _fk("contact")
    due_at: datetime | None = _ts(nullable=False)
    note: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = _ts()
    recurrence: str | None = Field(default=None, sa_column=Column(Text))  # RFC 5545 RRULE
    snoozed: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class StageChange(SQLModel, table=True):
    """One move in the funnel; the creation stage is a change from None."""

    __tablename__ = "stage_change"
    __table_args__ = (
        Index("ix_stage_change_contact_at", "contact_id", "at"),
        Index("ix_stage_change_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact")
    from_stage: str | None = Field(default=None, sa_column=Column(Text))
    to_stage: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = _ts(nullable=False)
    reason: str | None = Field(default=None, sa_column=Column(Text))


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = _ts(nullable=False)


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
    created_at: datetime | None = _ts(nullable=False)


class ReminderLedger(SQLModel, table=True):
    """What `crm remind --only-new` already announced, one key per occurrence."""

    __tablename__ = "reminder_ledger"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    sent_at: datetime | None = _ts(nullable=False)


class ImportBatch(SQLModel, table=True):
    """One `crm import` run: what file, when, and how many rows did what."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    format: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _ts(nullable=False)
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    undone_at: datetime | None = _ts()


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
    batch_id: int = _fk("import_batch")
    contact_id: int = Field(sa_column=Column(Integer, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    before: str | None = Field(default=None, sa_column=Column(Text))


# ---------------------------------------------------------------- read models
# Plain pydantic objects: they outlive the session, cross threads, and give
# the JSON of SPEC §10 through to_json().


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def cents_to_major(cents: int | None) -> float | int | None:
    if cents is None:
        return None
    return cents // 100 if cents % 100 == 0 else cents / 100


class ContactRead(BaseModel):
    id: int
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    industry: str | None = None
    source: str | None = None
    stage: str
    stage_entered_at: datetime | None = None
    value_cents: int | None = None
    owner: str | None = None
    tags: list[str] = []
    notes: str | None = None
    extra: dict[str, Any] = {}
    score: int = 0
    lost_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    version: int = 1

    @property
    def value(self) -> float | int | None:
        return cents_to_major(self.value_cents)

    def to_json(self) -> dict[str, Any]:
        """The contact object of SPEC §10, keys in the documented order."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "company": self.company,
            "title": self.title,
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "industry": self.industry,
            "source": self.source,
            "stage": self.stage,
            "value": self.value,
            "owner": self.owner,
            "tags": list(self.tags),
            "notes": self.notes,
            "extra": dict(self.extra),
            "score": self.score,
            "lost_reason": self.lost_reason,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


class InteractionRead(BaseModel):
    id: int
    contact_id: int
    kind: str
    at: datetime
    summary: str | None = None
    amount_cents: int | None = None
    owner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "kind": self.kind,
            "at": _iso(self.at),
            "summary": self.summary,
            "amount": cents_to_major(self.amount_cents),
            "owner": self.owner,
        }


class StageChangeRead(BaseModel):
    id: int
    contact_id: int
    from_stage: str | None = None
    to_stage: str
    at: datetime
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "at": _iso(self.at),
            "reason": self.reason,
        }


class FollowUpRead(BaseModel):
    id: int
    contact_id: int
    contact_name: str
    due_at: datetime
    note: str | None = None
    done_at: datetime | None = None
    recurrence: str | None = None
    snoozed: int = 0
    owner: str | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.done_at is None and self.due_at < now

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
            "due_at": _iso(self.due_at),
            "note": self.note,
            "done_at": _iso(self.done_at),
            "recurrence": self.recurrence,
            "snoozed": self.snoozed,
            "owner": self.owner,
            "overdue": self.is_overdue(now),
        }
