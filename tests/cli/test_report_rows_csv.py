"""`crm report forecast|segments --format csv`: one row per open deal / per
customer, which add up to the report's own figures."""

import csv
import io
from collections import Counter, defaultdict

import pytest


@pytest.fixture
def demo(cli):
    cli.ok("demo")
    return cli


def rows_of(result) -> list[dict]:
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_forecast_csv_rows_add_up_to_the_report(demo):
    report = demo.json("report", "forecast")
    rows = rows_of(demo.ok("report", "forecast", "--format", "csv"))
    assert rows and list(rows[0]) == [
        "deal_id", "title", "contact", "owner", "stage", "value", "win_probability",
        "weighted", "expected_month",
    ]  # fmt: skip
    assert len(rows) == report["open"]
    value = lambda r: float(r["value"] or 0)  # noqa: E731
    assert sum(map(value, rows)) == pytest.approx(report["value"])
    weighted = sum(float(r["weighted"] or 0) for r in rows)
    assert abs(weighted - report["weighted"]) <= 0.01 * len(rows)  # cents per deal
    by_owner = defaultdict(float)
    for row in rows:
        by_owner[row["owner"] or "(none)"] += value(row)
    assert by_owner == {o["owner"]: pytest.approx(o["value"]) for o in report["owners"]}
    months = Counter(r["expected_month"] for r in rows)
    assert months == {m["month"]: m["open"] for m in report["months"]}
    for row in rows:
        expected = report["win_probability"][row["stage"]]
        assert float(row["win_probability"]) == pytest.approx(expected, abs=5e-5)


def test_segments_csv_is_every_customer_with_the_report_tiers(demo):
    report = demo.json("report", "segments")
    rows = rows_of(demo.ok("report", "segments", "--format", "csv"))
    assert len(rows) == report["customers"]
    assert sum(float(r["revenue"]) for r in rows) == pytest.approx(report["revenue"])
    assert Counter(r["tier"] for r in rows) == {
        t["tier"]: t["customers"] for t in report["tiers"] if t["customers"]
    }
    assert Counter(r["segment"] for r in rows) == {
        s["segment"]: s["customers"] for s in report["segments"]
    }
    top = [(int(r["id"]), r["rfm"]) for r in rows[: len(report["top_customers"])]]
    assert top == [(c["id"], c["rfm"]) for c in report["top_customers"]]


def test_an_empty_database_writes_the_header_only(cli):
    assert cli.ok("report", "segments", "-f", "csv").stdout.startswith("id,name,revenue,")
    assert len(rows_of(cli.ok("report", "forecast", "-f", "csv"))) == 0
