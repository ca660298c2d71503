"""Forecast, activity and segments reports on small hand-computed datasets."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Contact, Deal, Interaction, StageChange
from minicrm.services.demo.generate import generate_demo
from minicrm.services.funnel import funnel
from minicrm.services.funnel.funnel import funnel_report
from minicrm.services.funnel.reports import activity_report, forecast_report, segments_report
from minicrm.services.records.config import set_setting

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def day(month: int, dom: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, dom, hour, minute, tzinfo=UTC)


def contact(session, *path, value=None, owner=None, deleted=False, close=None) -> int:
    """A contact and its one deal (same id) written as raw rows, as the
    migration leaves them; `path` is stage, at, stage, at… from creation."""
    moves = list(zip(path[::2], path[1::2], strict=True))
    created, (stage, entered) = moves[0][1], moves[-1]
    contact_id = session.execute(
        insert(Contact.__table__).returning(Contact.__table__.c.id),
        {
            "name": f"Contact {len(path)}{created}", "name_folded": "c", "stage": stage,
            "stage_entered_at": entered, "value_cents": value, "owner": owner,
            "lost_reason": "no need" if stage == LOST else None, "created_at": created,
            "updated_at": created, "deleted_at": created if deleted else None,
        },
    ).scalar_one()  # fmt: skip
    session.execute(
        insert(Deal.__table__),
        {
            "id": contact_id, "title": "deal", "contact_id": contact_id, "stage": stage,
            "stage_entered_at": entered, "value_cents": value, "owner": owner,
            "lost_reason": "no need" if stage == LOST else None, "expected_close": close,
            "closed_at": entered if stage in (WON, LOST) else None, "created_at": created,
            "updated_at": created, "deleted_at": created if deleted else None,
        },
    )  # fmt: skip
    froms = [None, *(s for s, _ in moves)]
    session.execute(
        insert(StageChange.__table__),
        [{"deal_id": contact_id, "contact_id": contact_id, "from_stage": f, "to_stage": t,
          "at": at}
         for f, (t, at) in zip(froms, moves, strict=False)],
    )  # fmt: skip
    return contact_id


def interaction(session, contact_id, kind, at, *, owner=None, amount=None) -> None:
    session.execute(
        insert(Interaction.__table__),
        {"contact_id": contact_id, "kind": kind, "at": at, "owner": owner,
         "amount_cents": amount, "created_at": at},
    )  # fmt: skip


# ---------------------------------------------------------------- forecast


def forecast_dataset(session) -> None:
    contact(session, "awareness", day(10, 1), "decision", day(10, 11), WON, day(10, 21))
    contact(session, "interest", day(9, 1), "decision", day(9, 21), WON, day(10, 1))
    contact(session, "awareness", day(10, 1), LOST, day(10, 5))
    contact(session, "awareness", day(11, 20), value=30_000, owner="Ana")  # closes ~Dec 10
    contact(session, "decision", day(11, 1), value=10_000, owner="Sam")  # Nov 11: past, so Nov
    contact(session, "action", day(11, 22), value=5_000)  # no won contact was ever in action
    contact(session, "interest", day(11, 23), owner="Ana")  # no value
    contact(session, "awareness", day(11, 2), value=100_000, deleted=True)
    session.flush()


def test_forecast_per_owner_and_expected_month(session, monkeypatch):
    monkeypatch.setattr(funnel, "MIN_CLOSED", 1)  # three closed deals: trust them all
    forecast_dataset(session)
    report = forecast_report(session, now=NOW).to_json()
    assert report["win_probability"] == {
        "awareness": 2 / 3, "interest": 1.0, "decision": 1.0, "action": 1.0,
    }  # fmt: skip
    assert report["fallback_stages"] == []
    assert report["days_to_win"] == {
        "awareness": 20.0, "interest": 30.0, "decision": 10.0, "action": None,
    }  # fmt: skip
    assert report["owners"] == [
        {"owner": "Ana", "open": 2, "value": 300, "weighted": 200},
        {"owner": "Sam", "open": 1, "value": 100, "weighted": 100},
        {"owner": "(none)", "open": 1, "value": 50, "weighted": 50},
    ]
    assert report["months"] == [
        {"month": "2026-11", "open": 1, "value": 100, "weighted": 100},
        {"month": "2026-12", "open": 2, "value": 300, "weighted": 200},
        {"month": "(no history)", "open": 1, "value": 50, "weighted": 50},
    ]
    assert (report["open"], report["value"], report["weighted"]) == (4, 450, 350)
    assert funnel_report(session).to_json()["forecast"] == 350


def test_forecast_with_few_closed_deals_uses_the_overall_win_rate(session):
    forecast_dataset(session)  # 3 closed deals: below 10 at every stage
    report = forecast_report(session, now=NOW).to_json()
    assert report["win_probability"] == dict.fromkeys(["awareness", "interest", "decision",
                                                       "action"], 2 / 3)  # fmt: skip
    assert report["fallback_stages"] == ["awareness", "interest", "decision", "action"]
    assert (report["open"], report["value"], report["weighted"]) == (4, 450, 300)
    assert funnel_report(session).to_json()["forecast"] == 300


def test_forecast_puts_a_deal_with_an_expected_close_in_that_month(session, monkeypatch):
    monkeypatch.setattr(funnel, "MIN_CLOSED", 1)
    forecast_dataset(session)
    contact(session, "awareness", day(11, 20), value=1_000, close=date(2027, 2, 28))
    contact(session, "awareness", day(11, 20), value=2_000, close=date(2026, 11, 30))
    contact(session, "awareness", day(11, 20), value=4_000, close=date(2025, 1, 1))  # past
    contact(session, "awareness", day(11, 20), value=8_000, close=date(2028, 1, 1))
    session.flush()
    months = {m["month"]: m["value"] for m in forecast_report(session, now=NOW).to_json()["months"]}
    assert months == {"2026-11": 160, "2026-12": 300, "2027-02": 10, "later": 80,
                      "(no history)": 50}  # fmt: skip


def test_forecast_months_follow_the_local_calendar(session):
    set_setting(session, "timezone", "Asia/Tehran")  # +03:30: Dec 1 starts at Nov 30 20:30 UTC
    contact(session, "action", day(10, 1), WON, day(10, 11))
    contact(session, "action", day(11, 20, 21, 0), value=100)  # + 10 days: Dec 1, 00:30 local
    session.flush()
    months = forecast_report(session, now=NOW).to_json()["months"]
    assert [m["month"] for m in months] == ["2026-12"]


def test_forecast_of_an_empty_database(session):
    report = forecast_report(session, now=NOW).to_json()
    assert report["owners"] == report["months"] == []
    assert (report["open"], report["value"], report["weighted"]) == (0, 0, 0)
    assert set(report["win_probability"].values()) == {None}


def test_forecast_total_equals_the_funnel_forecast_on_demo_data(session):
    generate_demo(session, contacts=300, seed=7, now=NOW)
    report = forecast_report(session, now=NOW)
    assert report.total.weighted_cents == funnel_report(session).figures.forecast_cents > 0
    assert sum(line.open for line in report.months) == report.total.open
    open_count = session.execute(
        select(func.count()).where(Deal.stage.not_in([WON, LOST]), Deal.deleted_at.is_(None))
    ).scalar()
    assert report.total.open == open_count


# ---------------------------------------------------------------- activity


def activity_dataset(session) -> None:
    alive = contact(session, "awareness", day(1, 1))
    trashed = contact(session, "awareness", day(1, 1), deleted=True)
    interaction(session, alive, "call", day(11, 23, 9), owner="Ana")
    interaction(session, alive, "call", day(11, 22, 23), owner="Ana")
    interaction(session, alive, "email", day(11, 16), owner="Ana")
    interaction(session, alive, "call", day(11, 15, 23, 59), owner="Sam")
    interaction(session, alive, "note", day(11, 29, 23, 59))
    interaction(session, alive, "call", day(11, 30), owner="Ana")  # next week
    interaction(session, trashed, "call", day(11, 23, 9), owner="Ana")
    session.flush()


def test_activity_counts_per_owner_kind_and_iso_week(session):
    activity_dataset(session)
    report = activity_report(session, weeks=2, now=NOW).to_json()
    assert report["weeks"] == ["2026-W47", "2026-W48"]
    assert report["start"] == "2026-11-16T00:00:00+00:00"
    assert report["end"] == "2026-11-30T00:00:00+00:00"
    assert [(r["owner"], r["kind"], r["counts"], r["total"]) for r in report["rows"]] == [
        ("Ana", "call", [1, 1], 2),
        ("Ana", "email", [1, 0], 1),
        ("(none)", "note", [0, 1], 1),
    ]
    assert (report["totals"], report["total"]) == ([2, 2], 4)


def test_activity_weeks_are_local(session):
    set_setting(session, "timezone", "Europe/Berlin")  # UTC+1 in November
    activity_dataset(session)
    rows = activity_report(session, weeks=2, now=NOW).to_json()["rows"]
    assert [(r["owner"], r["kind"], r["counts"]) for r in rows] == [
        ("Ana", "call", [0, 2]),  # Sunday 23:00 UTC is Monday in Berlin
        ("Ana", "email", [1, 0]),
        ("Sam", "call", [1, 0]),  # Sunday 23:59 UTC is Monday 00:59 in Berlin
    ]


def test_activity_default_is_eight_weeks_and_bad_weeks_are_user_errors(session):
    report = activity_report(session, now=NOW)
    assert len(report.weeks) == 8 and report.weeks[-1] == "2026-W48"
    assert report.to_json()["totals"] == [0] * 8
    for weeks in (0, 105):
        with pytest.raises(UserError, match="--weeks"):
            activity_report(session, weeks=weeks, now=NOW)


def test_activity_totals_equal_a_plain_count_on_demo_data(session):
    generate_demo(session, contacts=200, seed=3, now=NOW)
    report = activity_report(session, weeks=6, now=NOW)
    plain = session.execute(
        select(func.count())
        .select_from(Interaction)
        .where(Interaction.at >= report.start, Interaction.at < report.end)
    ).scalar()
    assert sum(report.totals) == plain > 0


# ---------------------------------------------------------------- segments


def test_abc_tiers_and_rfm_scores(session):
    ids = [contact(session, WON, day(1, 1)) for _ in range(8)]
    purchases = {
        0: [(30_000, day(11, 1)), (20_000, day(11, 20))],
        1: [(30_000, day(10, 1))],
        2: [(5_000, day(11, 1)), (3_000, day(11, 5)), (2_000, day(11, 22))],
        3: [(6_000, day(9, 1))],
        4: [(4_000, day(11, 10))],
        5: [(5_000, day(11, 1)), (-5_000, day(11, 2))],  # refunded: not a customer
    }
    for index, items in purchases.items():
        for amount, at in items:
            interaction(session, ids[index], "purchase", at, amount=amount)
    interaction(session, ids[6], "quote", day(11, 1), amount=99_000)
    interaction(session, ids[6], "purchase", day(11, 1))  # no amount
    trashed = contact(session, WON, day(1, 1), deleted=True)
    interaction(session, trashed, "purchase", day(11, 1), amount=1_000_000)
    session.flush()
    report = segments_report(session).to_json()
    assert (report["customers"], report["revenue"]) == (5, 1000)
    assert report["tiers"] == [
        {"tier": "A", "customers": 2, "revenue": 800, "revenue_share": 0.8, "customer_share": 0.4},
        {"tier": "B", "customers": 2, "revenue": 160, "revenue_share": 0.16,
         "customer_share": 0.4},
        {"tier": "C", "customers": 1, "revenue": 40, "revenue_share": 0.04,
         "customer_share": 0.2},
    ]  # fmt: skip
    assert report["segments"] == [
        {"segment": "champions", "customers": 2, "revenue": 600, "recency": 4.5,
         "frequency": 4.5, "monetary": 4.0},
        {"segment": "needs attention", "customers": 1, "revenue": 40, "recency": 3.0,
         "frequency": 1.0, "monetary": 1.0},
        {"segment": "hibernating", "customers": 2, "revenue": 360, "recency": 1.5,
         "frequency": 1.0, "monetary": 3.0},
    ]  # fmt: skip
    top = [(c["id"], c["revenue"], c["purchases"], c["tier"], c["rfm"], c["segment"])
           for c in report["top_customers"]]  # fmt: skip
    assert top == [
        (ids[0], 500, 2, "A", "445", "champions"),
        (ids[1], 300, 1, "A", "214", "hibernating"),
        (ids[2], 100, 3, "B", "553", "champions"),
        (ids[3], 60, 1, "B", "112", "hibernating"),
        (ids[4], 40, 1, "C", "311", "needs attention"),
    ]
    assert report["top_customers"][0]["last_purchase_at"] == "2026-11-20T00:00:00+00:00"


def test_one_big_customer_is_tier_a_alone(session):
    ids = [contact(session, WON, day(1, 1)) for _ in range(3)]
    for contact_id, amount in zip(ids, (90_000, 6_000, 4_000), strict=True):
        interaction(session, contact_id, "purchase", day(11, 1), amount=amount)
    session.flush()
    tiers = segments_report(session).to_json()["tiers"]
    assert [t["customers"] for t in tiers] == [1, 1, 1]


def test_segments_of_an_empty_database(session):
    report = segments_report(session).to_json()
    assert (report["customers"], report["revenue"], report["segments"]) == (0, 0, [])
    assert [(t["tier"], t["customers"], t["revenue_share"]) for t in report["tiers"]] == [
        ("A", 0, None), ("B", 0, None), ("C", 0, None),
    ]  # fmt: skip
    assert report["top_customers"] == []


def test_segments_count_a_won_deal_without_linked_purchases_once(session):
    """Revenue counted once: linked purchases replace their deal's value; a
    won deal with none counts its value at its closed_at; unlinked purchases
    count on their own."""
    logged = contact(session, WON, day(3, 1), value=70_000)  # its purchase is linked
    unlogged = contact(session, WON, day(5, 1), value=40_000)  # no purchase: the value counts
    session.execute(
        insert(Interaction.__table__),
        {"contact_id": logged, "deal_id": logged, "kind": "purchase", "at": day(3, 2),
         "amount_cents": 60_000, "created_at": day(3, 2)},
    )  # fmt: skip
    interaction(session, unlogged, "purchase", day(6, 1), amount=5_000)  # linked to no deal
    second = session.execute(
        insert(Deal.__table__).returning(Deal.__table__.c.id),
        {"id": 1_000, "title": "repeat", "contact_id": unlogged, "stage": WON,
         "stage_entered_at": day(7, 1), "closed_at": day(7, 1), "value_cents": 1_000,
         "created_at": day(6, 1), "updated_at": day(7, 1)},
    ).scalar_one()  # fmt: skip
    session.execute(
        insert(Deal.__table__),
        {"id": 1_001, "title": "open", "contact_id": unlogged, "stage": "awareness",
         "value_cents": 9_999, "stage_entered_at": day(7, 1), "created_at": day(7, 1),
         "updated_at": day(7, 1)},
    )  # fmt: skip
    session.flush()
    report = segments_report(session).to_json()
    assert (report["customers"], report["revenue"]) == (2, 600 + 400 + 50 + 10)
    top = {c["id"]: (c["revenue"], c["purchases"], c["last_purchase_at"])
           for c in report["top_customers"]}  # fmt: skip
    assert top == {
        logged: (600, 1, "2026-03-02T00:00:00+00:00"),
        unlogged: (460, 3, "2026-07-01T00:00:00+00:00"),
    }
    assert second


def test_activity_figures_equal_a_brute_force_count_for_every_number_of_weeks(session):
    """N = 1 … 104: each cell is the interactions of live contacts with a
    customer in that ISO week (UTC here), counted in Python."""
    from datetime import timedelta

    from minicrm.models import EVENT_KINDS  # merges are events, not contact with a customer

    generate_demo(session, contacts=60, seed=5, now=NOW)
    logged = session.execute(
        select(Interaction.at, Interaction.owner, Interaction.kind)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Contact.deleted_at.is_(None), Interaction.kind.not_in(EVENT_KINDS))
    ).all()
    this_monday = datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC) - timedelta(NOW.weekday())
    for weeks in range(1, 105):
        report = activity_report(session, weeks=weeks, now=NOW)
        start = this_monday - timedelta(weeks=weeks - 1)
        expected: dict[tuple[str, str], list[int]] = {}
        for at, owner, kind in logged:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            index = (at - start).days // 7
            if 0 <= index < weeks:
                expected.setdefault((owner or "(none)", kind), [0] * weeks)[index] += 1
        found = {(row.owner, row.kind): list(row.counts) for row in report.rows}
        assert found == expected, weeks
        assert len(report.weeks) == weeks and report.start == start
