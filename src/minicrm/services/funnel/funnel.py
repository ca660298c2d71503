"""The funnel report of SPEC §4: every figure by its definition, in SQL.

The funnel counts DEALS (SPEC §1a): a contact with three deals counts three
times, a deal without a contact counts too. SQL does the counting: a few
GROUP BY queries (with LEAD windows over stage_change, and medians picked
with row_number()/count() windows) return small aggregates, which Python only
adds up per stage. No Python loop ever sees one row per deal or stage change.

(A little over 400 lines on purpose: every funnel figure's definition and its
SQL stay side by side in one module, as SPEC §4 defines them together.)

Definitions where SPEC §4 leaves a choice (also in the README):

- Scope: live deals (deleted_at NULL) created in [since, until); with `by`,
  each group's figures come from that group's deals alone, and a missing or
  empty value is grouped under "(none)". owner and source are the deal's;
  industry and region its company's, else its contact's; company its
  company's name; product: a deal counts once under each distinct product
  (or free-text description) on its lines, a deal without lines under "(none)".
- Order: the open stages S1…Sk of the `stages` setting, then won (k+1).
  lost, and stage names no longer in the setting, are outside the order.
- current, value, won, lost: by the deal's current stage.
- reached(Si): the furthest ordered stage among the creation stage, every
  to_stage of the deal's history and the current stage is Si or later.
  reached(won): ever in won. reached(lost): ever in lost.
- conversion_to_next(Sk) = reached(won) / reached(Sk).
- Stints: a deal's stage changes ordered by (at, id); the stint in a
  change's to_stage ends at the next change. The last one is unfinished and
  not counted. won and lost have stints too (when a deal left them).
- Sales cycle: currently won deals, created_at to their first move into won.
- lost_reasons: currently lost deals by lost_reason; none → "unknown".
  lost_at_stage: currently lost deals by the open stage they were lost from;
  "(none)" when created or imported straight into lost (or lost after won).
- P(win | Si) = won / (won + lost) among currently closed deals with a known
  path (ever in an open stage: a deal created straight into won or lost
  votes on no stage) that reached Si. A stage with fewer than MIN_CLOSED
  such deals takes the overall win rate (all closed deals) instead: a
  "fallback stage". forecast = Σ over open deals of value × P(win | current
  stage), rounded to the cent; with no closed deal at all it adds nothing.
- Medians: the middle value, or the mean of the two middle ones.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    Deal,
    DealLine,
    Product,
    StageChange,
)
from minicrm.services.funnel.sql import (
    NO_VALUE,
    as_json,
    days_between,
    group_order,
    group_value,
    grouped,
    mean_and_median,
    sql_text,
)
from minicrm.services.records import config

BY_FIELDS = ("owner", "source", "industry", "region", "product", "company")
UNKNOWN_REASON = "unknown"
MIN_CLOSED = 10  # closed deals through a stage before its own P(win) is trusted


@dataclass(frozen=True)
class StageFigures:
    stage: str
    current: int
    value_cents: int
    reached: int
    conversion_to_next: float | None
    avg_days_in_stage: float | None
    median_days_in_stage: float | None


@dataclass(frozen=True)
class FunnelFigures:
    """One funnel: the whole scope, or one group of a `by` breakdown. Its
    fields are, in order, the JSON of SPEC §10."""

    stages: tuple[StageFigures, ...]
    won: int
    lost: int
    win_rate: float | None
    avg_cycle_days: float | None
    median_cycle_days: float | None
    lost_reasons: dict[str, int]
    lost_at_stage: dict[str, int]
    forecast_cents: int

    def to_json(self) -> dict[str, Any]:
        return as_json(self)


@dataclass(frozen=True)
class FunnelReport:
    by: str | None
    since: datetime | None
    until: datetime | None
    currency: str
    groups: dict[str, FunnelFigures]  # {"": the funnel} when not broken down
    generated_at: datetime

    @property
    def figures(self) -> FunnelFigures:
        """The funnel of an ungrouped report."""
        return self.groups[""]

    def to_json(self) -> dict[str, Any]:
        if self.by is None:
            return self.figures.to_json()
        return {"groups": {key: f.to_json() for key, f in self.groups.items()}}


# ------------------------------------------------------------------ report


def funnel_report(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> FunnelReport:
    """The funnel of live deals created in [since, until), optionally per
    owner, source, industry, region, product or company."""
    if by is not None and by not in BY_FIELDS:
        raise UserError(f"cannot break the funnel down by {by!r}; use {', '.join(BY_FIELDS)}")
    if since is not None and until is not None and since >= until:
        raise UserError("the period is empty: --since must be before --until")
    scope = Scope(config.open_stages(session), since=since, until=until, by=by)
    facts = deal_facts(session, scope)
    stints = mean_and_median(session, _stints(scope), [*scope.keys, "stage"], "days")
    cycles = mean_and_median(session, _cycles(scope), scope.keys, "days")
    reasons = _counted(session, scope, "lost_reason", UNKNOWN_REASON)
    lost_from = _counted(session, scope, "lost_at_stage", NO_VALUE)
    parts = [_with_group(scope, rows) for rows in (facts, stints, cycles, reasons, lost_from)]
    keys = sorted({row[0] for row in parts[0]}, key=group_order) if by else [""]
    groups = {
        key: _assemble(scope.stages, *([r[1:] for r in rows if r[0] == key] for rows in parts))
        for key in keys
    }
    return FunnelReport(
        by=by,
        since=since,
        until=until,
        currency=config.get_setting(session, "currency") or "USD",
        groups=groups,
        generated_at=now or datetime.now(UTC),
    )


# ------------------------------------------------------------------ scope


class Scope:
    """Which deals a report counts, how they are grouped, the stage order."""

    def __init__(self, stages: list[str], *, since=None, until=None, by: str | None = None):
        self.stages, self.since, self.until, self.by = list(stages), since, until, by
        self.keys = ["grp"] if by else []
        self._deals = None

    def conditions(self) -> list:
        conditions = [Deal.deleted_at.is_(None)]
        if self.since is not None:
            conditions.append(Deal.created_at >= self.since)
        if self.until is not None:
            conditions.append(Deal.created_at < self.until)
        return conditions

    def deals(self) -> Any:
        """The deals in scope as a subquery (id, [grp,] stage, value_cents,
        lost_reason, lost_at_stage, created_at); by product a deal has one row
        per distinct product on its lines."""
        if self._deals is not None:
            return self._deals
        columns = [Deal.id, Deal.stage, Deal.value_cents, Deal.lost_reason, Deal.lost_at_stage,
                   Deal.created_at]  # fmt: skip
        query = select(*columns).where(*self.conditions())
        if self.by in ("owner", "source"):
            query = query.add_columns(group_value(getattr(Deal, self.by)).label("grp"))
        elif self.by == "company":
            query = query.add_columns(group_value(Company.name).label("grp")).outerjoin(
                Company, Company.id == Deal.company_id
            )
        elif self.by in ("industry", "region"):
            inherited = func.coalesce(
                func.nullif(getattr(Company, self.by), sql_text("")), getattr(Contact, self.by)
            )
            query = (
                query.add_columns(group_value(inherited).label("grp"))
                .outerjoin(Company, Company.id == Deal.company_id)
                .outerjoin(Contact, Contact.id == Deal.contact_id)
            )
        elif self.by == "product":
            what = func.coalesce(Product.name, DealLine.description)
            query = (
                query.add_columns(group_value(what).label("grp"))
                .outerjoin(DealLine, DealLine.deal_id == Deal.id)
                .outerjoin(Product, Product.id == DealLine.product_id)
                .distinct()
            )
        self._deals = query.subquery("scoped")
        return self._deals

    def key_columns(self) -> list:
        return [self.deals().c.grp] if self.by else []

    def rank(self, stage) -> Any:
        """1…k for the open stages, k+1 for won, NULL for lost and the unknown."""
        order = [*self.stages, WON]
        return case(
            *[(stage == name, literal_column(str(i))) for i, name in enumerate(order, start=1)]
        )


# ----------------------------------------------------------------- queries


def deal_facts(session: Session, scope: Scope) -> list[tuple]:
    """([group,] current stage, furthest rank, ever lost, ever open, deals,
    value cents) for every combination present: what all but days and
    reasons come from."""
    d = scope.deals().c
    in_open = StageChange.to_stage.in_(scope.stages)  # config keeps at least one open stage
    per_deal = (
        select(
            *scope.key_columns(),
            d.stage.label("stage"),
            d.value_cents.label("value_cents"),
            func.max(scope.rank(StageChange.to_stage)).label("history_top"),
            func.max(case((StageChange.to_stage == LOST, 1), else_=0)).label("history_lost"),
            func.max(case((in_open, 1), else_=0)).label("history_open"),
        )
        .select_from(scope.deals())
        .outerjoin(StageChange, StageChange.deal_id == d.id)
        .group_by(*scope.key_columns(), d.id, d.stage, d.value_cents)
        .subquery()
    )
    c = per_deal.c
    current = scope.rank(c.stage)
    top = case(
        (c.history_top.is_(None), current),
        (current > c.history_top, current),
        else_=c.history_top,
    )
    ever_lost = case((c.stage == LOST, 1), (c.history_lost == 1, 1), else_=0)
    now_open = c.stage.in_(scope.stages)
    ever_open = case((now_open, 1), (c.history_open == 1, 1), else_=0)
    facts = select(
        *(c[k] for k in scope.keys), c.stage, top.label("top"), ever_lost.label("ever_lost"),
        ever_open.label("ever_open"), c.value_cents,
    ).subquery()  # fmt: skip
    value = func.coalesce(func.sum(facts.c.value_cents), 0)
    return grouped(session, facts, [*scope.keys, "stage", "top", "ever_lost", "ever_open"], value)


def _stints(scope: Scope) -> Any:
    """Finished stints: (group, stage, days) per stage change that was left."""
    d = scope.deals().c
    moves = (
        select(
            *scope.key_columns(),
            StageChange.to_stage.label("stage"),
            StageChange.at.label("entered_at"),
            func.lead(StageChange.at)
            .over(
                partition_by=[*scope.key_columns(), StageChange.deal_id],
                order_by=(StageChange.at, StageChange.id),
            )
            .label("left_at"),
        )
        .select_from(scope.deals())
        .join(StageChange, StageChange.deal_id == d.id)
        .subquery()
    )
    m = moves.c
    return (
        select(
            *(m[k] for k in scope.keys),
            m.stage,
            days_between(m.entered_at, m.left_at).label("days"),
        )
        .where(m.left_at.is_not(None))
        .subquery()
    )


def _cycles(scope: Scope) -> Any:
    """(group, days) per currently won deal: created_at → first move into won."""
    d = scope.deals().c
    won = (
        select(
            *scope.key_columns(),
            d.created_at.label("created_at"),
            func.min(StageChange.at).label("won_at"),
        )
        .select_from(scope.deals())
        .join(StageChange, StageChange.deal_id == d.id)
        .where(d.stage == WON, StageChange.to_stage == WON)
        .group_by(*scope.key_columns(), d.id, d.created_at)
        .subquery()
    )
    w = won.c
    days = days_between(w.created_at, w.won_at).label("days")
    return select(*(w[k] for k in scope.keys), days).subquery()


def _counted(session: Session, scope: Scope, column: str, missing: str) -> list[tuple]:
    """Currently lost deals counted by a text column (missing/empty → `missing`)."""
    d = scope.deals().c
    key = func.coalesce(func.nullif(d[column], sql_text("")), sql_text(missing))
    lost = select(*scope.key_columns(), key.label("key")).where(d.stage == LOST).subquery()
    return grouped(session, lost, [*scope.keys, "key"])


def _with_group(scope: Scope, rows) -> list[tuple]:
    """Rows with their group first: "" when the report is not broken down."""
    return [tuple(row) if scope.by else ("", *row) for row in rows]


# ---------------------------------------------------------------- assembly


def win_probabilities(
    stages: list[str], facts: list[tuple]
) -> tuple[dict[str, Fraction | None], list[str]]:
    """({open stage: P(win | stage)}, fallback stages) from ungrouped
    deal_facts rows: see the module's definitions."""
    won = sum(n for now, _t, _l, _o, n, _v in facts if now == WON)
    lost = sum(n for now, _t, _l, _o, n, _v in facts if now == LOST)
    overall = Fraction(won, won + lost) if won + lost else None
    probabilities: dict[str, Fraction | None] = {}
    fallback = []
    for i, stage in enumerate(stages, start=1):
        w, l_ = (
            sum(n for now, top, _l, ever_open, n, _v in facts
                if now == closed and ever_open and (top or 0) >= i)
            for closed in (WON, LOST)
        )  # fmt: skip
        if w + l_ >= MIN_CLOSED:
            probabilities[stage] = Fraction(w, w + l_)
        else:
            probabilities[stage] = overall
            fallback.append(stage)
    return probabilities, fallback


def forecast_cents(value_cents: dict[str, int], probabilities: dict[str, Fraction | None]) -> int:
    """Σ value in stage × P(win | stage), exactly, rounded to the cent."""
    total = Fraction(0)
    for stage, p in probabilities.items():
        if p is not None:
            total += value_cents.get(stage, 0) * p
    return round(total)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _assemble(stages, facts, stints, cycles, reasons, lost_from) -> FunnelFigures:
    """One funnel from its group's rows of the five queries."""
    order = [*stages, WON]
    current, value = Counter(), Counter()
    for stage, _top, _lost, _open, n, cents in facts:
        current[stage] += n
        value[stage] += int(cents)
    reached = {
        stage: sum(n for _s, top, _l, _o, n, _v in facts if (top or 0) >= i)
        for i, stage in enumerate(order, start=1)
    }
    reached[LOST] = sum(n for _s, _t, ever_lost, _o, n, _v in facts if ever_lost)
    days = {stage: (mean, median) for stage, _n, mean, median in stints}
    rows = tuple(
        StageFigures(
            stage, current[stage], value[stage], reached[stage],
            _rate(reached[order[i + 1]], reached[stage]) if i < len(stages) else None,
            *days.get(stage, (None, None)),
        )
        for i, stage in enumerate([*order, LOST])
    )  # fmt: skip
    won, lost = current[WON], current[LOST]
    _n, cycle_mean, cycle_median = cycles[0] if cycles else (0, None, None)
    place = {stage: i for i, stage in enumerate(stages)}
    probabilities, _fallback = win_probabilities(stages, facts)
    return FunnelFigures(
        stages=rows,
        won=won,
        lost=lost,
        win_rate=_rate(won, won + lost),
        avg_cycle_days=cycle_mean,
        median_cycle_days=cycle_median,
        lost_reasons=dict(sorted(reasons, key=lambda item: (-item[1], item[0]))),
        lost_at_stage=dict(
            sorted(
                lost_from,
                key=lambda item: (place.get(item[0], len(place)), item[0] == NO_VALUE, item[0]),
            )
        ),  # fmt: skip
        forecast_cents=forecast_cents({s: value[s] for s in stages}, probabilities),
    )
