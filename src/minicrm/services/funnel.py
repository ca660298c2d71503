"""The funnel report of SPEC §4: every figure by its definition, in SQL.

SQL does the counting: a few GROUP BY queries (with LAG/LEAD-style window
functions over stage_change, and medians picked with row_number()/count()
windows) return small aggregates, which Python only adds up per stage. No
Python loop ever sees one row per contact or per stage change.

Definitions where SPEC §4 leaves a choice (also in the README):

- Scope: live contacts (deleted_at NULL) created in [since, until); with
  `by`, each group's figures come from that group's contacts alone, and a
  missing or empty field value is grouped under "(none)".
- Order: the open stages S1…Sk of the `stages` setting, then won (k+1).
  lost, and stage names no longer in the setting, are outside the order.
- current, value, won, lost: by the contact's current stage.
- reached(Si): the furthest ordered stage among the creation stage, every
  to_stage and the current stage is Si or later. reached(won): ever in won.
  reached(lost): ever in lost (in the history or now).
- conversion_to_next(Sk) = reached(won) / reached(Sk): the share of the
  cohort that went on to win, even if a contact was later reopened.
- Stints: a contact's stage changes ordered by (at, id); the stint in a
  change's to_stage ends at the next change. The last one is unfinished and
  not counted. won and lost have stints too (when a contact left them).
- Sales cycle: currently won contacts, created_at to their first move into won.
- lost_reasons: currently lost contacts by lost_reason; none → "unknown".
- P(win | Si) = won / (won + lost) among currently closed contacts that
  reached Si; forecast = Σ over open contacts of value × P(win | current
  stage), rounded to the cent; a stage with no closed history adds nothing.
- Medians: the middle value, or the mean of the two middle ones.
"""

from collections import Counter
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Float, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Contact, StageChange, cents_to_major
from minicrm.services import config

BY_FIELDS = ("owner", "source", "industry", "region")
NO_VALUE = "(none)"
UNKNOWN_REASON = "unknown"


# ------------------------------------------------------------ dialect switch


class days_between(FunctionElement):  # noqa: N801 - used like func.x()
    """Fractional days from the first datetime to the second. The reports'
    only dialect-specific SQL: julianday() on SQLite, EXTRACT(EPOCH) elsewhere."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_standard(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


def sql_text(value: str) -> Any:
    """A constant string inlined into SQL (only for our own fixed words), so
    grouping by an expression never depends on how a driver numbers parameters."""
    return literal_column("'" + value.replace("'", "''") + "'")


# ------------------------------------------------------------- read models


def as_json(model: Any) -> dict[str, Any]:
    """A read model's fields as JSON, in field order: `x_cents` becomes `x` in
    major units, datetimes ISO 8601, nested read models their own JSON."""
    out: dict[str, Any] = {}
    for item in fields(model):
        value = getattr(model, item.name)
        if item.name.endswith("_cents"):
            out[item.name.removesuffix("_cents")] = cents_to_major(value)
        elif isinstance(value, tuple):
            out[item.name] = [as_json(v) if is_dataclass(v) else v for v in value]
        else:
            out[item.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


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
    """The funnel of live contacts created in [since, until), optionally per
    owner, source, industry or region."""
    if by is not None and by not in BY_FIELDS:
        raise UserError(f"cannot break the funnel down by {by!r}; use {', '.join(BY_FIELDS)}")
    if since is not None and until is not None and since >= until:
        raise UserError("the period is empty: --since must be before --until")
    scope = Scope(config.open_stages(session), since=since, until=until, by=by)
    facts = contact_facts(session, scope)
    stints = mean_and_median(session, _stints(scope), [*scope.keys, "stage"], "days")
    cycles = mean_and_median(session, _cycles(scope), scope.keys, "days")
    reasons = _lost_reasons(session, scope)
    parts = [_with_group(scope, rows) for rows in (facts, stints, cycles, reasons)]
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


def group_value(column) -> Any:
    """A text column as a group key: empty and missing values become "(none)"."""
    return func.coalesce(func.nullif(column, sql_text("")), sql_text(NO_VALUE))


def group_order(key: str) -> tuple:
    """Groups alphabetically, "(none)" last."""
    return (key == NO_VALUE, key.casefold(), key)


# ------------------------------------------------------------------ scope


class Scope:
    """Which contacts a report counts, how they are grouped, the stage order."""

    def __init__(self, stages: list[str], *, since=None, until=None, by: str | None = None):
        self.stages, self.since, self.until, self.by = list(stages), since, until, by
        self.keys = ["grp"] if by else []

    def conditions(self) -> list:
        conditions = [Contact.deleted_at.is_(None)]
        if self.since is not None:
            conditions.append(Contact.created_at >= self.since)
        if self.until is not None:
            conditions.append(Contact.created_at < self.until)
        return conditions

    def key_columns(self) -> list:
        return [group_value(getattr(Contact, self.by)).label("grp")] if self.by else []

    def rank(self, stage) -> Any:
        """1…k for the open stages, k+1 for won, NULL for lost and the unknown."""
        order = [*self.stages, WON]
        return case(
            *[(stage == name, literal_column(str(i))) for i, name in enumerate(order, start=1)]
        )


# ----------------------------------------------------------------- queries


def contact_facts(session: Session, scope: Scope) -> list[tuple]:
    """([group,] current stage, furthest rank, ever lost, contacts, value cents)
    for every combination present: what all but days and reasons come from."""
    per_contact = (
        select(
            *scope.key_columns(),
            Contact.stage.label("stage"),
            Contact.value_cents.label("value_cents"),
            func.max(scope.rank(StageChange.to_stage)).label("history_top"),
            func.max(case((StageChange.to_stage == LOST, 1), else_=0)).label("history_lost"),
        )
        .select_from(Contact)
        .outerjoin(StageChange, StageChange.contact_id == Contact.id)
        .where(*scope.conditions())
        .group_by(Contact.id)
        .subquery()
    )
    c = per_contact.c
    current = scope.rank(c.stage)
    top = case(
        (c.history_top.is_(None), current),
        (current > c.history_top, current),
        else_=c.history_top,
    )
    ever_lost = case((c.stage == LOST, 1), (c.history_lost == 1, 1), else_=0)
    facts = select(
        *(c[k] for k in scope.keys), c.stage, top.label("top"), ever_lost.label("ever_lost"),
        c.value_cents,
    ).subquery()  # fmt: skip
    value = func.coalesce(func.sum(facts.c.value_cents), 0)
    return grouped(session, facts, [*scope.keys, "stage", "top", "ever_lost"], value)


def _stints(scope: Scope) -> Any:
    """Finished stints: (group, stage, days) per stage change that was left."""
    moves = (
        select(
            *scope.key_columns(),
            StageChange.to_stage.label("stage"),
            StageChange.at.label("entered_at"),
            func.lead(StageChange.at)
            .over(partition_by=StageChange.contact_id, order_by=(StageChange.at, StageChange.id))
            .label("left_at"),
        )
        .join(Contact, Contact.id == StageChange.contact_id)
        .where(*scope.conditions())
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
    """(group, days) per currently won contact: created_at → first move into won."""
    won = (
        select(
            *scope.key_columns(),
            Contact.created_at.label("created_at"),
            func.min(StageChange.at).label("won_at"),
        )
        .join(StageChange, StageChange.contact_id == Contact.id)
        .where(*scope.conditions(), Contact.stage == WON, StageChange.to_stage == WON)
        .group_by(Contact.id)
        .subquery()
    )
    w = won.c
    days = days_between(w.created_at, w.won_at).label("days")
    return select(*(w[k] for k in scope.keys), days).subquery()


def _lost_reasons(session: Session, scope: Scope) -> list[tuple]:
    reason = func.coalesce(func.nullif(Contact.lost_reason, sql_text("")), sql_text(UNKNOWN_REASON))
    lost = (
        select(*scope.key_columns(), reason.label("reason"))
        .where(*scope.conditions(), Contact.stage == LOST)
        .subquery()
    )
    return grouped(session, lost, [*scope.keys, "reason"])


def mean_and_median(session: Session, rows: Any, keys: list[str], value: str) -> list[tuple]:
    """(keys…, count, mean, median) of rows.c[value] per keys, all in SQL: the
    median averages the one or two middle rows of a row_number() window."""
    part = [rows.c[k] for k in keys]
    ranked = select(
        *part,
        rows.c[value].label("v"),
        func.row_number().over(partition_by=part or None, order_by=rows.c[value]).label("pos"),
        func.count().over(partition_by=part or None).label("size"),
    ).subquery()
    r = ranked.c
    middle = or_(r.pos == (r.size + 1) // 2, r.pos == (r.size + 2) // 2)
    grouping = [r[k] for k in keys]
    query = select(*grouping, func.count(), func.avg(r.v), func.avg(case((middle, r.v))))
    if grouping:
        query = query.group_by(*grouping)
    return [
        (*row[: len(keys)], row[-3], _float(row[-2]), _float(row[-1]))
        for row in session.execute(query).all()
        if row[-3]
    ]


def grouped(session: Session, rows: Any, keys: list[str], *aggregates) -> list[tuple]:
    """(keys…, count, aggregates…) per distinct keys of the subquery `rows`."""
    columns = [rows.c[k] for k in keys]
    query = select(*columns, func.count(), *aggregates).group_by(*columns)
    return [tuple(row) for row in session.execute(query)]


def _with_group(scope: Scope, rows) -> list[tuple]:
    """Rows with their group first: "" when the report is not broken down."""
    return [tuple(row) if scope.by else ("", *row) for row in rows]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------- assembly


def closed_counts(stages: list[str], facts: list[tuple]) -> dict[str, tuple[int, int]]:
    """{open stage: (won, lost)} among currently closed contacts that reached
    it, from ungrouped contact_facts rows."""
    return {
        stage: tuple(
            sum(n for now, top, _lost, n, _v in facts if now == closed and (top or 0) >= i)
            for closed in (WON, LOST)
        )
        for i, stage in enumerate(stages, start=1)
    }


def forecast_cents(value_cents: dict[str, int], closed: dict[str, tuple[int, int]]) -> int:
    """Σ value in stage × P(win | stage), exactly, rounded to the cent."""
    total = Fraction(0)
    for stage, (won, lost) in closed.items():
        if won + lost:
            total += Fraction(value_cents.get(stage, 0) * won, won + lost)
    return round(total)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _assemble(stages, facts, stints, cycles, reasons) -> FunnelFigures:
    """One funnel from its groups' rows of the four queries."""
    order = [*stages, WON]
    current, value = Counter(), Counter()
    for stage, _top, _lost, n, cents in facts:
        current[stage] += n
        value[stage] += int(cents)
    reached = {
        stage: sum(n for _s, top, _l, n, _v in facts if (top or 0) >= i)
        for i, stage in enumerate(order, start=1)
    }
    reached[LOST] = sum(n for _s, _t, ever_lost, n, _v in facts if ever_lost)
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
    return FunnelFigures(
        stages=rows,
        won=won,
        lost=lost,
        win_rate=_rate(won, won + lost),
        avg_cycle_days=cycle_mean,
        median_cycle_days=cycle_median,
        lost_reasons=dict(sorted(reasons, key=lambda item: (-item[1], item[0]))),
        forecast_cents=forecast_cents({s: value[s] for s in stages}, closed_counts(stages, facts)),
    )
