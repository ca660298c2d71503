"""Value segments (`crm report segments`): ABC tiers and RFM scores from
revenue counted once per sale (definitions in funnel/reports.py and the
README)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal_column, select, union_all
from sqlmodel import Session

from minicrm.models import WON, Contact, Deal, Interaction
from minicrm.services.funnel.sql import as_json, grouped, sql_text
from minicrm.services.records import config

TOP_CUSTOMERS = 10
SEGMENTS = ("champions", "loyal", "promising", "needs attention", "at risk", "hibernating")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---------------------------------------------------------------- segments


@dataclass(frozen=True)
class Tier:
    tier: str
    customers: int
    revenue_cents: int
    revenue_share: float | None
    customer_share: float | None


@dataclass(frozen=True)
class Segment:
    segment: str
    customers: int
    revenue_cents: int
    recency: float  # mean scores
    frequency: float
    monetary: float


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    revenue_cents: int
    purchases: int
    last_purchase_at: datetime
    tier: str
    recency: int
    frequency: int
    monetary: int
    segment: str
    rfm: str  # "553": R, F and M side by side


@dataclass(frozen=True)
class SegmentsReport:
    currency: str
    customers: int
    revenue_cents: int
    tiers: tuple[Tier, ...]
    segments: tuple[Segment, ...]
    top_customers: tuple[Customer, ...]

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in as_json(self).items() if k != "currency"}


def segments_report(session: Session) -> SegmentsReport:
    """ABC value tiers and RFM segments of the customers, from purchases."""
    labelled = _labelled_customers()
    c = labelled.c
    scores = (func.sum(c.revenue), func.sum(c.r), func.sum(c.f), func.sum(c.m))
    rows = grouped(session, labelled, ["tier", "segment"], *scores)
    customers, revenue = (sum(int(row[i]) for row in rows) for i in (2, 3))

    def sums(column: int, name: str) -> list[int]:  # customers, revenue, R, F, M
        return [sum(int(r[i]) for r in rows if r[column] == name) for i in range(2, 7)]

    tiers = tuple(
        Tier(name, n, cents, _share(cents, revenue), _share(n, customers))
        for name in "ABC"
        for n, cents, *_scores in [sums(0, name)]
    )
    segments = tuple(
        Segment(name, n, cents, r / n, f / n, m / n)
        for name in SEGMENTS
        for n, cents, r, f, m in [sums(1, name)]
        if n
    )
    top = session.execute(_customers_by_revenue(labelled).limit(TOP_CUSTOMERS)).all()
    return SegmentsReport(
        currency=config.get_setting(session, "currency") or "USD",
        customers=customers,
        revenue_cents=revenue,
        tiers=tiers,
        segments=segments,
        top_customers=tuple(_customer(row) for row in top),
    )


def every_customer(session: Session) -> Iterator[Customer]:
    """Every customer, highest revenue first, with the report's tier, RFM and
    segment: the rows `crm report segments --format csv` writes."""
    rows = session.execute(_customers_by_revenue(_labelled_customers()).execution_options(
        yield_per=1000
    ))
    return (_customer(row) for row in rows)


def _customers_by_revenue(labelled: Any) -> Any:
    c = labelled.c
    return (
        select(c.id, Contact.name, c.revenue, c.purchases, c.last_at, c.tier, c.r, c.f, c.m,
               c.segment)
        .join(Contact, Contact.id == c.id)
        .order_by(c.revenue.desc(), c.id)
    )  # fmt: skip


def _customer(row: Any) -> Customer:
    return Customer(*row[:2], int(row[2]), *row[3:], rfm=f"{row[6]}{row[7]}{row[8]}")


def _purchase_events() -> Any:
    """(contact_id, amount, at) per purchase, revenue counted once: every
    purchase interaction with an amount (linked to a deal or not), plus each
    live won deal of a contact with no such purchase linked to it, for its
    value at its closed_at."""
    purchase = and_(Interaction.kind == "purchase", Interaction.amount_cents.is_not(None))
    logged = select(
        Interaction.contact_id.label("contact_id"),
        Interaction.amount_cents.label("amount"),
        Interaction.at.label("at"),
    ).where(purchase)
    linked = exists().where(Interaction.deal_id == Deal.id, purchase)
    won = select(
        Deal.contact_id,
        Deal.value_cents,
        func.coalesce(Deal.closed_at, Deal.stage_entered_at),
    ).where(
        Deal.deleted_at.is_(None),
        Deal.stage == WON,
        Deal.contact_id.is_not(None),
        Deal.value_cents.is_not(None),
        ~linked,
    )
    return union_all(logged, won).subquery("purchases")


def _labelled_customers() -> Any:
    """One row per customer: revenue, purchases, last purchase, tier, R/F/M, segment."""
    events = _purchase_events()
    e = events.c
    customers = (
        select(
            e.contact_id.label("id"),
            func.sum(e.amount).label("revenue"),
            func.count().label("purchases"),
            func.max(e.at).label("last_at"),
        )
        .join(Contact, Contact.id == e.contact_id)
        .where(Contact.deleted_at.is_(None))
        .group_by(e.contact_id)
        .having(func.sum(e.amount) > 0)
        .subquery()
    )
    c = customers.c
    size = func.count().over()

    def quintile(order) -> Any:
        return (
            literal_column("1")
            + (literal_column("5") * (func.rank().over(order_by=order) - literal_column("1")))
            // size
        )

    scored = select(
        c.id, c.revenue, c.purchases, c.last_at,
        (func.sum(c.revenue).over(order_by=(c.revenue.desc(), c.id), rows=(None, 0)) - c.revenue)
        .label("before"),
        func.sum(c.revenue).over().label("total"),
        quintile(c.last_at).label("r"), quintile(c.purchases).label("f"),
        quintile(c.revenue).label("m"),
    ).subquery()  # fmt: skip
    s = scored.c
    hundred = literal_column("100")
    tier = case(
        (s.before * hundred < s.total * literal_column("80"), sql_text("A")),
        (s.before * hundred < s.total * literal_column("95"), sql_text("B")),
        else_=sql_text("C"),
    )
    segment = case(
        (and_(s.r >= 4, s.f >= 4), sql_text("champions")),
        (and_(s.r >= 3, s.f >= 3), sql_text("loyal")),
        (s.r >= 4, sql_text("promising")),
        (s.f >= 3, sql_text("at risk")),
        (s.r <= 2, sql_text("hibernating")),
        else_=sql_text("needs attention"),
    )
    return select(
        s.id, s.revenue, s.purchases, s.last_at, s.r, s.f, s.m,
        tier.label("tier"), segment.label("segment"),
    ).subquery()  # fmt: skip
