"""`crm config`: settings kept in the database, shared by every front end."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]

app = typer.Typer(help="Settings kept in the database (stages, currency, region…).")


@app.callback(invoke_without_command=True)
def config(ctx: typer.Context) -> None:
    """With no subcommand, list the settings."""
    if ctx.invoked_subcommand is None:
        list_(ctx)


@app.command("list")
def list_(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Every setting with its value."""
    from minicrm.commands import _output as out
    from minicrm.services.records.config import list_settings
    from minicrm.settings import KNOWN_SETTINGS

    with unit_of_work(ctx, write=False) as session:
        values = list_settings(session)
    if json_:
        out.print_json(values)
        return
    rows = ([key, _shown(key, value), KNOWN_SETTINGS[key][1]] for key, value in values.items())
    out.print_table(["Key", "Value", "Meaning"], rows)


@app.command("get")
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name.")],
    json_: Json = False,
) -> None:
    """Print one setting's value (nothing when unset)."""
    from minicrm.commands import _output as out
    from minicrm.services.records.config import get_setting

    with unit_of_work(ctx, write=False) as session:
        value = get_setting(session, key)
    if json_:
        out.print_json({"key": key, "value": value})
        return
    print(value or "")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name.")],
    value: Annotated[str, typer.Argument(help="New value.")],
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            metavar="OLD=NEW",
            help="With stages: OLD is now called NEW, keeping its deals and history (repeatable).",
        ),
    ] = None,
    move_to: Annotated[
        str | None,
        typer.Option(
            "--move-to",
            help="With stages: the stage that deals of dropped stages are merged into.",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Merge stages without asking.")] = False,
    json_: Json = False,
) -> None:
    """Change a setting (validated before it is stored)."""
    from minicrm.commands import _output as out
    from minicrm.errors import UserError
    from minicrm.services.records.config import set_setting

    for option, given in (("--rename", rename), ("--move-to", move_to is not None)):
        if given and key != "stages":
            raise UserError(f"{option} only goes with `crm config set stages …`")
    if key == "stages":
        renames = _rename_pairs(rename or [])
        _set_stages(ctx, value, renames=renames, move_to=move_to, yes=yes, json_=json_)
        return
    with unit_of_work(ctx) as session:
        stored = set_setting(session, key, value)
    if json_:
        out.print_json({"key": key, "value": stored})
    else:
        out.info(f"{key} = {stored}")


def _rename_pairs(options: list[str]) -> list[tuple[str, str]]:
    from minicrm.errors import UserError

    pairs = []
    for option in options:
        old, equals, new = option.partition("=")
        if not (equals and old.strip() and new.strip()):
            raise UserError(f"--rename takes OLD=NEW, e.g. --rename awareness=lead, not {option!r}")
        pairs.append((old, new))
    return pairs


def _set_stages(
    ctx: typer.Context, value: str, *, renames, move_to: str | None, yes: bool, json_: bool
) -> None:
    """Check first (reading), ask before stages are merged, then change them
    in one write transaction: nothing holds the write lock while a person
    thinks."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.stage_list import change_stages, plan_stages

    if not yes:
        with unit_of_work(ctx, write=False) as session:
            plan = plan_stages(session, value, move_to=move_to, renames=renames)
        if plan.moving:
            _confirm_merge(plan)
    with unit_of_work(ctx) as session:
        changed = change_stages(session, value, move_to=move_to, renames=renames)
    for name in changed.rules_missed:
        out.warn(f"scoring rule {name!r} still names a renamed stage; crm score rules --edit")
    if json_:
        out.print_json(changed.to_json())
        return
    plan = changed.plan
    out.info(f"stages = {changed.value}")
    for old, new in plan.renames.items():
        out.info(f"renamed {old} to {new}, with its {_deals(plan.renamed_deals[old])} and history")
    if plan.moving:
        out.info(
            f"moved {_deals(plan.moving_count)} in {', '.join(plan.moving)} into {plan.move_to}"
        )
    if changed.rules_renamed:
        named = ", ".join(repr(name) for name in changed.rules_renamed)
        out.info(f"scoring rules now name the new stages: {named}")


def _confirm_merge(plan) -> None:
    """Merging stages cannot be taken back by renaming: ask, or want --yes."""
    from minicrm.commands import _output as out

    question = f"move {_deals(plan.moving_count)} in {', '.join(plan.moving)} into {plan.move_to}?"
    if not out.interactive():
        out.fail(
            f"merging stages would {question.removesuffix('?')}; add --yes to confirm "
            "(--rename OLD=NEW keeps a stage under a new name instead)"
        )
    if not typer.confirm(question, default=False):
        out.fail("nothing changed", 1)


def _deals(count: int) -> str:
    return f"{count} deal{'' if count == 1 else 's'}"


def _shown(key: str, value: str | None) -> str:
    if key == "scoring_rules" and value:
        count = _rule_count(value)
        return f"{count} rule{'' if count == 1 else 's'} (crm score rules --show)"
    return value or ""


def _rule_count(text: str) -> int | str:
    """The rules as the TOML reader sees them (a [[rule]] in a comment is
    not one), as `crm score rules --check` counts them."""
    import tomllib

    try:
        rules = tomllib.loads(text).get("rule", [])
    except tomllib.TOMLDecodeError:
        return "unreadable"
    return len(rules) if isinstance(rules, list) else "unreadable"
