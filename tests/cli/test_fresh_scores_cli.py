"""`crm list --sort score` never shows yesterday's scores: the first read of
a day recomputes them (services/scoring/freshness.py)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def run_sql(cli, *statements: str) -> None:
    engine = create_engine(make_url(cli.url))
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_score_that_aged_overnight_is_recomputed_by_the_next_listing(cli):
    cli.ok("add", "Maria Lopez", "--stage", "interest")
    cli.ok("add", "Nikos Papadakis", "--stage", "interest")
    at = (datetime.now(UTC) - timedelta(days=29)).strftime("%Y-%m-%d %H:%M")
    for _ in range(3):
        cli.ok("log", "Maria", "call", "rang", "--at", at)
    before = {c["name"]: c["score"] for c in cli.json("list", "--sort", "score")}
    # Two days pass: the calls are 31 days old, out of interactions_30d, and
    # no write has touched Maria since. The scores were computed yesterday.
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    run_sql(
        cli,
        "UPDATE interaction SET at = at - INTERVAL '2 days'"
        if not cli.db_path
        else "UPDATE interaction SET at = datetime(at, '-2 days')",
        f"UPDATE setting SET value = '{yesterday}' WHERE key = 'scores_computed_for'",
    )
    after = {c["name"]: c["score"] for c in cli.json("list", "--sort", "score")}
    # the default rules: 3 points per interaction of the last 30 days
    assert after == {
        "Maria Lopez": before["Maria Lopez"] - 9,
        "Nikos Papadakis": before["Nikos Papadakis"],
    }
    assert cli.json("show", "Maria")["score"] == after["Maria Lopez"]
