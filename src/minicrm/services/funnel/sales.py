"""`crm report sales`: won revenue, deals won and average deal size.

Definitions (also in the README):

- A sale is a live deal now in `won`; it counts at its `closed_at` (the
  period `[since, until)` selects by it; a day alone means the whole day).
- revenue is the deal's value; avg_deal = revenue / won, rounded to the cent.
- by product: revenue from the deal's lines (`total`), per product (a
  free-text line under its description); a deal counts once under each
  product on its lines; a deal without lines counts its value under
  "(no product)".
- by company (the deal's company, "(none)" without one), owner (the deal's,
  "(none)" when empty) or month (`YYYY-MM` of closed_at in local time).
- Groups come by revenue, highest first (ties by key); months in order.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlmodel import Session

from minicrm.dates import wall_clock
from minicrm.errors import UserError
from minicrm.models import WON, Company, Deal, DealLine, Product, UTCDateTime, cents_to_major
from minicrm.services.funnel.sql import group_value, grouped, sql_text
from minicrm.services.records import config

SALES_BY = ("product", "company", "owner", "month")
NO_PRODUCT = "(no product)"


def _average(revenue_cents: int, won: int) -> int | None:
    return round(Fraction(revenue_cents, won)) if won else None


@dataclass(frozen=True)
class SalesGroup:
    key: str
    won: int
    revenue_cents: int

    @property
    def avg_deal_cents(self) -> int | None:
        return _average(self.revenue_cents, self.won)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "won": self.won,
            "revenue": cents_to_major(self.revenue_cents),
            "avg_deal": cents_to_major(self.avg_deal_cents),
        }


@dataclass(frozen=True)
class SalesReport:
    by: str | None
    since: datetime | None
    until: datetime | None
    currency: str
    won: int
    revenue_cents: int
    groups: tuple[SalesGroup, ...]

    @property
    def avg_deal_cents(self) -> int | None:
        return _average(self.revenue_cents, self.won)

    def to_json(self) -> dict[str, Any]:
        return {
            "won": self.won,
            "revenue": cents_to_major(self.revenue_cents),
            "avg_deal": cents_to_major(self.avg_deal_cents),
            "groups": [group.to_json() for group in self.groups],
        }


def sales_report(
    session: Session,
    *,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SalesReport:
    """Won deals closed in [since, until), optionally per product, company,
    owner or month."""
    if by is not None and by not in SALES_BY:
        raise UserError(f"cannot break sales down by {by!r}; use {', '.join(SALES_BY)}")
    if since is not None and until is not None and since >= until:
        raise UserError("the period is empty: --since must be before --until")
    conditions = [Deal.deleted_at.is_(None), Deal.stage == WON]
    if since is not None:
        conditions.append(Deal.closed_at >= since)
    if until is not None:
        conditions.append(Deal.closed_at < until)
    won, revenue = session.execute(
        select(func.count(), func.coalesce(func.sum(Deal.value_cents), 0)).where(*conditions)
    ).one()
    groups: list[SalesGroup] = []
    if by == "product":
        groups = _by_product(session, conditions)
    elif by == "month":
        groups = _by_month(session, conditions, config.local_zone_of(session))
    elif by is not None:
        key = group_value(Deal.owner if by == "owner" else Company.name)
        query = select(key, func.count(), func.coalesce(func.sum(Deal.value_cents), 0))
        if by == "company":
            query = query.outerjoin(Company, Company.id == Deal.company_id)
        rows = session.execute(query.where(*conditions).group_by(key)).all()
        groups = [SalesGroup(k, n, int(cents)) for k, n, cents in rows]
    if by != "month":
        groups.sort(key=lambda g: (-g.revenue_cents, g.key.casefold(), g.key))
    return SalesReport(
        by=by,
        since=since,
        until=until,
        currency=config.get_setting(session, "currency") or "USD",
        won=won,
        revenue_cents=int(revenue),
        groups=tuple(groups),
    )


def _by_product(session: Session, conditions: list) -> list[SalesGroup]:
    what = func.coalesce(Product.name, DealLine.description)
    lined = session.execute(
        select(what, func.count(func.distinct(Deal.id)), func.sum(DealLine.total_cents))
        .select_from(Deal)
        .join(DealLine, DealLine.deal_id == Deal.id)
        .outerjoin(Product, Product.id == DealLine.product_id)
        .where(*conditions)
        .group_by(what)
    ).all()
    has_lines = exists().where(DealLine.deal_id == Deal.id)
    bare_won, bare_revenue = session.execute(
        select(func.count(), func.coalesce(func.sum(Deal.value_cents), 0)).where(
            *conditions, ~has_lines
        )
    ).one()
    groups = [SalesGroup(key, n, int(cents or 0)) for key, n, cents in lined]
    if bare_won:
        groups.append(SalesGroup(NO_PRODUCT, bare_won, int(bare_revenue)))
    return groups


def _by_month(session: Session, conditions: list, zone) -> list[SalesGroup]:
    """Local calendar months from the first sale to the last: a CASE over
    the month starts (as UTC instants), so daylight saving needs no SQL."""
    first, last = session.execute(
        select(func.min(Deal.closed_at), func.max(Deal.closed_at)).where(*conditions)
    ).one()
    if first is None:
        return []
    day = _aware(first).astimezone(zone).date().replace(day=1)
    end = _aware(last).astimezone(zone).date()
    labels, bounds = [], []
    while day <= end:
        labels.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
        start = wall_clock(datetime.combine(day, datetime.min.time()), zone).astimezone(UTC)
        bounds.append(literal(start, UTCDateTime()))
    month = case(
        *[
            (Deal.closed_at < bound, sql_text(label))
            for label, bound in zip(labels, bounds, strict=True)
        ],
        else_=sql_text(labels[-1]),
    )
    sales = select(month.label("month"), Deal.value_cents).where(and_(*conditions)).subquery()
    value = func.coalesce(func.sum(sales.c.value_cents), 0)
    rows = grouped(session, sales, ["month"], value)
    return sorted((SalesGroup(k, n, int(cents)) for k, n, cents in rows), key=lambda g: g.key)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
