"""`crm score --model history` and `crm score backtest` through a small Typer
tree of their own: the root callback and error handling of the real `crm`,
with a `score show` command standing in for `crm score --model history`."""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from minicrm.commands import CrmGroup, root
from minicrm.commands.score_history import register_backtest, run_history
from minicrm.db import session_scope
from minicrm.models import LOST, WON, Deal
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.deals.stages import move_stage

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def build_app() -> typer.Typer:
    app = typer.Typer(cls=CrmGroup, pretty_exceptions_enable=False, add_completion=False)
    app.callback()(root)
    score = typer.Typer()

    @score.command("show")
    def show(
        ctx: typer.Context,
        ref: Annotated[str | None, typer.Argument()] = None,
        explain: Annotated[bool, typer.Option("--explain")] = False,
        top: Annotated[int | None, typer.Option("--top")] = None,
        json_: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        run_history(ctx, ref=ref, explain=explain, top=top, json_=json_)

    register_backtest(score)
    app.add_typer(score, name="score")
    return app


@pytest.fixture
def crm(db_path):
    app, runner = build_app(), CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--db", str(db_path), *args])

    return invoke


def fill(engine, *, won: int, lost: int, leads=("Warm Lead", "Cold Lead")):
    """Closed contacts a day apart: won ones by referral reaching action, lost
    ones walk-ins stuck in interest; then open leads of each kind."""
    with session_scope(engine) as session:
        for day in range(won + lost):
            is_won = day % 2 == 0 if day < 2 * min(won, lost) else won > lost
            source, reached = ("referral", "action") if is_won else ("walk-in", "interest")
            at = T0 + day * DAY
            data = ContactInput(name=f"Closed {day}", source=source)
            contact = add_contact(session, data, force=True, now=at - 5 * DAY)
            move_stage(session, contact.id, reached, now=at - DAY)
            outcome, reason = (WON, None) if is_won else (LOST, "no need")
            move_stage(session, contact.id, outcome, reason=reason, now=at)
        for name in leads:
            source = "referral" if name.startswith("Warm") else "walk-in"
            add_contact(session, ContactInput(name=name, source=source), force=True, now=T0)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_history_table_lists_open_contacts_best_first(crm, engine):
    fill(engine, won=12, lost=12)
    result = crm("score", "show")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "Name", "Win", "probability", "Top", "factors"]
    assert [line.split()[1:3] for line in lines[1:]] == [["Warm", "Lead"], ["Cold", "Lead"]]
    assert "source=referral +" in lines[1] and "source=walk-in -" in lines[2]
    assert lines[1].split()[3].endswith("%")


def test_history_json_is_a_list_highest_first(crm, engine):
    fill(engine, won=12, lost=12)
    data = json.loads(crm("score", "show", "--json").stdout)
    assert [row["name"] for row in data] == ["Warm Lead", "Cold Lead"]
    assert set(data[0]) == {"id", "name", "probability", "factors", "deal_id", "title"}
    assert 0.5 < data[0]["probability"] < 1 and 0 < data[1]["probability"] < 0.5
    assert data[0]["factors"][0] == {
        "field": "source",
        "value": "referral",
        "contribution": pytest.approx(1.2238, abs=1e-4),
    }  # fmt: skip  ln(1 + 12/5)


def test_top_and_explain(crm, engine):
    fill(engine, won=12, lost=12)
    top = crm("score", "show", "--top", "1", "--explain")
    assert top.exit_code == 0
    header, row = top.stdout.splitlines()
    assert header.split()[-1] == "Factors"
    assert row.split()[1:3] == ["Warm", "Lead"]
    assert "stage reached=awareness +0.00" in row  # no closed contact stopped there: unseen


def test_one_contact_with_its_factors(crm, engine):
    fill(engine, won=12, lost=12)
    result = crm("score", "show", "cold lead")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("#") and lines[0].endswith("chance to win")
    assert "Cold Lead: " in lines[0]
    assert lines[1] == "Base rate 50.0% (12 won, 12 lost); what moved it:"
    assert lines[2].split() == ["Field", "Value", "Log-odds", "Odds", "×"]
    assert lines[3].split()[:3] == ["source", "walk-in", "-1.22"]


def test_closed_ref_and_bad_top_are_user_errors(crm, engine):
    fill(engine, won=12, lost=12)
    result = crm("score", "show", "Closed 0")
    assert result.exit_code == 2 and result.stdout == ""
    assert "is already won; the history model scores open deals only" in one_line(result.stderr)
    result = crm("score", "show", "--top", "0")
    assert result.exit_code == 2
    assert one_line(result.stderr) == "crm: error: --top must be 1 or more"


def test_cold_start_falls_back_to_rule_scores(crm, engine):
    fill(engine, won=3, lost=2, leads=("Warm Lead", "Cold Lead", "Middle Lead"))
    with session_scope(engine) as session:
        for name, score in (("Warm Lead", 10), ("Cold Lead", 40), ("Middle Lead", 25)):
            session.execute(update(Deal).where(Deal.title == name).values(score=score))
    result = crm("score", "show")
    assert result.exit_code == 0
    assert one_line(result.stderr) == (
        "crm: warning: only 5 closed deals; the history model needs at least 20 "
        "— showing rule scores instead"
    )
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "Name", "Stage", "Score"]
    assert [line.split()[1] for line in lines[1:]] == ["Cold", "Middle", "Warm"]

    data = json.loads(crm("score", "show", "--json", "--top", "2").stdout)
    assert [(row["name"], row["score"]) for row in data] == [
        ("Cold Lead", 40), ("Middle Lead", 25),
    ]  # fmt: skip
    assert set(data[0]) == {"id", "name", "stage", "score", "deal_id", "title"}
    single = crm("score", "show", "warm")
    assert single.stdout.splitlines()[1].split()[1:] == ["Warm", "Lead", "awareness", "10"]


def test_backtest_prints_the_figures_and_calibration(crm, engine):
    fill(engine, won=20, lost=20)
    result = crm("score", "backtest")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Learnt from the 28 deals closed before 2026-01-29 09:00, ")
    assert "predicted the 12 closed since (50.0% won)." in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:7] if line}
    assert rows["n_train"] == "28" and rows["n_test"] == "12"
    assert rows["Accuracy"] == "100.0%" and rows["AUC"] == "1.000"
    assert float(rows["Brier"]) < 0.01
    assert "0–20%" in out and "80–100%" in out and "Actually won" in out


def test_backtest_json(crm, engine):
    fill(engine, won=20, lost=20)
    data = json.loads(crm("score", "backtest", "--json").stdout)
    assert data["ready"] is True
    assert (data["n_train"], data["n_test"], data["auc"], data["accuracy"]) == (28, 12, 1.0, 1.0)
    assert sum(b["count"] for b in data["calibration"]) == 12
    assert data["split_at"] == "2026-01-29T09:00:00+00:00"


def test_backtest_without_enough_history_says_so_and_exits_0(crm, engine):
    fill(engine, won=10, lost=10)
    result = crm("score", "backtest")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert one_line(result.stderr).startswith(
        "crm: warning: only 20 closed deals; a backtest needs at least 29"
    )
    data = json.loads(crm("score", "backtest", "--json").stdout)
    assert data["ready"] is False and data["n_test"] == 0
