"""`crm cadence`: stay in touch with a contact, or everyone with a tag."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

app = typer.Typer(help="Stay in touch: how often a contact or a tag should hear from you.")

OptionalRef = Annotated[
    str | None, typer.Argument(metavar="[REF]", help="Id, exact email, or part of the name.")
]
Tag = Annotated[str | None, typer.Option("--tag", help="Everyone with this tag.")]
Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]


@app.command("set")
def set_(
    ctx: typer.Context,
    first: Annotated[
        str, typer.Argument(metavar="REF|EVERY", help="The contact, or EVERY with --tag.")
    ],
    every: Annotated[
        str | None, typer.Argument(metavar="[EVERY]", help="e.g. 30d, 2w, 3 months.")
    ] = None,
    tag: Tag = None,
    json_: Json = False,
) -> None:
    """`crm cadence set REF 30d` or `crm cadence set --tag vip 30d`."""
    from minicrm.commands import _output as out
    from minicrm.services.followups.cadence import set_cadence

    ref, every = (None, first) if tag and every is None else (first, every)
    if every is None:
        out.fail("say how often, e.g. `crm cadence set maria 30d`")
    with unit_of_work(ctx) as session:
        cadence = set_cadence(session, every, ref=ref, tag=tag)
    if json_:
        out.print_json(cadence.to_json())
        return
    out.info(f"{_target(cadence)}: stay in touch every {cadence.every_days} days")


@app.command("list")
def list_(
    ctx: typer.Context,
    json_: Json = False,
) -> None:
    """Every cadence."""
    from minicrm.commands import _output as out
    from minicrm.services.followups.cadence import list_cadences

    with unit_of_work(ctx, write=False) as session:
        cadences = list_cadences(session)
    if json_:
        out.print_json([c.to_json() for c in cadences])
        return
    out.print_table(["For", "Every"], ([_target(c), f"{c.every_days} days"] for c in cadences))


@app.command("rm")
def rm(
    ctx: typer.Context, ref: OptionalRef = None, tag: Tag = None, json_: Json = False
) -> None:
    """Remove the cadence of a contact (REF) or of --tag; --json prints the one removed."""
    from minicrm.commands import _output as out
    from minicrm.services.followups.cadence import remove_cadence

    with unit_of_work(ctx) as session:
        gone = remove_cadence(session, ref=ref, tag=tag)
    if json_:
        out.print_json(gone.to_json())
        return
    out.info(f"removed the cadence of {_target(gone)}")


def _target(cadence) -> str:
    return f"tag {cadence.tag}" if cadence.tag else f"#{cadence.contact_id} {cadence.contact_name}"
