"""`crm report …`: formats, options and errors, through the real command tree."""

import csv
import io
import json

import pytest

from minicrm.commands import app

SPEC_KEYS = [
    "stages", "won", "lost", "win_rate", "avg_cycle_days", "median_cycle_days", "lost_reasons",
    "lost_at_stage", "forecast",
]  # fmt: skip
SPEC_STAGE_KEYS = [
    "stage", "current", "value", "reached", "conversion_to_next", "avg_days_in_stage",
    "median_days_in_stage",
]  # fmt: skip
CSV_HEADER = SPEC_STAGE_KEYS


@pytest.fixture(scope="module", autouse=True)
def report_command():
    """`report` joins the tree in commands/__init__.py; until it does, add it here."""
    if not any(group.name == "report" for group in app.registered_groups):
        from minicrm.commands import reports

        app.add_typer(reports.app, name="report")


@pytest.fixture
def shop(cli):
    for args in (
        ["Ana Lima", "--stage", "interest", "--value", "100", "--owner", "Ana"],
        ["Bo Berg", "--stage", "decision", "--value", "250.50", "--owner", "Sam"],
        ["Cy Cole", "--stage", "won", "--value", "80", "--owner", "Ana"],
        ["Di Dorn", "--stage", "lost", "--lost-reason", "no budget", "--owner", ""],
    ):
        cli.ok("add", *args, "--force")
    return cli


def test_funnel_json_has_exactly_the_spec_keys(shop):
    report = json.loads(shop.ok("report", "funnel", "--format", "json").stdout)
    assert list(report) == SPEC_KEYS
    assert all(list(row) == SPEC_STAGE_KEYS for row in report["stages"])
    assert [(r["stage"], r["current"], r["value"], r["reached"]) for r in report["stages"]] == [
        ("awareness", 0, 0, 3), ("interest", 1, 100, 3), ("decision", 1, 250.5, 2),
        ("action", 0, 0, 1), ("won", 1, 80, 1), ("lost", 1, 0, 1),
    ]  # fmt: skip
    assert (report["won"], report["lost"], report["win_rate"]) == (1, 1, 0.5)
    assert report["lost_reasons"] == {"no budget": 1}
    assert report["lost_at_stage"] == {"(none)": 1}  # added straight into lost
    # Both closed deals were added straight into won/lost (no known path), so every
    # stage takes the overall win rate, 1/2.
    assert report["forecast"] == 175.25
    assert shop.json("report", "funnel") == report  # --json is --format json


def test_funnel_by_owner_json_groups(shop):
    report = json.loads(shop.ok("report", "funnel", "--by", "OWNER", "-f", "json").stdout)
    assert list(report) == ["groups"]
    assert list(report["groups"]) == ["Ana", "Sam", "(none)"]
    assert all(list(group) == SPEC_KEYS for group in report["groups"].values())


def test_funnel_csv_parses(shop):
    rows = list(csv.reader(io.StringIO(shop.ok("report", "funnel", "--format", "csv").stdout)))
    assert rows[0] == CSV_HEADER
    assert [r[0] for r in rows[1:]] == [
        "awareness",
        "interest",
        "decision",
        "action",
        "won",
        "lost",
    ]
    assert rows[3][2] == "250.5" and rows[5][4] == ""
    grouped = list(csv.DictReader(io.StringIO(shop.ok("report", "funnel", "--by", "owner",
                                                      "--format", "csv").stdout)))  # fmt: skip
    assert list(grouped[0]) == ["owner", *CSV_HEADER]
    assert {r["owner"] for r in grouped} == {"Ana", "Sam", "(none)"} and len(grouped) == 18


def test_funnel_markdown_tables_and_chart(shop):
    out = shop.ok("report", "funnel", "--format", "md").stdout
    assert "### Funnel" in out and "### Lost reasons" in out
    assert "| Stage | Now | Value (USD) | Reached | To next | Avg days | Median days |" in out
    assert "| decision | 1 | 250.50 | 2 | 50.0% | – | – |" in out
    assert out.count("```") == 2 and "█" in out


def test_piped_table_is_plain_text_with_bars(shop):
    result = shop.ok("report", "funnel", env={"COLUMNS": "80"})
    assert "\x1b[" not in result.stdout and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "Funnel"
    assert any(line.startswith("Win rate") and line.endswith("50.0%") for line in lines)
    bars = [line for line in lines if "█" in line]
    assert [line.split()[0] for line in bars] == ["interest", "decision", "won", "lost"]
    assert all(len(line) <= 80 for line in lines)


def test_period_options(shop):
    assert shop.json("report", "funnel", "--since", "tomorrow")["stages"][1]["current"] == 0
    report = shop.json("report", "funnel", "--since", "today", "--until", "today")
    assert sum(row["current"] for row in report["stages"]) == 4  # the whole of today


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["funnel", "--by", "colour"], "owner, source, industry, region, product, company"),
        (["sales", "--by", "colour"], "product, company, owner, month"),
        (["sales", "--format", "xml"], "table, json, csv, md"),
        (["funnel", "--format", "xml"], "table, json, csv, md"),
        (["funnel", "--since", "someday"], "cannot read the date"),
        (["funnel", "--since", "tomorrow", "--until", "yesterday"], "--since must be before"),
        (["forecast", "--format", "xlsx"], "table, json, csv, md"),
        (["activity", "--weeks", "0"], "--weeks"),
        (["segments", "--format", "pdf"], "table, json, csv, md"),
    ],
)
def test_bad_options_are_one_line_user_errors(shop, args, fragment):
    shop.assert_user_error(shop("report", *args), fragment)


def test_forecast_activity_and_segments_formats(shop):
    shop.ok("log", "Cy Cole", "purchase", "Espresso machine", "--amount", "80", "--deal", "3")
    forecast = shop.json("report", "forecast")
    assert (forecast["open"], forecast["value"], forecast["weighted"]) == (2, 350.5, 175.25)
    assert forecast["fallback_stages"] == ["awareness", "interest", "decision", "action"]
    activity = shop.json("report", "activity", "--weeks", "3")
    assert len(activity["weeks"]) == 3 and activity["total"] == 1
    segments = shop.json("report", "segments")
    assert segments["top_customers"][0]["name"] == "Cy Cole"
    assert segments["tiers"][0] == {
        "tier": "A", "customers": 1, "revenue": 80, "revenue_share": 1.0, "customer_share": 1.0,
    }  # fmt: skip
    for command in ("forecast", "activity", "segments"):
        table = shop.ok("report", command).stdout
        assert "\x1b[" not in table and table.strip()
        markdown = shop.ok("report", command, "--format", "md").stdout
        assert markdown.startswith("### ") and "|---" in markdown
    assert "Cy Cole" in shop.ok("report", "segments").stdout


def test_empty_database_reports_do_not_crash(cli):
    assert cli.json("report", "funnel")["win_rate"] is None
    assert cli.json("report", "funnel", "--by", "region") == {"groups": {}}
    for command in ("funnel", "forecast", "activity", "segments", "sales"):
        cli.ok("report", command)
    assert "no deals" in cli.ok("report", "funnel", "--by", "owner").stderr
    assert cli.json("report", "sales") == {"won": 0, "revenue": 0, "avg_deal": None, "groups": []}
    assert cli.json("report", "sales", "--by", "month")["groups"] == []


def test_funnel_by_product_and_company(cli):
    cli.ok("product", "add", "Grinder", "--price", "40")
    cli.ok("deal", "add", "--title", "Two grinders", "--company", "Acme", "--line", "Grinder x 2")
    cli.ok("deal", "add", "--title", "Bare", "--value", "10")
    by_product = cli.json("report", "funnel", "--by", "product")["groups"]
    assert list(by_product) == ["Grinder", "(none)"]
    assert by_product["Grinder"]["stages"][0]["value"] == 80
    by_company = cli.json("report", "funnel", "--by", "company")["groups"]
    assert list(by_company) == ["Acme", "(none)"]


def test_report_sales_formats(cli):
    cli.ok("product", "add", "Grinder", "--price", "40")
    cli.ok("deal", "add", "--title", "Two grinders", "--company", "Acme", "--line",
           "Grinder x 2", "--stage", "won", "--owner", "Ana")  # fmt: skip
    cli.ok("deal", "add", "--title", "Bare", "--value", "10.5", "--stage", "won", "--owner", "")
    cli.ok("deal", "add", "--title", "Open", "--value", "999")
    report = cli.json("report", "sales")
    assert report == {"won": 2, "revenue": 90.5, "avg_deal": 45.25, "groups": []}
    by_product = cli.json("report", "sales", "--by", "product")
    assert by_product["groups"] == [
        {"key": "Grinder", "won": 1, "revenue": 80, "avg_deal": 80},
        {"key": "(no product)", "won": 1, "revenue": 10.5, "avg_deal": 10.5},
    ]
    owners = cli.json("report", "sales", "--by", "owner", "--since", "today")["groups"]
    assert [g["key"] for g in owners] == ["Ana", "(none)"]
    assert cli.json("report", "sales", "--since", "tomorrow")["won"] == 0
    rows = list(csv.reader(io.StringIO(cli.ok("report", "sales", "--by", "company",
                                              "--format", "csv").stdout)))  # fmt: skip
    assert rows == [["company", "won", "revenue", "avg_deal"], ["Acme", "1", "80", "80"],
                    ["(none)", "1", "10.5", "10.5"], ["(total)", "2", "90.5", "45.25"]]  # fmt: skip
    table = cli.ok("report", "sales", "--by", "month").stdout
    assert "Sales by month" in table and "90.50" in table
    assert cli.ok("report", "sales", "-f", "md").stdout.startswith("### Sales")


def test_report_figures_are_written_to_what_they_mean(cli):
    """A rate to 4 decimals, days to 2, money to cents: 0.6667, not
    0.6666666666666666 (the report itself keeps the exact figure)."""
    for args in (["Ana Lima", "--stage", "won"], ["Bo Berg", "--stage", "won"],
                 ["Cy Cole", "--stage", "lost", "--lost-reason", "no budget"]):  # fmt: skip
        cli.ok("add", *args, "--value", "100.33", "--force")
    report = cli.json("report", "funnel")
    assert report["win_rate"] == 0.6667
    for stage in report["stages"]:
        for key, value in stage.items():
            if isinstance(value, float):
                places = 4 if "conversion" in key else 2
                assert value == round(value, places), (key, value)
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "funnel", "--format", "csv").stdout)))
    assert all(len(r["conversion_to_next"].partition(".")[2]) <= 4 for r in rows)
