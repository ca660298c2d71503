"""Read models: plain pydantic objects services hand out. They outlive the
session, cross threads, and give the JSON of SPEC §10 through to_json()."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


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
    company_id: int | None = None
    title: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    industry: str | None = None
    source: str | None = None
    stage: str | None = None  # of the current deal, None without one
    stage_entered_at: datetime | None = None
    value_cents: int | None = None
    owner: str | None = None
    tags: list[str] = []
    notes: str | None = None
    extra: dict[str, Any] = {}
    score: int | None = None
    lost_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    version: int = 1
    open_deals: int = 0

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
            "company_id": self.company_id,
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
            "open_deals": self.open_deals,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


class InteractionRead(BaseModel):
    id: int
    contact_id: int
    deal_id: int | None = None
    kind: str
    at: datetime
    summary: str | None = None
    amount_cents: int | None = None
    owner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "deal_id": self.deal_id,
            "kind": self.kind,
            "at": _iso(self.at),
            "summary": self.summary,
            "amount": cents_to_major(self.amount_cents),
            "owner": self.owner,
        }


class StageChangeRead(BaseModel):
    id: int
    contact_id: int | None = None
    deal_id: int | None = None
    from_stage: str | None = None
    to_stage: str
    at: datetime
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "deal_id": self.deal_id,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "at": _iso(self.at),
            "reason": self.reason,
        }


class FollowUpRead(BaseModel):
    id: int
    contact_id: int
    contact_name: str
    deal_id: int | None = None
    due_at: datetime
    note: str | None = None
    done_at: datetime | None = None
    recurrence: str | None = None
    snoozed: int = 0
    owner: str | None = None
    series_id: int | None = None  # the first follow-up of its series; None: its own id
    series_revision: int = 0  # the series' moves before this occurrence

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
            "deal_id": self.deal_id,
            "overdue": self.is_overdue(now),
        }


# ------------------------------------------------------------------ sales


class ProductRead(BaseModel):
    id: int
    name: str
    code: str | None = None
    price_cents: int
    active: bool = True

    @property
    def price(self) -> float | int | None:
        return cents_to_major(self.price_cents)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "code": self.code,
            "price": self.price,
            "active": self.active,
        }


class DealLineRead(BaseModel):
    id: int
    deal_id: int
    product_id: int | None = None
    product: str | None = None  # the product's name
    description: str | None = None
    quantity: float
    unit_price_cents: int
    discount: float = 0
    total_cents: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product": self.product,
            "description": self.description,
            "quantity": _plain_number(self.quantity),
            "unit_price": cents_to_major(self.unit_price_cents),
            "discount": _plain_number(self.discount),
            "total": cents_to_major(self.total_cents),
        }


def _plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class DealRead(BaseModel):
    id: int
    title: str
    contact_id: int | None = None
    contact_name: str | None = None
    company_id: int | None = None
    company: str | None = None
    stage: str
    stage_entered_at: datetime
    value_cents: int | None = None
    expected_close: date | None = None
    closed_at: datetime | None = None
    lost_reason: str | None = None
    lost_at_stage: str | None = None
    owner: str | None = None
    source: str | None = None
    score: int = 0
    notes: str | None = None
    extra: dict[str, Any] = {}
    lines: list[DealLineRead] = []
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    version: int = 1

    @property
    def value(self) -> float | int | None:
        return cents_to_major(self.value_cents)

    def to_json(self) -> dict[str, Any]:
        """The deal object of SPEC §1a, keys in the documented order."""
        return {
            "id": self.id,
            "title": self.title,
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
            "company_id": self.company_id,
            "company": self.company,
            "stage": self.stage,
            "value": self.value,
            "expected_close": self.expected_close.isoformat() if self.expected_close else None,
            "closed_at": _iso(self.closed_at),
            "lost_reason": self.lost_reason,
            "lost_at_stage": self.lost_at_stage,
            "owner": self.owner,
            "source": self.source,
            "score": self.score,
            "notes": self.notes,
            "extra": dict(self.extra),
            "lines": [line.to_json() for line in self.lines],
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


class CompanyRead(BaseModel):
    id: int
    name: str
    domain: str | None = None
    email: str | None = None
    phone: str | None = None
    industry: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    owner: str | None = None
    tags: list[str] = []
    notes: str | None = None
    extra: dict[str, Any] = {}
    people_count: int = 0
    open_deals: int = 0
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "domain": self.domain,
            "email": self.email,
            "phone": self.phone,
            "industry": self.industry,
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "owner": self.owner,
            "tags": list(self.tags),
            "notes": self.notes,
            "extra": dict(self.extra),
            "people_count": self.people_count,
            "open_deals": self.open_deals,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }
