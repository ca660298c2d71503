"""The funnel report against SPEC §4, figure by figure, on DEALS.

The property test writes random histories as raw rows (products, companies,
contacts, and deals with their lines and stage changes, the creation one
from NULL at created_at; contacts with several deals, deals without a
contact or company) and checks every figure of the funnel, the forecast's
win probabilities and the sales report against a brute-force recomputation
written here from the definitions, not from the service's code.
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
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    Deal,
    DealLine,
    Product,
    StageChange,
    cents_to_major,
)
from minicrm.services.funnel import funnel
from minicrm.services.funnel.funnel import BY_FIELDS, funnel_report
from minicrm.services.funnel.reports import forecast_report
from minicrm.services.funnel.sales import SALES_BY, sales_report
from minicrm.services.records.config import local_zone_of, set_setting

BASE = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400
DEFAULT = ["awareness", "interest", "decision", "action"]
AWARENESS, INTEREST, DECISION, ACTION = DEFAULT
PRODUCTS = ["Alpha", "Beta", "Gamma"]
OWN = "own"  # a deal's contact made for it alone (the one-deal shop)


@dataclass
class Sale:
    """A deal as the test writes it: `path` is (to_stage, at) from creation on.
    `contact`/`company` index the world's lists (None: none; OWN: a contact of
    its own carrying `fields`' industry/region); `lines` are (product index
    or a free-text description, total cents)."""

    path: list[tuple[str, datetime]]
    value_cents: int | None = None
    lost_reason: str | None = None
    deleted: bool = False
    fields: dict = field(default_factory=dict)  # owner, source (+ industry, region: OWN)
    contact: int | str | None = OWN
    company: int | None = None
    lines: list[tuple[int | str, int]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.path[-1][0]

    @property
    def created_at(self) -> datetime:
        return self.path[0][1]

    @property
    def closed_at(self) -> datetime | None:
        return self.path[-1][1] if self.stage in (WON, LOST) else None

    @property
    def lost_at_stage(self) -> str | None:
        """What record_deal_move books: the stage it was lost from, unless
        created straight into lost or lost after won."""
        if self.stage != LOST or len(self.path) < 2:
            return None
        before = self.path[-2][0]
        return None if before in (WON, LOST) else before


@dataclass
class World:
    sales: list[Sale]
    contacts: list[dict] = field(default_factory=list)  # industry, region
    companies: list[dict] = field(default_factory=list)  # name, industry, region


def person(*moves, value=None, reason=None, deleted=False, **fields) -> Sale:
    """person("awareness", 0, "won", 10.5): a deal (with a contact of its
    own) through stages at day offsets from BASE."""
    path = [(moves[i], BASE + timedelta(days=moves[i + 1])) for i in range(0, len(moves), 2)]
    return Sale(path, value, reason, deleted, fields)


def _stamp(at: datetime) -> dict:
    return {"created_at": at, "updated_at": at}


def write(session: Session, sales: list[Sale] | World) -> None:
    """The world as raw rows, as the deals services would have left them."""
    world = sales if isinstance(sales, World) else World(sales)
    product_ids = [
        session.execute(
            insert(Product.__table__).returning(Product.__table__.c.id),
            {"name": name, "name_key": name.lower(), "price_cents": 100, **_stamp(BASE)},
        ).scalar_one()
        for name in PRODUCTS
    ]
    company_ids = [
        session.execute(
            insert(Company.__table__).returning(Company.__table__.c.id),
            {**c, "name_folded": c["name"].casefold(), **_stamp(BASE)},
        ).scalar_one()
        for c in world.companies
    ]

    def new_contact(number, place: dict) -> int:
        return session.execute(
            insert(Contact.__table__).returning(Contact.__table__.c.id),
            {"name": f"Person {number}", "name_folded": f"person {number}",
             "industry": place.get("industry"), "region": place.get("region"), **_stamp(BASE)},
        ).scalar_one()  # fmt: skip

    contact_ids = [new_contact(f"c{n}", c) for n, c in enumerate(world.contacts)]
    for number, d in enumerate(world.sales):
        if d.contact == OWN:
            contact_id = new_contact(number, d.fields)
        else:
            contact_id = None if d.contact is None else contact_ids[d.contact]
        deal_id = session.execute(
            insert(Deal.__table__).returning(Deal.__table__.c.id),
            {
                "title": f"Deal {number}", "contact_id": contact_id,
                "company_id": None if d.company is None else company_ids[d.company],
                "stage": d.stage, "stage_entered_at": d.path[-1][1],
                "value_cents": d.value_cents, "lost_reason": d.lost_reason,
                "lost_at_stage": d.lost_at_stage, "closed_at": d.closed_at,
                "owner": d.fields.get("owner"), "source": d.fields.get("source"),
                "created_at": d.created_at, "updated_at": d.created_at,
                "deleted_at": d.created_at if d.deleted else None,
            },
        ).scalar_one()  # fmt: skip
        froms = [None, *(stage for stage, _ in d.path)]
        session.execute(
            insert(StageChange.__table__),
            [
                {"deal_id": deal_id, "contact_id": contact_id, "from_stage": f, "to_stage": t,
                 "at": at}
                for f, (t, at) in zip(froms, d.path, strict=False)
            ],
        )  # fmt: skip
        for what, total in d.lines:
            product = isinstance(what, int)
            session.execute(
                insert(DealLine.__table__),
                {"deal_id": deal_id, "product_id": product_ids[what] if product else None,
                 "description": None if product else what, "quantity": 1.0,
                 "unit_price_cents": total, "discount": 0.0, "total_cents": total},
            )  # fmt: skip
    session.flush()


# ----------------------------------------------------- the brute-force oracle


def group_keys(world: World, d: Sale, by: str) -> set[str]:
    """The groups a deal counts in, by the definitions of the README."""
    if by == "product":
        names = {PRODUCTS[w] if isinstance(w, int) else w for w, _ in d.lines}
        return names or {"(none)"}
    company = world.companies[d.company] if d.company is not None else {}
    if by == "company":
        return {company.get("name") or "(none)"}
    if by in ("industry", "region"):
        if d.contact == OWN:
            person_ = d.fields
        else:
            person_ = world.contacts[d.contact] if d.contact is not None else {}
        return {company.get(by) or person_.get(by) or "(none)"}
    return {d.fields.get(by) or "(none)"}


def expected_funnel(stages, world, *, since=None, until=None, by=None) -> dict:
    """The JSON of SPEC §10, recomputed from the rows by the §4 definitions."""
    world = world if isinstance(world, World) else World(world)
    chosen = [
        d
        for d in world.sales
        if not d.deleted
        and (since is None or d.created_at >= since)
        and (until is None or d.created_at < until)
    ]
    if by is None:
        return expected_figures(stages, chosen)
    groups: dict[str, list[Sale]] = {}
    for d in chosen:
        for key in group_keys(world, d, by):
            groups.setdefault(key, []).append(d)
    return {"groups": {key: expected_figures(stages, group) for key, group in groups.items()}}


def furthest(stages, d: Sale) -> int:
    """1-based place of the furthest ordered stage; 0 if only lost/unknown."""
    order = [*stages, WON]
    return max((order.index(s) + 1 for s, _ in d.path if s in order), default=0)


def expected_probabilities(stages, deals) -> tuple[dict, list]:
    """P(win | stage) by the known-path and fallback rules."""
    closed = [d for d in deals if d.stage in (WON, LOST)]
    wins = sum(1 for d in closed if d.stage == WON)
    overall = Fraction(wins, len(closed)) if closed else None
    probabilities, fallback = {}, []
    for i, stage in enumerate(stages, start=1):
        cohort = [
            d for d in closed
            if any(s in stages for s, _ in d.path) and furthest(stages, d) >= i
        ]  # fmt: skip
        if len(cohort) >= funnel.MIN_CLOSED:
            probabilities[stage] = Fraction(sum(d.stage == WON for d in cohort), len(cohort))
        else:
            probabilities[stage], fallback = overall, [*fallback, stage]
    return probabilities, fallback


def expected_figures(stages, deals) -> dict:
    order = [*stages, WON]

    def reached(stage: str) -> int:
        if stage == LOST:
            return sum(1 for d in deals if any(s == LOST for s, _ in d.path))
        return sum(1 for d in deals if furthest(stages, d) >= order.index(stage) + 1)

    stints: dict[str, list[float]] = {}
    for d in deals:
        for (stage, entered), (_next, left) in zip(d.path, d.path[1:], strict=False):
            stints.setdefault(stage, []).append((left - entered).total_seconds() / DAY)
    rows = []
    for i, stage in enumerate([*order, LOST]):
        now_in = [d for d in deals if d.stage == stage]
        days = stints.get(stage, [])
        conversion = None
        if stage in stages and reached(stage):
            conversion = reached(order[i + 1]) / reached(stage)
        rows.append({
            "stage": stage, "current": len(now_in),
            "value": cents_to_major(sum(d.value_cents or 0 for d in now_in)),
            "reached": reached(stage), "conversion_to_next": conversion,
            "avg_days_in_stage": statistics.fmean(days) if days else None,
            "median_days_in_stage": statistics.median(days) if days else None,
        })  # fmt: skip
    won = [d for d in deals if d.stage == WON]
    lost = [d for d in deals if d.stage == LOST]
    cycles = [
        (next(at for s, at in d.path if s == WON) - d.created_at).total_seconds() / DAY for d in won
    ]
    probabilities, _fallback = expected_probabilities(stages, deals)
    forecast = sum(
        ((d.value_cents or 0) * probabilities[d.stage] for d in deals
         if d.stage in stages and probabilities[d.stage] is not None),
        Fraction(0),
    )  # fmt: skip
    return {
        "stages": rows,
        "won": len(won),
        "lost": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "avg_cycle_days": statistics.fmean(cycles) if cycles else None,
        "median_cycle_days": statistics.median(cycles) if cycles else None,
        "lost_reasons": dict(Counter(d.lost_reason or "unknown" for d in lost)),
        "lost_at_stage": dict(Counter(d.lost_at_stage or "(none)" for d in lost)),
        "forecast": cents_to_major(round(forecast)),
    }


def expected_sales(world: World, zone, *, since=None, until=None, by=None) -> dict:
    """The sales report's JSON from the definitions."""
    won = [
        d
        for d in world.sales
        if not d.deleted
        and d.stage == WON
        and (since is None or d.closed_at >= since)
        and (until is None or d.closed_at < until)
    ]

    def figures(count: int, cents: int) -> dict:
        average = cents_to_major(round(Fraction(cents, count))) if count else None
        return {"won": count, "revenue": cents_to_major(cents), "avg_deal": average}

    groups: dict[str, list[int]] = {}  # key: [deals, cents]
    for d in won:
        if by == "product":
            totals: dict[str, int] = {}
            for what, cents in d.lines:
                name = PRODUCTS[what] if isinstance(what, int) else what
                totals[name] = totals.get(name, 0) + cents
            items = totals.items() if totals else [("(no product)", d.value_cents or 0)]
        elif by == "month":
            items = [(d.closed_at.astimezone(zone).strftime("%Y-%m"), d.value_cents or 0)]
        elif by is not None:
            (key,) = group_keys(world, d, by)
            items = [(key, d.value_cents or 0)]
        else:
            items = []
        for key, cents in items:
            entry = groups.setdefault(key, [0, 0])
            entry[0] += 1
            entry[1] += cents
    keys = sorted(groups, key=lambda k: (-groups[k][1], k.casefold(), k))
    if by == "month":
        keys = sorted(groups)
    return {
        **figures(len(won), sum(d.value_cents or 0 for d in won)),
        "groups": [{"key": k, **figures(*groups[k])} for k in keys],
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
}
PLACES = {"industry": [None, "", "retail", "food"], "region": [None, "", "north", "south"]}


@st.composite
def places(draw, **extra) -> dict:
    return {**extra, **{name: draw(st.sampled_from(v)) for name, v in PLACES.items()}}


@st.composite
def histories(draw):
    stages = NAMES[: draw(st.integers(1, 4))]
    anywhere = [*stages, WON, LOST, "retired"]  # "retired": a stage since dropped
    contacts = draw(st.lists(places(), max_size=3))
    companies = [
        draw(places(name=name)) for name in draw(st.lists(
            st.sampled_from(["Acme", "acme ltd", "Bakery"]), max_size=3, unique=True))
    ]  # fmt: skip
    owners = st.sampled_from([None, OWN, *range(len(contacts))])
    lines = st.tuples(
        st.sampled_from([0, 1, 2, "Delivery"]), st.integers(0, 10**6)
    )  # product or free text, cents
    sales = []
    for _ in range(draw(st.integers(0, 14))):
        at = BASE + timedelta(seconds=draw(st.integers(0, 400 * DAY)))
        path = [(draw(st.sampled_from([*stages, WON, LOST])), at)]
        moves = st.tuples(st.sampled_from(anywhere), st.integers(0, 90 * DAY))
        for stage, gap in draw(st.lists(moves, max_size=7)):
            if stage != path[-1][0]:
                at += timedelta(seconds=gap)
                path.append((stage, at))
        if path[-1][0] == "retired":
            path.append((stages[0], at + timedelta(hours=1)))
        contact = draw(owners)
        sales.append(
            Sale(
                path,
                value_cents=draw(st.none() | st.integers(0, 10**8)),
                lost_reason=draw(st.sampled_from([None, "", "no budget", "no need"])),
                deleted=draw(st.integers(0, 6)) == 0,
                fields={
                    **{name: draw(st.sampled_from(v)) for name, v in FIELD_VALUES.items()},
                    **(draw(places()) if contact == OWN else {}),
                },
                contact=contact,
                company=draw(st.none() | st.integers(0, len(companies) - 1)) if companies else None,
                lines=draw(st.lists(lines, max_size=3)),
            )
        )
    bounds = st.none() | st.integers(0, 400 * DAY).map(lambda s: BASE + timedelta(seconds=s))
    if sales:  # a bound on a deal's own created_at tests inclusive/exclusive
        bounds = bounds | st.sampled_from([d.created_at for d in sales])
    since, until = draw(bounds), draw(bounds)
    if since and until and since >= until:
        until = None
    return (
        stages, World(sales, contacts, companies), since, until,
        draw(st.sampled_from([None, *BY_FIELDS])), draw(st.sampled_from([None, *SALES_BY])),
        draw(st.sampled_from([1, 2, 3, 10])),  # MIN_CLOSED: so both rules get exercised
    )  # fmt: skip


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=histories())
def test_every_figure_equals_the_brute_force_recomputation(engine, case, monkeypatch):
    stages, world, since, until, by, sales_by, min_closed = case
    monkeypatch.setattr(funnel, "MIN_CLOSED", min_closed)
    with scratch(engine) as session:
        set_setting(session, "stages", ",".join(stages))
        set_setting(session, "timezone", "Asia/Tehran")  # local months for sales by month
        write(session, world)
        report = funnel_report(session, since=since, until=until, by=by)
        forecast = forecast_report(session, now=BASE).to_json()
        sales = sales_report(session, by=sales_by, since=since, until=until).to_json()
        zone = local_zone_of(session)
    assert_same(report.to_json(), expected_funnel(stages, world, since=since, until=until, by=by))
    live = [d for d in world.sales if not d.deleted]
    probabilities, fallback = expected_probabilities(stages, live)
    assert forecast["win_probability"] == {
        s: None if p is None else float(p) for s, p in probabilities.items()
    }
    assert forecast["fallback_stages"] == fallback
    assert sales == expected_sales(world, zone, since=since, until=until, by=sales_by)


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
        "lost_reasons", "lost_at_stage", "forecast",
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
    assert report["lost_reasons"] == report["lost_at_stage"] == {}
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


def test_forecast_weights_open_value_by_the_win_rate_of_those_who_reached_the_stage(
    session, monkeypatch
):
    monkeypatch.setattr(funnel, "MIN_CLOSED", 1)  # trust every stage's own history
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
    with pytest.raises(UserError, match="owner, source, industry, region, product, company"):
        funnel_report(session, by="colour")
    with pytest.raises(UserError, match="--since must be before --until"):
        funnel_report(session, since=BASE, until=BASE)


def test_renamed_stage_list_orders_the_funnel(session):
    set_setting(session, "stages", "lead,deal")
    report = report_of(session, [person("lead", 0, "deal", 1, WON, 2), person("deal", 0)])
    assert [(s["stage"], s["reached"]) for s in report["stages"]] == [
        ("lead", 2), ("deal", 2), (WON, 1), (LOST, 0),
    ]  # fmt: skip


# ------------------------------------------------- deals, not contacts


def test_the_default_threshold_falls_back_to_the_overall_win_rate(session):
    report = report_of(session, [
        person(AWARENESS, 0, WON, 9),
        person(AWARENESS, 0, LOST, 3, reason="no budget"),
        person(AWARENESS, 0, DECISION, 1, LOST, 3, reason="no budget"),
        person(AWARENESS, 0, value=90_000),
        person(DECISION, 0, value=10_002),
    ])  # fmt: skip
    assert report["forecast"] == 333.34  # 3 closed < 10: (900 + 100.02) × 1/3 everywhere
    forecast = forecast_report(session, now=BASE).to_json()
    assert forecast["fallback_stages"] == DEFAULT
    assert set(forecast["win_probability"].values()) == {1 / 3}


def test_a_stage_with_ten_closed_deals_uses_its_own_rate(session):
    through_decision = [person(AWARENESS, 0, DECISION, 1, WON, 5) for _ in range(8)]
    through_decision += [person(AWARENESS, 0, DECISION, 1, LOST, 5, reason="x")] * 2
    lost_early = [person(AWARENESS, 0, LOST, 2, reason="x") for _ in range(10)]
    report = report_of(session, [*through_decision, *lost_early, person(DECISION, 3, value=100)])
    forecast = forecast_report(session, now=BASE).to_json()
    assert forecast["win_probability"] == {
        AWARENESS: 8 / 20, INTEREST: 8 / 10, DECISION: 8 / 10, ACTION: 8 / 20,
    }  # fmt: skip
    assert forecast["fallback_stages"] == [ACTION]  # nobody was in action: 0 closed through it
    assert report["forecast"] == 0.8


def test_an_import_without_dates_no_longer_gives_certain_wins(session):
    """10,000 imported deals, 941 lost and 1,530 won, each with only its
    creation stage change: no closed deal has a path, so every stage uses the
    overall win rate (it used to be 100 % everywhere)."""
    stages = [AWARENESS] * 3000 + [INTEREST] * 2000 + [DECISION] * 1529 + [ACTION] * 1000
    stages += [WON] * 1530 + [LOST] * 941
    at = BASE
    contact_rows = [
        {"name": f"P{n}", "name_folded": f"p{n}", "created_at": at, "updated_at": at}
        for n in range(len(stages))
    ]
    session.execute(insert(Contact.__table__), contact_rows)
    session.execute(insert(Deal.__table__), [
        {"id": n + 1, "title": f"P{n}", "contact_id": n + 1, "stage": stage,
         "stage_entered_at": at, "value_cents": 10_000, "created_at": at, "updated_at": at,
         "closed_at": at if stage in (WON, LOST) else None,
         "lost_reason": "imported" if stage == LOST else None}
        for n, stage in enumerate(stages)
    ])  # fmt: skip
    session.execute(insert(StageChange.__table__), [
        {"deal_id": n + 1, "contact_id": n + 1, "from_stage": None, "to_stage": stage, "at": at}
        for n, stage in enumerate(stages)
    ])  # fmt: skip
    session.flush()
    forecast = forecast_report(session, now=BASE).to_json()
    overall = 1530 / (1530 + 941)
    assert forecast["win_probability"] == dict.fromkeys(DEFAULT, overall)
    assert forecast["fallback_stages"] == DEFAULT
    assert forecast["value"] == 752_900  # the open deals' whole value …
    assert forecast["weighted"] == round(752_900 * overall, 2) < forecast["value"]  # … is not
    report = funnel_report(session).to_json()
    assert report["forecast"] == forecast["weighted"]
    assert report["lost_at_stage"] == {"(none)": 941}


def test_lost_at_stage_counts_where_each_lost_deal_was_lost(session):
    report = report_of(session, [
        person(AWARENESS, 0, DECISION, 1, LOST, 2, reason="a"),
        person(AWARENESS, 0, LOST, 2, reason="b"),
        person(INTEREST, 0, LOST, 2),
        person(LOST, 0, reason="imported"),
        person(AWARENESS, 0, WON, 1, LOST, 2),  # lost after won: from no open stage
        person(DECISION, 0, LOST, 2, AWARENESS, 3),  # reopened: not lost now
    ])  # fmt: skip
    assert report["lost_at_stage"] == {AWARENESS: 1, INTEREST: 1, DECISION: 1, "(none)": 2}
    assert list(report["lost_at_stage"]) == [AWARENESS, INTEREST, DECISION, "(none)"]
    assert report["lost"] == 5


def test_a_contact_with_several_deals_counts_each_deal(session):
    world = World(
        [
            Sale([(AWARENESS, BASE), (WON, BASE + timedelta(days=4))], 1_000, contact=0),
            Sale([(DECISION, BASE)], 2_000, contact=0, company=0),
            Sale([(DECISION, BASE)], 500, contact=None),  # a prospect with no contact yet
        ],
        contacts=[{"industry": "food", "region": "north"}],
        companies=[{"name": "Acme", "industry": "retail", "region": None}],
    )
    write(session, world)
    report = funnel_report(session).to_json()
    assert (stage(report, DECISION)["current"], stage(report, DECISION)["value"]) == (2, 25)
    assert report["won"] == 1
    industry = funnel_report(session, by="industry").to_json()["groups"]
    assert {k: v["won"] for k, v in industry.items()} == {"food": 1, "retail": 0, "(none)": 0}
    region = funnel_report(session, by="region").to_json()["groups"]
    assert list(region) == ["north", "(none)"]  # company without a region: the contact's
    assert stage(region["north"], DECISION)["current"] == 1
    company = funnel_report(session, by="company").to_json()["groups"]
    assert list(company) == ["Acme", "(none)"]


def test_by_product_counts_a_deal_under_each_of_its_products(session):
    world = World([
        Sale([(AWARENESS, BASE)], 300, lines=[(0, 100), (1, 200), (0, 5)]),
        Sale([(WON, BASE)], 50, lines=[("Delivery", 50)]),
        Sale([(AWARENESS, BASE)], 70),
    ])  # fmt: skip
    write(session, world)
    groups = funnel_report(session, by="product").to_json()["groups"]
    assert list(groups) == ["Alpha", "Beta", "Delivery", "(none)"]
    assert [stage(groups[k], AWARENESS)["current"] for k in groups] == [1, 1, 0, 1]
    assert groups["Alpha"]["stages"][0]["value"] == 3  # the deal's value, counted once
    assert groups["Delivery"]["won"] == 1
