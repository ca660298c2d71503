"""`crm score`: ranked leads, one lead's score rule by rule, and the rules.

`crm score [REF] [OPTIONS]` runs the hidden `show` command: a group whose
first argument may be either a subcommand (`rules`, `backtest`) or a REF
cannot take REF in its callback (it would swallow the subcommand names), so
ScoreGroup routes anything that is not a subcommand name to `show`.
"""

import importlib.util
from typing import Annotated

import typer
from typer.core import TyperGroup

from minicrm.commands._store import unit_of_work

DEFAULT_COMMAND = "show"
MODELS = ("rules", "history")
ERROR_PREFIX = "# ERROR:"


class ScoreGroup(TyperGroup):
    """A group with a default command: `crm score maria --explain` means
    `crm score show maria --explain`; `crm score rules …` stays itself."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx, formatter) -> None:
        """The group's help, then the default command's: `crm score --help`
        lists the options `crm score [REF]` takes."""
        super().format_help(ctx, formatter)
        default = self.commands[DEFAULT_COMMAND]
        with default.make_context(DEFAULT_COMMAND, [], parent=ctx, resilient_parsing=True) as sub:
            default.format_help(sub, formatter)


app = typer.Typer(
    cls=ScoreGroup,
    help=(
        "Lead scores from your rules, one per deal. `crm score` ranks the open deals; "
        "`crm score REF --explain` shows why a contact's current deal scores what it does "
        "(`--deal ID` names a deal). `crm score [REF]` is `crm score show [REF]`: its "
        "options are below."
    ),
    subcommand_metavar="[REF] | COMMAND [ARGS]...",
)

Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]


@app.command(DEFAULT_COMMAND, hidden=True)
def show(
    ctx: typer.Context,
    ref: Annotated[
        str | None, typer.Argument(metavar="REF", help="Id, exact email, or part of the name.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Each rule's points and the figures it read.")
    ] = False,
    deal: Annotated[
        int | None,
        typer.Option("--deal", metavar="ID", help="Score this deal (not REF's current one)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="How many deals to rank.")] = 10,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="Recompute every cached score first.")
    ] = False,
    model: Annotated[
        str, typer.Option("--model", help="rules (your scoring rules) or history (learnt).")
    ] = "rules",
    json_: Json = False,
) -> None:
    """Ranked open deals, or one deal's score and the rules that made it
    (REF: the contact's current deal; --deal ID: that deal)."""
    from minicrm.errors import UserError

    model = model.strip().lower()
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose rules or history")
    if top < 1:
        raise UserError("--top needs a number of deals, 1 or more")
    if ref is not None and deal is not None:
        raise UserError("give a contact REF or --deal ID, not both")
    if recompute:
        _recompute_all(ctx)
    if model == "history":
        if importlib.util.find_spec("minicrm.commands.score_history") is None:
            raise UserError("the history model is not part of this build; use --model rules")
        from minicrm.commands.score_history import run_history

        def rule_scores() -> None:
            _show_rule_scores(ctx, ref=ref, deal=deal, explain=explain, top=top, json_=json_)

        chosen = {"deal": deal} if deal is not None else {}  # (older builds take no deal)
        run_history(
            ctx, ref=ref, explain=explain, top=top, json_=json_, fallback=rule_scores, **chosen
        )
        return
    _show_rule_scores(ctx, ref=ref, deal=deal, explain=explain, top=top, json_=json_)


def _recompute_all(ctx: typer.Context) -> None:
    import time

    from minicrm.commands import _output as out
    from minicrm.services.scoring.scores import recompute_scores

    started = time.perf_counter()
    with unit_of_work(ctx) as session:
        done = recompute_scores(session)
    out.info(
        f"recomputed {done.scored} scores ({done.changed} changed) "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _show_rule_scores(
    ctx: typer.Context,
    *,
    ref: str | None,
    explain: bool,
    top: int,
    json_: bool,
    deal: int | None = None,
) -> None:
    from minicrm.commands import _output as out
    from minicrm.services import scoring

    # A write unit: scores shown are worked out afresh and refresh the cache.
    with unit_of_work(ctx) as session:
        if deal is not None:
            scored = [scoring.explain_deal(session, deal)]
        elif ref is not None:
            scored = [scoring.explain(session, ref)]
        else:
            scored = scoring.top_scores(session, limit=top)
    if json_:
        out.print_json([s.to_json(figures=explain) for s in scored])
    elif not scored:
        out.info("no open deals to score")
    elif explain:
        print("\n\n".join(_explanation(s) for s in scored))
    elif ref is not None or deal is not None:
        print(f"{_who(scored[0])}: {scored[0].score}")
    else:
        out.print_table(
            ["ID", "Name", "Stage", "Score", "Rules"],
            ([_id(s.id), deal_label(s), s.stage, str(s.score), _rule_list(s)] for s in scored),
        )


def _id(value) -> str:
    return "" if value is None else str(value)


def deal_label(scored) -> str:
    """The contact's name, with the deal's title when that says more."""
    if scored.name is None:
        return f"{scored.title} (deal #{scored.deal_id})"
    if scored.title and scored.title.casefold() != scored.name.casefold():
        return f"{scored.name} · {scored.title}"
    return scored.name


def _who(scored) -> str:
    if scored.id is None:
        return f"deal #{scored.deal_id} {scored.title}"
    return f"#{scored.id} {scored.name}"


def _rule_list(scored) -> str:
    return ", ".join(f"{hit.name} {hit.points:+d}" for hit in scored.rules)


def _explanation(scored) -> str:
    lines = [f"{_who(scored)} ({scored.stage or 'no deal'}): {scored.score}"]
    width = max((len(hit.name) for hit in scored.rules), default=0)
    for hit in scored.rules:
        used = [f"{name} = {_shown(value)}" for name, value in hit.used.items()]
        used += [f"tag {tag}" for tag in hit.tags]
        lines.append(f"  {hit.points:+5d}  {hit.name:<{width}}  {', '.join(used)}".rstrip())
    if not scored.rules:
        lines.append("  no rule matches")
    figures = ", ".join(f"{name} {_shown(value)}" for name, value in scored.figures.items())
    lines.append(f"  figures: {figures}")
    if scored.deal_id is None:
        lines.append("  no deal: a contact without a deal has no score")
    else:
        lines.append(f"  deal #{scored.deal_id} {scored.title}")
    return "\n".join(lines)


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


# -------------------------------------------------------------------- rules


RULES_EPILOG = (
    "A rule: name, points, and when = a condition and/or per = a figure (points per "
    "unit, capped by max). Conditions: == != < <= > >=, and, or, not, parentheses, "
    "source in ('referral', 'walk-in'), tag('vip'), has(email), numbers, 'text'. "
    "A score belongs to a deal. Deal fields: stage value owner source lost_reason "
    "expected_close ('YYYY-MM-DD'). The deal's contact: name email phone company title city "
    "region country industry extra.KEY, tag('…'), or contact.FIELD (contact.name "
    "contact.email contact.phone contact.company contact.title contact.city contact.region "
    "contact.country contact.industry contact.source contact.owner). Its company: "
    "company.name company.domain company.email company.phone company.industry company.city "
    "company.region company.country company.owner. Figures: days_in_stage "
    "days_since_created days_to_close lines_count (the deal's); interactions_30d "
    "interactions_90d days_since_last_interaction purchases_total purchases_count "
    "open_followups overdue_followups (its contact's)."
)


@app.command("rules", epilog=RULES_EPILOG)
def rules(
    ctx: typer.Context,
    show_: Annotated[
        bool, typer.Option("--show", help="Print the rules in force (the default).")
    ] = False,
    edit: Annotated[
        bool, typer.Option("--edit", help="Edit them in $EDITOR; checked on save.")
    ] = False,
    check: Annotated[
        str | None, typer.Option("--check", metavar="FILE", help="Check a rules file ('-': stdin).")
    ] = None,
    load: Annotated[
        str | None,
        typer.Option("--load", metavar="FILE", help="Replace the rules with a file's and rescore."),
    ] = None,
) -> None:
    """The scoring rules (TOML): print, edit, check a file, or load one."""
    from minicrm.errors import UserError
    from minicrm.services import scoring

    if sum((show_, edit, check is not None, load is not None)) > 1:
        raise UserError("choose one of --show, --edit, --check FILE and --load FILE")
    if check is not None:
        print(f"ok: {len(scoring.parse_rules(_read_rules_file(check)))} rules")
    elif load is not None:
        text = _read_rules_file(load)
        with unit_of_work(ctx) as session:
            loaded = scoring.load_rules(session, text)
        _report_loaded(loaded)
    elif edit:
        _edit_rules(ctx)
    else:
        with unit_of_work(ctx, write=False) as session:
            text = scoring.rules_text(session)
        print(text, end="" if text.endswith("\n") else "\n")


def _report_loaded(loaded) -> None:
    from minicrm.commands import _output as out

    done = loaded.recomputed
    out.info(f"loaded {loaded.rules} rules; {done.changed} of {done.scored} scores changed")


def _read_rules_file(path: str) -> str:
    import sys
    from pathlib import Path

    from minicrm.errors import UserError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"no file {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _edit_rules(ctx: typer.Context) -> None:
    """Open the rules in $EDITOR; a mistake re-opens them (on a terminal)
    with the error on top, so nothing typed is lost; nothing is saved
    until they are valid."""
    from minicrm.commands import _output as out
    from minicrm.commands._editor import run_editor
    from minicrm.errors import UserError
    from minicrm.services import scoring

    with unit_of_work(ctx, write=False) as session:
        original = scoring.rules_text(session)
    text = original
    while True:
        text = _without_errors(run_editor(text))
        if text == original or not text.strip():
            out.info("no changes")
            return
        try:
            with unit_of_work(ctx) as session:
                loaded = scoring.load_rules(session, text)
        except UserError as exc:
            if not out.interactive():
                raise
            text = f"{ERROR_PREFIX} {exc.message}\n{text}"
            continue
        _report_loaded(loaded)
        return


def _without_errors(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith(ERROR_PREFIX))


# `crm score backtest` comes with the history model, when this build has it.
if importlib.util.find_spec("minicrm.commands.score_history") is not None:
    try:
        from minicrm.commands import score_history
    except ImportError:  # pragma: no cover - a half-installed build
        pass
    else:
        score_history.register_backtest(app)
