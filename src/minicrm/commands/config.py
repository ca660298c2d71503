"""`crm config`: settings kept in the database, shared by every front end."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

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
def get(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Print one setting's value (nothing when unset)."""
    from minicrm.services.records.config import get_setting

    with unit_of_work(ctx, write=False) as session:
        value = get_setting(session, key)
    print(value or "")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name.")],
    value: Annotated[str, typer.Argument(help="New value.")],
    move_to: Annotated[
        str | None,
        typer.Option(
            "--move-to",
            help="With stages: where contacts in a dropped or renamed stage go.",
        ),
    ] = None,
) -> None:
    """Change a setting (validated before it is stored)."""
    from minicrm.commands import _output as out
    from minicrm.errors import UserError
    from minicrm.services.deals.stages import change_stages
    from minicrm.services.records.config import set_setting

    if move_to is not None and key != "stages":
        raise UserError("--move-to only goes with `crm config set stages …`")
    with unit_of_work(ctx) as session:
        if key == "stages":
            stored = change_stages(session, value, move_to=move_to)
        else:
            stored = set_setting(session, key, value)
    out.info(f"{key} = {stored}")


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
