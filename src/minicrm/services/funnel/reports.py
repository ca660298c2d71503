"""The other reports: weighted forecast, activity per week, value segments.

Like the funnel (funnel.py, whose definitions and SQL helpers these
reuse), every report counts in SQL and hands Python only small aggregates.
Trashed contacts, and their interactions, are left out everywhere.

Definitions (also in the README):

- forecast: each open deal's value × P(win | its current stage), with P
  and the fallback stages as in funnel.py (closed deals with a known path;
  fewer than 10 through a stage: the overall win rate). A deal with an
  expected_close falls in that calendar month. Without one, its expected
  close is when it entered its current stage plus `days_to_win` of that
  stage: the average, over currently won deals that were in the stage, of
  the days from their last entry into it to their first move into won, in a
  local calendar month. A date already past counts in the current month, one
  beyond the 12-month horizon as "later", and a stage no won deal ever
  passed through gives "(no history)". Owners are the deals' owners.
- activity: interactions by their own owner (who logged them) and kind, per
  ISO week (Monday 00:00 local time), the current week and the N-1 before.
- segments: revenue is counted once per sale: every purchase interaction
  with an amount (at its time), and each live won deal with no purchase
  linked to it (interaction.deal_id) for its value, at its closed_at, to its
  contact. Customers are contacts whose purchases
  sum above zero. ABC tiers: customers by revenue, highest first (ties by
  id); A while the revenue before a customer is under 80 % of the total, B
  under 95 %, else C. RFM scores 1–5 are quintiles of rank: score = 1 +
  ⌊5 × (rank − 1) / customers⌋ with rank() ascending by last purchase (R),
  number of purchases (F) and revenue (M), so equal values share a score.
  Segments come from R and F: champions (R≥4, F≥4), loyal (R≥3, F≥3),
  promising (R≥4), at risk (F≥3), hibernating (R≤2), needs attention (the rest).
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, func, literal, literal_column, select
from sqlmodel import Session

from minicrm.dates import start_of_day, wall_clock
from minicrm.errors import UserError
from minicrm.models import (
    WON,
    Contact,
    Deal,
    Interaction,
    StageChange,
    UTCDateTime,
    cents_to_major,
    is_contact_with_customer,
)
from minicrm.services.funnel.funnel import Scope, deal_facts, forecast_cents, win_probabilities
from minicrm.services.funnel.segments import (
    SEGMENTS,
    Customer,
    Segment,
    SegmentsReport,
    Tier,
    segments_report,
)
from minicrm.services.funnel.sql import (
    as_json,
    days_between,
    group_order,
    group_value,
    grouped,
    sql_text,
)
from minicrm.services.records import config

HORIZON_MONTHS = 12
LATER, NO_HISTORY = "later", "(no history)"
MAX_WEEKS = 104


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
    fallback_stages: tuple[str, ...]
    days_to_win: dict[str, float | None]
    owners: tuple[ForecastLine, ...]
    months: tuple[ForecastLine, ...]
    total: ForecastLine

    def to_json(self) -> dict[str, Any]:
        return {
            "win_probability": dict(self.win_probability),
            "fallback_stages": list(self.fallback_stages),
            "days_to_win": dict(self.days_to_win),
            "owners": [line.to_json("owner") for line in self.owners],
            "months": [line.to_json("month") for line in self.months],
            "open": self.total.open,
            "value": cents_to_major(self.total.value_cents),
            "weighted": cents_to_major(self.total.weighted_cents),
        }


def forecast_report(session: Session, *, now: datetime | None = None) -> ForecastReport:
    """Open deals' value weighted by P(win | current stage), per owner and month."""
    basis = _forecast_basis(session, now or datetime.now(UTC))
    open_deals = (
        select(
            group_value(Deal.owner).label("owner"),
            Deal.stage.label("stage"),
            basis.month.label("month"),
            Deal.value_cents.label("value_cents"),
        )
        .where(Deal.deleted_at.is_(None), Deal.stage.in_(basis.stages))
        .subquery()
    )
    value = func.coalesce(func.sum(open_deals.c.value_cents), 0)
    rows = grouped(session, open_deals, ["owner", "stage", "month"], value)
    month_order = {label: i for i, label in enumerate([*basis.labels, LATER, NO_HISTORY])}
    probabilities = basis.probabilities
    return ForecastReport(
        currency=config.get_setting(session, "currency") or "USD",
        win_probability={s: (None if p is None else float(p)) for s, p in probabilities.items()},
        fallback_stages=tuple(basis.fallback),
        days_to_win=basis.days_to_win,
        owners=_lines(rows, 0, probabilities, sorted_by=group_order),
        months=_lines(rows, 2, probabilities, sorted_by=month_order.__getitem__),
        total=_line("total", rows, probabilities),
    )


@dataclass(frozen=True)
class ForecastDeal:
    """One open deal as the forecast sees it (`crm report forecast --format csv`)."""

    id: int
    title: str
    contact_name: str | None
    owner: str | None
    stage: str
    value_cents: int | None
    win_probability: float | None
    weighted_cents: int | None  # rounded per deal: the sums may differ from the report's by cents
    expected_month: str


def forecast_deals(session: Session, *, now: datetime | None = None) -> Iterator[ForecastDeal]:
    """Every open deal with its stage's P(win), weighted value and expected month."""
    basis = _forecast_basis(session, now or datetime.now(UTC))
    query = (
        select(Deal.id, Deal.title, Contact.name, Deal.owner, Deal.stage, Deal.value_cents,
               basis.month)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .where(Deal.deleted_at.is_(None), Deal.stage.in_(basis.stages))
        .order_by(Deal.id)
        .execution_options(yield_per=1000)
    )  # fmt: skip
    for deal_id, title, contact, owner, stage, cents, month in session.execute(query):
        p = basis.probabilities.get(stage)
        weighted = None if p is None or cents is None else round(cents * p)
        probability = None if p is None else float(p)
        yield ForecastDeal(
            deal_id, title, contact, owner, stage, cents, probability, weighted, month
        )


@dataclass(frozen=True)
class _ForecastBasis:
    stages: list[str]
    probabilities: dict[str, Any]  # Fraction | None per open stage
    fallback: Any
    days_to_win: dict[str, float | None]
    labels: list[str]
    month: Any  # the CASE giving an open deal its expected month


def _forecast_basis(session: Session, now: datetime) -> _ForecastBasis:
    stages = config.open_stages(session)
    probabilities, fallback = win_probabilities(stages, deal_facts(session, Scope(stages)))
    days_to_win = _days_to_win(session, stages)
    starts, labels, firsts = _month_starts(now, config.local_zone_of(session))
    month = _expected_month(days_to_win, starts, labels, firsts)
    return _ForecastBasis(stages, probabilities, fallback, days_to_win, labels, month)


def _days_to_win(session: Session, stages: list[str]) -> dict[str, float | None]:
    """{open stage: mean days from the last entry into it to the first win},
    over currently won deals that were in it before winning."""
    # One pass over the won deals' history with a window for the first win
    # (no self-join: PostgreSQL without fresh statistics, e.g. right after a
    # big import in the same transaction, planned that as nested loops).
    first_won_at = func.min(case((StageChange.to_stage == WON, StageChange.at))).over(
        partition_by=StageChange.deal_id
    )
    history = (
        select(
            StageChange.deal_id,
            StageChange.to_stage.label("stage"),
            StageChange.at,
            first_won_at.label("won_at"),
        )
        .join(Deal, Deal.id == StageChange.deal_id)
        .where(Deal.deleted_at.is_(None), Deal.stage == WON)
        .subquery()
    )
    h = history.c
    entries = (
        select(h.stage, func.max(h.at).label("entered_at"), h.won_at)
        .where(h.stage.in_(stages), h.at <= h.won_at)
        .group_by(h.deal_id, h.stage, h.won_at)
        .subquery()
    )
    e = entries.c
    found = dict(
        session.execute(
            select(e.stage, func.avg(days_between(e.entered_at, e.won_at))).group_by(e.stage)
        ).all()
    )
    return {s: (float(found[s]) if found.get(s) is not None else None) for s in stages}


def _month_starts(now: datetime, zone) -> tuple[list[datetime], list[str], list[date]]:
    """Local month starts (as UTC) from this month to the horizon, their
    labels, and the same starts as calendar days."""
    first = now.astimezone(zone).date().replace(day=1)
    days = [first]
    for _ in range(HORIZON_MONTHS):
        days.append((days[-1] + timedelta(days=32)).replace(day=1))
    starts = [
        wall_clock(datetime.combine(d, datetime.min.time()), zone).astimezone(UTC) for d in days
    ]
    return starts, [d.strftime("%Y-%m") for d in days[:-1]], days


def _expected_month(days_to_win: dict[str, float | None], starts, labels, firsts) -> Any:
    """A CASE giving each open deal its expected month: its expected_close's
    month when set (a past date: this month); else entered + D, written
    entered < M(i+1) − D, so no date arithmetic is needed in SQL."""
    close = Deal.expected_close
    whens = [
        (close < literal(end, Date()), sql_text(label))
        for label, end in zip(labels, firsts[1:], strict=True)
    ]
    whens.append((close.is_not(None), sql_text(LATER)))
    entered = func.coalesce(Deal.stage_entered_at, Deal.created_at)
    for stage, days in days_to_win.items():
        if days is None:
            continue
        shift = timedelta(days=days)
        for label, end in zip(labels, starts[1:], strict=True):
            bound = literal(end - shift, UTCDateTime())
            whens.append((and_(Deal.stage == stage, entered < bound), sql_text(label)))
        whens.append((Deal.stage == stage, sql_text(LATER)))
    return case(*whens, else_=sql_text(NO_HISTORY))


def _line(label: str, rows, probabilities) -> ForecastLine:
    value: Counter = Counter()
    for _owner, stage, _month, _count, cents in rows:
        value[stage] += int(cents)
    open_count = sum(row[3] for row in rows)
    weighted = forecast_cents(value, probabilities)
    return ForecastLine(label, open_count, sum(value.values()), weighted)


def _lines(rows, column: int, probabilities, *, sorted_by) -> tuple[ForecastLine, ...]:
    labels = sorted({row[column] for row in rows}, key=sorted_by)
    return tuple(
        _line(label, [r for r in rows if r[column] == label], probabilities) for label in labels
    )


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


def _week_index(starts: list[datetime], weeks: int):
    """Which of the `weeks` weeks an interaction falls in, as SQL. One week
    needs no CASE at all (and a CASE with no WHEN is a syntax error)."""
    if weeks == 1:
        return literal_column("0")
    return case(
        *[(Interaction.at < starts[i + 1], literal_column(str(i))) for i in range(weeks - 1)],
        else_=literal_column(str(weeks - 1)),
    )


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
    week = _week_index(starts, weeks)
    logged = (
        select(group_value(Interaction.owner).label("owner"), Interaction.kind, week.label("week"))
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(
            Contact.deleted_at.is_(None),
            is_contact_with_customer(Interaction.kind),
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


__all__ = [
    "SEGMENTS", "Customer", "Segment", "SegmentsReport", "Tier", "segments_report",
    "activity_report", "forecast_report",
]  # fmt: skip
