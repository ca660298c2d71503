"""The other reports: weighted forecast, activity per week, value segments.

Like the funnel (services/funnel.py, whose definitions and SQL helpers these
reuse), every report counts in SQL and hands Python only small aggregates.
Trashed contacts, and their interactions, are left out everywhere.

Definitions (also in the README):

- forecast: each open contact's value × P(win | its current stage), with P
  from all closed history (see funnel.py). Its expected close is when it
  entered its current stage plus `days_to_win` of that stage: the average,
  over currently won contacts that were in the stage, of the days from their
  last entry into it to their first move into won. The expected close falls
  in a local calendar month; a date already past counts in the current month,
  one beyond the 12-month horizon as "later", and a stage no won contact ever
  passed through gives "(no history)".
- activity: interactions by their own owner (who logged them) and kind, per
  ISO week (Monday 00:00 local time), the current week and the N-1 before.
- segments: customers are contacts with purchase interactions whose amounts
  sum above zero. ABC tiers: customers by revenue, highest first (ties by
  id); A while the revenue before a customer is under 80 % of the total, B
  under 95 %, else C. RFM scores 1–5 are quintiles of rank: score = 1 +
  ⌊5 × (rank − 1) / customers⌋ with rank() ascending by last purchase (R),
  number of purchases (F) and revenue (M), so equal values share a score.
  Segments come from R and F: champions (R≥4, F≥4), loyal (R≥3, F≥3),
  promising (R≥4), at risk (F≥3), hibernating (R≤2), needs attention (the rest).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, literal_column, select
from sqlmodel import Session

from minicrm.dates import start_of_day, wall_clock
from minicrm.errors import UserError
from minicrm.models import WON, Contact, Interaction, StageChange, UTCDateTime, cents_to_major
from minicrm.services import config
from minicrm.services.funnel import (
    Scope,
    as_json,
    closed_counts,
    contact_facts,
    days_between,
    forecast_cents,
    group_order,
    group_value,
    grouped,
    sql_text,
)

HORIZON_MONTHS = 12
LATER, NO_HISTORY = "later", "(no history)"
MAX_WEEKS = 104
TOP_CUSTOMERS = 10
SEGMENTS = ("champions", "loyal", "promising", "needs attention", "at risk", "hibernating")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---------------------------------------------------------------- forecast


@dataclass(frozen=True)
class ForecastLine:
    label: str
    open: int
    value_cents: int
    weighted_cents: int

    def to_json(self, key: str) -> dict[str, Any]:
        return {
            key: self.label,
            "open": self.open,
            "value": cents_to_major(self.value_cents),
            "weighted": cents_to_major(self.weighted_cents),
        }


@dataclass(frozen=True)
class ForecastReport:
    currency: str
    win_probability: dict[str, float | None]
    days_to_win: dict[str, float | None]
    owners: tuple[ForecastLine, ...]
    months: tuple[ForecastLine, ...]
    total: ForecastLine

    def to_json(self) -> dict[str, Any]:
        return {
            "win_probability": dict(self.win_probability),
            "days_to_win": dict(self.days_to_win),
            "owners": [line.to_json("owner") for line in self.owners],
            "months": [line.to_json("month") for line in self.months],
            "open": self.total.open,
            "value": cents_to_major(self.total.value_cents),
            "weighted": cents_to_major(self.total.weighted_cents),
        }


def forecast_report(session: Session, *, now: datetime | None = None) -> ForecastReport:
    """Open value weighted by P(win | current stage), per owner and per month."""
    now = now or datetime.now(UTC)
    stages = config.open_stages(session)
    closed = closed_counts(stages, contact_facts(session, Scope(stages)))
    days_to_win = _days_to_win(session, stages)
    starts, labels = _month_starts(now, config.local_zone_of(session))
    month = _expected_month(days_to_win, starts, labels)
    open_contacts = (
        select(
            group_value(Contact.owner).label("owner"),
            Contact.stage.label("stage"),
            month.label("month"),
            Contact.value_cents.label("value_cents"),
        )
        .where(Contact.deleted_at.is_(None), Contact.stage.in_(stages))
        .subquery()
    )
    value = func.coalesce(func.sum(open_contacts.c.value_cents), 0)
    rows = grouped(session, open_contacts, ["owner", "stage", "month"], value)
    month_order = {label: i for i, label in enumerate([*labels, LATER, NO_HISTORY])}
    return ForecastReport(
        currency=config.get_setting(session, "currency") or "USD",
        win_probability={
            s: (w / (w + lost) if w + lost else None) for s, (w, lost) in closed.items()
        },
        days_to_win=days_to_win,
        owners=_lines(rows, 0, closed, sorted_by=group_order),
        months=_lines(rows, 2, closed, sorted_by=month_order.__getitem__),
        total=_line("total", rows, closed),
    )


def _days_to_win(session: Session, stages: list[str]) -> dict[str, float | None]:
    """{open stage: mean days from the last entry into it to the first win},
    over currently won contacts that were in it before winning."""
    first_won = (
        select(StageChange.contact_id, func.min(StageChange.at).label("won_at"))
        .join(Contact, Contact.id == StageChange.contact_id)
        .where(Contact.deleted_at.is_(None), Contact.stage == WON, StageChange.to_stage == WON)
        .group_by(StageChange.contact_id)
        .subquery()
    )
    entries = (
        select(
            StageChange.to_stage.label("stage"),
            func.max(StageChange.at).label("entered_at"),
            first_won.c.won_at,
        )
        .join(first_won, first_won.c.contact_id == StageChange.contact_id)
        .where(StageChange.to_stage.in_(stages), StageChange.at <= first_won.c.won_at)
        .group_by(StageChange.contact_id, StageChange.to_stage, first_won.c.won_at)
        .subquery()
    )
    e = entries.c
    found = dict(
        session.execute(
            select(e.stage, func.avg(days_between(e.entered_at, e.won_at))).group_by(e.stage)
        ).all()
    )
    return {s: (float(found[s]) if found.get(s) is not None else None) for s in stages}


def _month_starts(now: datetime, zone) -> tuple[list[datetime], list[str]]:
    """Local month starts (as UTC) from this month to the horizon, and labels."""
    first = now.astimezone(zone).date().replace(day=1)
    days = [first]
    for _ in range(HORIZON_MONTHS):
        days.append((days[-1] + timedelta(days=32)).replace(day=1))
    starts = [
        wall_clock(datetime.combine(d, datetime.min.time()), zone).astimezone(UTC) for d in days
    ]
    return starts, [d.strftime("%Y-%m") for d in days[:-1]]


def _expected_month(days_to_win: dict[str, float | None], starts, labels) -> Any:
    """A CASE giving each open contact its expected month: entered + D < M(i+1)
    is written entered < M(i+1) − D, so no date arithmetic is needed in SQL."""
    entered = func.coalesce(Contact.stage_entered_at, Contact.created_at)
    whens = []
    for stage, days in days_to_win.items():
        if days is None:
            continue
        shift = timedelta(days=days)
        for label, end in zip(labels, starts[1:], strict=True):
            bound = literal(end - shift, UTCDateTime())
            whens.append((and_(Contact.stage == stage, entered < bound), sql_text(label)))
        whens.append((Contact.stage == stage, sql_text(LATER)))
    return case(*whens, else_=sql_text(NO_HISTORY)) if whens else sql_text(NO_HISTORY)


def _line(label: str, rows, closed) -> ForecastLine:
    value: Counter = Counter()
    for _owner, stage, _month, _count, cents in rows:
        value[stage] += int(cents)
    open_count = sum(row[3] for row in rows)
    return ForecastLine(label, open_count, sum(value.values()), forecast_cents(value, closed))


def _lines(rows, column: int, closed, *, sorted_by) -> tuple[ForecastLine, ...]:
    labels = sorted({row[column] for row in rows}, key=sorted_by)
    return tuple(_line(label, [r for r in rows if r[column] == label], closed) for label in labels)


# ---------------------------------------------------------------- activity


@dataclass(frozen=True)
class ActivityRow:
    owner: str
    kind: str
    counts: tuple[int, ...]  # per week
    total: int


@dataclass(frozen=True)
class ActivityReport:
    weeks: tuple[str, ...]  # ISO weeks, oldest first: "2026-W47"
    start: datetime  # the first week's Monday 00:00, local time
    end: datetime  # the Monday after the last week
    rows: tuple[ActivityRow, ...]
    totals: tuple[int, ...]  # per week
    total: int

    def to_json(self) -> dict[str, Any]:
        return as_json(self)


def activity_report(
    session: Session, *, weeks: int = 8, now: datetime | None = None
) -> ActivityReport:
    """Interactions per owner and kind in each of the last `weeks` ISO weeks."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise UserError(f"--weeks must be between 1 and {MAX_WEEKS}")
    now = now or datetime.now(UTC)
    zone = config.local_zone_of(session)
    monday = -now.astimezone(zone).weekday()
    starts = [start_of_day(now, zone, days_later=monday + 7 * i) for i in range(1 - weeks, 2)]
    week = case(
        *[(Interaction.at < starts[i + 1], literal_column(str(i))) for i in range(weeks - 1)],
        else_=literal_column(str(weeks - 1)),
    )
    logged = (
        select(group_value(Interaction.owner).label("owner"), Interaction.kind, week.label("week"))
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(
            Contact.deleted_at.is_(None),
            Interaction.at >= starts[0],
            Interaction.at < starts[-1],
        )
        .subquery()
    )
    counts: dict[tuple[str, str], list[int]] = {}
    for owner, kind, index, n in grouped(session, logged, ["owner", "kind", "week"]):
        counts.setdefault((owner, kind), [0] * weeks)[int(index)] += n
    rows = tuple(
        ActivityRow(owner, kind, tuple(counts[owner, kind]), sum(counts[owner, kind]))
        for owner, kind in sorted(counts, key=lambda key: (group_order(key[0]), key[1]))
    )
    totals = tuple(sum(row.counts[i] for row in rows) for i in range(weeks))
    return ActivityReport(
        weeks=tuple(
            "{}-W{:02d}".format(*s.astimezone(zone).isocalendar()[:2]) for s in starts[:-1]
        ),
        start=starts[0],
        end=starts[-1],
        rows=rows,
        totals=totals,
        total=sum(totals),
    )


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
    top = session.execute(
        select(c.id, Contact.name, c.revenue, c.purchases, c.last_at, c.tier, c.r, c.f, c.m,
               c.segment)
        .join(Contact, Contact.id == c.id)
        .order_by(c.revenue.desc(), c.id)
        .limit(TOP_CUSTOMERS)
    ).all()  # fmt: skip
    return SegmentsReport(
        currency=config.get_setting(session, "currency") or "USD",
        customers=customers,
        revenue_cents=revenue,
        tiers=tiers,
        segments=segments,
        top_customers=tuple(
            Customer(*row[:2], int(row[2]), *row[3:], rfm=f"{row[6]}{row[7]}{row[8]}")
            for row in top
        ),
    )


def _labelled_customers() -> Any:
    """One row per customer: revenue, purchases, last purchase, tier, R/F/M, segment."""
    amount = Interaction.amount_cents
    customers = (
        select(
            Interaction.contact_id.label("id"),
            func.sum(amount).label("revenue"),
            func.count().label("purchases"),
            func.max(Interaction.at).label("last_at"),
        )
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Contact.deleted_at.is_(None), Interaction.kind == "purchase", amount.is_not(None))
        .group_by(Interaction.contact_id)
        .having(func.sum(amount) > 0)
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
