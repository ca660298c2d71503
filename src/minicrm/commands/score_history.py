"""`crm score --model history` and `crm score backtest`: win probabilities
learnt from the shop's own won/lost history (services/scoring/history.py), rendered.

`crm score` itself lives in commands/score.py, which calls run_history() for
`--model history` and register_backtest() for its `backtest` subcommand.
When the history is too thin to learn from, the rule scores are shown
instead, after one line on stderr saying why; the exit status stays 0 (a
young database is not a mistake), and `backtest --json` says `"ready": false`.
"""

from collections.abc import Callable
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

TOP_FACTORS = 3  # factors per row in the table without --explain


def run_history(
    ctx: typer.Context,
    *,
    ref: str | None,
    explain: bool,
    top: int | None,
    json_: bool,
    fallback: Callable[[], None] | None = None,
    deal: int | None = None,
) -> None:
    """Print the history-learnt win probability of open deals, best first
    (or of REF's current deal, or of deal `deal`). Not ready: the reason on
    stderr, then `fallback()` (the caller's rule-score view) or the cached
    rule scores."""
    from minicrm.commands import _output as out
    from minicrm.services.scoring.history import history_scores

    with unit_of_work(ctx, write=False) as session:
        result = history_scores(session, ref=ref, deal_id=deal, top=top)
    if not result.ready:
        out.warn(result.message or "the history model is not ready")
        if fallback is not None:
            fallback()
        else:
            _show_rule_scores(ctx, ref=ref, top=top, json_=json_, deal=deal)
        return
    if json_:
        out.print_json_array(score.to_json() for score in result.scores)
    elif ref is not None or deal is not None:
        _print_one(result.scores[0], result)
    else:
        shown = None if explain else TOP_FACTORS
        out.print_table(
            ["ID", "Name", "Win probability", "Factors" if explain else "Top factors"],
            (
                [_id(s.contact_id), _label(s), _percent(s.probability), _factors(s.factors[:shown])]
                for s in result.scores
            ),
        )


def _print_one(score, result) -> None:
    from minicrm.commands import _output as out

    deal = f" · deal #{score.deal_id} {score.title}" if score.contact_id is not None else ""
    print(f"{_who(score)}{deal}: {_percent(score.probability)} chance to win")
    print(
        f"Base rate {_percent(result.base_rate)} "
        f"({result.won_count} won, {result.lost_count} lost); what moved it:"
    )
    out.print_table(
        ["Field", "Value", "Log-odds", "Odds ×"],
        (
            [
                f.field.replace("_", " "),
                f.value,
                f"{f.log_odds_contribution:+.2f}",
                f"{_odds_factor(f.log_odds_contribution):.2f}",
            ]
            for f in score.factors
        ),
    )


def _id(value) -> str:
    return "" if value is None else str(value)


def _label(score) -> str:
    """The contact's name, with the deal's title when that says more."""
    if score.name is None:
        return f"{score.title} (deal #{score.deal_id})"
    if score.title and score.title.casefold() != score.name.casefold():
        return f"{score.name} · {score.title}"
    return score.name


def _who(score) -> str:
    if score.contact_id is None:
        return f"deal #{score.deal_id} {score.title}"
    return f"#{score.contact_id} {score.name}"


def _odds_factor(log_odds: float) -> float:
    import math

    return math.exp(max(-50.0, min(50.0, log_odds)))


def _factors(factors) -> str:
    return ", ".join(
        f"{f.field.replace('_', ' ')}={f.value} {f.log_odds_contribution:+.2f}" for f in factors
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _show_rule_scores(
    ctx: typer.Context,
    *,
    ref: str | None,
    top: int | None,
    json_: bool,
    deal: int | None = None,
):
    """The rule scores as cached on each deal (kept current by the rules
    engine), open deals best first; REF: the contact's current deal."""
    from minicrm.commands import _output as out
    from minicrm.services.scoring.history import cached_rule_scores

    with unit_of_work(ctx, write=False) as session:
        rows = cached_rule_scores(session, ref=ref, deal_id=deal, top=top)
    if json_:
        out.print_json_array(
            {"id": r.contact_id, "name": r.name, "stage": r.stage, "score": r.score,
             "deal_id": r.deal_id, "title": r.title}
            for r in rows
        )  # fmt: skip
    else:
        out.print_table(
            ["ID", "Name", "Stage", "Score"],
            ([_id(r.contact_id), _label(r), r.stage, str(r.score)] for r in rows),
        )


# ----------------------------------------------------------------- backtest


def register_backtest(app: typer.Typer) -> None:
    app.command("backtest")(backtest)


def backtest(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """How well the history model predicts: learn from the oldest 70% of
    closed deals, predict the newest 30%, compare with what happened."""
    from minicrm.commands import _output as out
    from minicrm.services.records.config import local_zone_of
    from minicrm.services.scoring.history import backtest as run_backtest

    with unit_of_work(ctx, write=False) as session:
        report = run_backtest(session)
        zone = local_zone_of(session)
    if not report.ready:
        out.warn(report.message or "not enough history for a backtest")
    if json_:
        out.print_json(report.to_json())
    elif report.ready:
        _print_backtest(report, zone)


def _print_backtest(report, zone) -> None:
    from minicrm.commands import _output as out
    from minicrm.dates import format_local

    since = format_local(report.split_at, zone)
    print(
        f"Learnt from the {report.n_train} deals closed before {since}, "
        f"predicted the {report.n_test} closed since ({_percent(report.test_win_rate)} won)."
    )
    auc = "n/a (one outcome only)" if report.auc is None else f"{report.auc:.3f}"
    out.print_table(
        ["Measure", "Value", "For comparison"],
        [
            ["n_train", str(report.n_train), "closed deals learnt from"],
            ["n_test", str(report.n_test), "closed deals predicted"],
            [
                "Accuracy",
                _percent(report.accuracy),
                f'always guessing "{report.baseline_guess}": {_percent(report.baseline_accuracy)}',
            ],
            ["AUC", auc, "0.5 is guessing, 1.0 ranks every win above every loss"],
            ["Brier", f"{report.brier:.3f}", "0 is perfect, 0.25 is always saying 50%"],
        ],
    )
    print()
    out.print_table(
        ["Predicted", "Deals", "Mean predicted", "Actually won"],
        (
            [
                f"{b.lower * 100:.0f}–{b.upper * 100:.0f}%",
                str(b.count),
                _percent(b.mean_predicted),
                _percent(b.observed_win_rate),
            ]
            for b in report.calibration
        ),
    )
