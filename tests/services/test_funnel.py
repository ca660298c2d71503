"""The funnel report against SPEC §4, figure by figure.

The property test writes random histories as raw rows (a contact, and its
stage changes with the creation one from NULL at created_at) and checks every
figure against `expected_funnel`, a brute-force recomputation written here
from the definitions, not from the service's code.
"""

import statistics
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Contact, StageChange, cents_to_major
from minicrm.services.config import set_setting
from minicrm.services.funnel import BY_FIELDS, funnel_report

BASE = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400
DEFAULT = ["awareness", "interest", "decision", "action"]
AWARENESS, INTEREST, DECISION, ACTION = DEFAULT


@dataclass
class Person:
    """A contact as the test writes it: `path` is (to_stage, at) from creation on."""

    path: list[tuple[str, datetime]]
    value_cents: int | None = None
    lost_reason: str | None = None
    deleted: bool = False
    fields: dict = field(default_factory=dict)  # owner, source, industry, region

    @property
    def stage(self) -> str:
        return self.path[-1][0]

    @property
    def created_at(self) -> datetime:
        return self.path[0][1]


def person(*moves, value=None, reason=None, deleted=False, **fields) -> Person:
    """person("awareness", 0, "won", 10.5): stages with their day offsets from BASE."""
    path = [(moves[i], BASE + timedelta(days=moves[i + 1])) for i in range(0, len(moves), 2)]
    return Person(path, value, reason, deleted, fields)


def write(session: Session, people: list[Person]) -> None:
    for number, p in enumerate(people):
        contact_id = session.execute(
            insert(Contact.__table__).returning(Contact.__table__.c.id),
            {
                "name": f"Person {number}", "name_folded": f"person {number}", "stage": p.stage,
                "stage_entered_at": p.path[-1][1], "value_cents": p.value_cents,
                "lost_reason": p.lost_reason, "created_at": p.created_at,
                "updated_at": p.created_at, "deleted_at": p.created_at if p.deleted else None,
                **p.fields,
            },
        ).scalar_one()  # fmt: skip
        froms = [None, *(stage for stage, _ in p.path)]
        session.execute(
            insert(StageChange.__table__),
            [
                {"contact_id": contact_id, "from_stage": f, "to_stage": t, "at": at}
                for f, (t, at) in zip(froms, p.path, strict=False)
            ],
        )
    session.flush()


# ----------------------------------------------------- the brute-force oracle


def expected_funnel(stages, people, *, since=None, until=None, by=None) -> dict:
    """The JSON of SPEC §10, recomputed from the rows by the §4 definitions."""
    chosen = [
        p
        for p in people
        if not p.deleted
        and (since is None or p.created_at >= since)
        and (until is None or p.created_at < until)
    ]
    if by is None:
        return expected_figures(stages, chosen)
    groups: dict[str, list[Person]] = {}
    for p in chosen:
        groups.setdefault(p.fields.get(by) or "(none)", []).append(p)
    return {"groups": {key: expected_figures(stages, group) for key, group in groups.items()}}


def expected_figures(stages, people) -> dict:
    order = [*stages, WON]

    def furthest(p: Person) -> int:  # 1-based place in the order; 0 if only lost/unknown
        ranks = [order.index(s) + 1 for s, _ in p.path if s in order]
        return max(ranks, default=0)

    def reached(stage: str) -> int:
        if stage == LOST:
            return sum(1 for p in people if any(s == LOST for s, _ in p.path))
        return sum(1 for p in people if furthest(p) >= order.index(stage) + 1)

    stints: dict[str, list[float]] = {}
    for p in people:
        for (stage, entered), (_next, left) in zip(p.path, p.path[1:], strict=False):
            stints.setdefault(stage, []).append((left - entered).total_seconds() / DAY)
    rows = []
    for i, stage in enumerate([*order, LOST]):
        now_in = [p for p in people if p.stage == stage]
        days = stints.get(stage, [])
        conversion = None
        if stage in stages and reached(stage):
            conversion = reached(order[i + 1]) / reached(stage)
        rows.append({
            "stage": stage, "current": len(now_in),
            "value": cents_to_major(sum(p.value_cents or 0 for p in now_in)),
            "reached": reached(stage), "conversion_to_next": conversion,
            "avg_days_in_stage": statistics.fmean(days) if days else None,
            "median_days_in_stage": statistics.median(days) if days else None,
        })  # fmt: skip
    won = [p for p in people if p.stage == WON]
    lost = [p for p in people if p.stage == LOST]
    cycles = [
        (next(at for s, at in p.path if s == WON) - p.created_at).total_seconds() / DAY for p in won
    ]
    forecast = Fraction(0)
    for p in people:
        if p.stage in stages:
            cohort = [q for q in won + lost if furthest(q) >= stages.index(p.stage) + 1]
            wins = sum(1 for q in cohort if q.stage == WON)
            if cohort:
                forecast += Fraction((p.value_cents or 0) * wins, len(cohort))
    return {
        "stages": rows,
        "won": len(won),
        "lost": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "avg_cycle_days": statistics.fmean(cycles) if cycles else None,
        "median_cycle_days": statistics.median(cycles) if cycles else None,
        "lost_reasons": dict(Counter(p.lost_reason or "unknown" for p in lost)),
        "forecast": cents_to_major(round(forecast)),
    }


def assert_same(actual, expected, path="report"):
    """Equal, with day figures (floats from julianday) equal to 1e-6 days."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), (path, actual, expected)
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), (path, actual, expected)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and "days" in path:
        assert actual == pytest.approx(expected, abs=1e-6), path
    else:
        assert actual == expected and type(actual) is type(expected), (path, actual, expected)


# ------------------------------------------------------------- the property


@contextmanager
def scratch(engine):
    """A session whose rows vanish afterwards, so one database serves every example."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            transaction.rollback()


NAMES = ["lead", "qualified", "proposal", "negotiation"]
FIELD_VALUES = {
    "owner": [None, "", "Ana", "Sam", "Лейла"],
    "source": [None, "referral", "walk-in"],
    "industry": [None, "retail", "food"],
    "region": [None, "", "north", "south"],
}


@st.composite
def histories(draw):
    stages = NAMES[: draw(st.integers(1, 4))]
    anywhere = [*stages, WON, LOST, "retired"]  # "retired": a stage since dropped
    people = []
    for _ in range(draw(st.integers(0, 10))):
        at = BASE + timedelta(seconds=draw(st.integers(0, 400 * DAY)))
        path = [(draw(st.sampled_from([*stages, WON, LOST])), at)]
        moves = st.tuples(st.sampled_from(anywhere), st.integers(0, 90 * DAY))
        for stage, gap in draw(st.lists(moves, max_size=7)):
            if stage != path[-1][0]:
                at += timedelta(seconds=gap)
                path.append((stage, at))
        if path[-1][0] == "retired":
            path.append((stages[0], at + timedelta(hours=1)))
        people.append(
            Person(
                path,
                value_cents=draw(st.none() | st.integers(0, 10**8)),
                lost_reason=draw(st.sampled_from([None, "", "no budget", "no need"])),
                deleted=draw(st.integers(0, 6)) == 0,
                fields={name: draw(st.sampled_from(v)) for name, v in FIELD_VALUES.items()},
            )
        )
    bounds = st.none() | st.integers(0, 400 * DAY).map(lambda s: BASE + timedelta(seconds=s))
    if people:  # a bound on a contact's own created_at tests inclusive/exclusive
        bounds = bounds | st.sampled_from([p.created_at for p in people])
    since, until = draw(bounds), draw(bounds)
    if since and until and since >= until:
        until = None
    return stages, people, since, until, draw(st.sampled_from([None, *BY_FIELDS]))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=histories())
def test_every_figure_equals_the_brute_force_recomputation(engine, case):
    stages, people, since, until, by = case
    with scratch(engine) as session:
        set_setting(session, "stages", ",".join(stages))
        write(session, people)
        report = funnel_report(session, since=since, until=until, by=by)
    expected = expected_funnel(stages, people, since=since, until=until, by=by)
    assert_same(report.to_json(), expected)


# ------------------------------------------------------- hand-checked cases


def report_of(session, people, **kwargs):
    write(session, people)
    return funnel_report(session, **kwargs).to_json()


def stage(report, name):
    return next(s for s in report["stages"] if s["stage"] == name)


def test_an_empty_database_gives_zeros_and_nulls(session):
    report = funnel_report(session).to_json()
    assert list(report) == [
        "stages", "won", "lost", "win_rate", "avg_cycle_days", "median_cycle_days",
        "lost_reasons", "forecast",
    ]  # fmt: skip
    assert [s["stage"] for s in report["stages"]] == [*DEFAULT, WON, LOST]
    for row in report["stages"]:
        assert list(row) == [
            "stage", "current", "value", "reached", "conversion_to_next",
            "avg_days_in_stage", "median_days_in_stage",
        ]  # fmt: skip
        assert (row["current"], row["value"], row["reached"]) == (0, 0, 0)
        assert row["conversion_to_next"] is row["avg_days_in_stage"] is None
    assert (report["won"], report["lost"], report["win_rate"], report["forecast"]) == (
        0,
        0,
        None,
        0,
    )
    assert report["avg_cycle_days"] is report["median_cycle_days"] is None
    assert report["lost_reasons"] == {}
    assert funnel_report(session, by="owner").to_json() == {"groups": {}}


def test_no_lost_contacts_means_a_win_rate_of_one(session):
    report = report_of(session, [
        person(AWARENESS, 0, WON, 10), person(INTEREST, 0, WON, 30), person(DECISION, 0),
    ])  # fmt: skip
    assert (report["won"], report["lost"], report["win_rate"]) == (2, 0, 1.0)
    assert (report["avg_cycle_days"], report["median_cycle_days"]) == (20.0, 20.0)
    assert stage(report, LOST)["reached"] == 0


def test_a_skipped_stage_counts_as_reached(session):
    report = report_of(session, [person(AWARENESS, 0, ACTION, 4), person(AWARENESS, 0)])
    assert [s["reached"] for s in report["stages"]] == [2, 1, 1, 1, 0, 0]
    assert [s["conversion_to_next"] for s in report["stages"]] == [0.5, 1.0, 1.0, 0.0, None, None]
    assert stage(report, AWARENESS)["avg_days_in_stage"] == 4.0  # the one finished stint


def test_a_backward_move_does_not_unreach_and_each_stint_counts(session):
    report = report_of(session, [
        person(AWARENESS, 0, DECISION, 2, INTEREST, 5, DECISION, 6, LOST, 16, reason="no need"),
    ])  # fmt: skip
    assert [s["reached"] for s in report["stages"]] == [1, 1, 1, 0, 0, 1]
    decision = stage(report, DECISION)
    assert (decision["avg_days_in_stage"], decision["median_days_in_stage"]) == (6.5, 6.5)
    assert stage(report, INTEREST)["avg_days_in_stage"] == 1.0
    assert report["lost_reasons"] == {"no need": 1}
    assert stage(report, LOST)["current"] == 1


def test_medians_averages_and_the_cycle_use_the_first_win(session):
    report = report_of(session, [
        person(AWARENESS, 0, WON, 2, ACTION, 3, WON, 20),  # cycle: first win, day 2
        person(AWARENESS, 0, WON, 6),
        person(AWARENESS, 0, WON, 10),
        person(WON, 5, LOST, 9, reason=""),
    ])  # fmt: skip
    assert (report["avg_cycle_days"], report["median_cycle_days"]) == (6.0, 6.0)
    awareness = stage(report, AWARENESS)
    assert (awareness["avg_days_in_stage"], awareness["median_days_in_stage"]) == (6.0, 6.0)
    won = stage(report, WON)
    assert (won["current"], won["reached"]) == (3, 4)  # the lost one was won once
    assert (won["avg_days_in_stage"], won["median_days_in_stage"]) == (2.5, 2.5)
    assert stage(report, ACTION)["conversion_to_next"] == 1.0
    assert report["lost_reasons"] == {"unknown": 1}
    assert report["win_rate"] == 0.75


def test_forecast_weights_open_value_by_the_win_rate_of_those_who_reached_the_stage(session):
    report = report_of(session, [
        person(AWARENESS, 0, WON, 9),
        person(AWARENESS, 0, LOST, 3, reason="no budget"),
        person(AWARENESS, 0, DECISION, 1, LOST, 3, reason="no budget"),
        person(AWARENESS, 0, value=90_000),   # P(win | awareness) = 1/3
        person(DECISION, 0, value=10_002),    # P(win | decision) = 1/2
        person(ACTION, 0, value=77_777, deleted=True),
    ])  # fmt: skip
    assert report["forecast"] == 350.01  # 900 / 3 + 100.02 / 2
    assert report["lost_reasons"] == {"no budget": 2}
    assert stage(report, ACTION)["current"] == 0  # trashed


def test_by_groups_each_value_and_none_last(session):
    report = report_of(session, [
        person(AWARENESS, 0, owner="Sam"), person(WON, 0, owner="ana"),
        person(LOST, 0, owner=None, reason="x"), person(WON, 0, owner=""),
    ], by="owner")  # fmt: skip
    assert list(report["groups"]) == ["ana", "Sam", "(none)"]
    assert report["groups"]["(none)"]["win_rate"] == 0.5
    assert report["groups"]["Sam"]["stages"][0]["current"] == 1


def test_the_period_selects_by_created_at_since_inclusive_until_exclusive(session):
    people = [person(AWARENESS, day, value=100 * (day + 1)) for day in (0, 10, 20)]
    at = BASE + timedelta(days=10)
    report = report_of(session, people, since=at, until=at + timedelta(days=10))
    assert stage(report, AWARENESS)["current"] == 1 and stage(report, AWARENESS)["value"] == 11


def test_bad_breakdown_and_empty_period_are_user_errors(session):
    with pytest.raises(UserError, match="owner, source, industry, region"):
        funnel_report(session, by="colour")
    with pytest.raises(UserError, match="--since must be before --until"):
        funnel_report(session, since=BASE, until=BASE)


def test_renamed_stage_list_orders_the_funnel(session):
    set_setting(session, "stages", "lead,deal")
    report = report_of(session, [person("lead", 0, "deal", 1, WON, 2), person("deal", 0)])
    assert [(s["stage"], s["reached"]) for s in report["stages"]] == [
        ("lead", 2), ("deal", 2), (WON, 1), (LOST, 0),
    ]  # fmt: skip
