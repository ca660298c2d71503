"""`crm report sales` on small hand-computed datasets (the property test in
test_funnel.py checks it against brute force on random ones)."""

from datetime import UTC, datetime, timedelta

import pytest

from minicrm.errors import UserError
from minicrm.models import WON
from minicrm.services.funnel.sales import sales_report
from minicrm.services.records.config import set_setting
from services.test_funnel import Sale as Deal_
from services.test_funnel import World, write

START = datetime(2026, 3, 31, 21, 0, tzinfo=UTC)


def won(at, value, **kwargs) -> Deal_:
    return Deal_([("awareness", at - timedelta(days=3)), (WON, at)], value, **kwargs)


def test_totals_count_won_live_deals_at_their_close(session):
    write(session, World([
        won(START, 10_000), won(START + timedelta(days=40), 5_050),
        won(START, 99_999, deleted=True),
        Deal_([("awareness", START)], 77_000),
        Deal_([("awareness", START), ("lost", START + timedelta(days=1))], 1_000),
    ]))  # fmt: skip
    report = sales_report(session).to_json()
    assert report == {"won": 2, "revenue": 150.5, "avg_deal": 75.25, "groups": []}
    later = sales_report(session, since=START + timedelta(days=1)).to_json()
    assert (later["won"], later["revenue"]) == (1, 50.5)
    assert sales_report(session, until=START).to_json()["won"] == 0  # until is exclusive


def test_by_product_uses_lines_and_no_product_for_bare_deals(session):
    write(session, World([
        won(START, 350, lines=[(0, 100), (1, 200), (0, 50)]),
        won(START, 100, lines=[(1, 100)]),
        won(START, 30, lines=[("Delivery", 30)]),
        won(START, 1_000),
        won(START, None),
    ]))  # fmt: skip
    groups = sales_report(session, by="product").to_json()["groups"]
    assert groups == [
        {"key": "(no product)", "won": 2, "revenue": 10, "avg_deal": 5},
        {"key": "Beta", "won": 2, "revenue": 3, "avg_deal": 1.5},
        {"key": "Alpha", "won": 1, "revenue": 1.5, "avg_deal": 1.5},
        {"key": "Delivery", "won": 1, "revenue": 0.3, "avg_deal": 0.3},
    ]


def test_by_month_follows_the_local_calendar(session):
    set_setting(session, "timezone", "Europe/Madrid")  # 31 Mar 21:00 UTC is 23:00 local
    write(session, World([won(START, 100), won(START + timedelta(hours=2), 200),
                          won(START + timedelta(days=62), 400)]))  # fmt: skip
    groups = sales_report(session, by="month").to_json()["groups"]
    assert [(g["key"], g["revenue"]) for g in groups] == [
        ("2026-03", 1),
        ("2026-04", 2),
        ("2026-06", 4),
    ]  # fmt: skip  (no sale in May: no May group)


def test_by_company_and_owner(session):
    world = World(
        [won(START, 100, company=0, fields={"owner": "Ana"}), won(START, 300, company=1),
         won(START, 50, fields={"owner": ""})],
        companies=[{"name": "Acme"}, {"name": "Bakery"}],
    )  # fmt: skip
    write(session, world)
    assert [(g["key"], g["revenue"]) for g in sales_report(session, by="company").to_json()[
        "groups"]] == [("Bakery", 3), ("Acme", 1), ("(none)", 0.5)]  # fmt: skip
    assert [(g["key"], g["won"]) for g in sales_report(session, by="owner").to_json()[
        "groups"]] == [("(none)", 2), ("Ana", 1)]  # fmt: skip


def test_bad_breakdown_and_empty_period(session):
    with pytest.raises(UserError, match="product, company, owner, month"):
        sales_report(session, by="colour")
    with pytest.raises(UserError, match="--since must be before --until"):
        sales_report(session, since=START, until=START)
