"""The contact trash from the command line: rm (or rm --purge), trash, restore."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work
from minicrm.commands._values import zone_of

Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
Ref = Annotated[str, typer.Argument(metavar="REF", help="Id, exact email, or part of the name.")]


def register(app: typer.Typer) -> None:
    for command in (rm, trash, restore):
        app.command(command.__name__)(command)


def rm(
    ctx: typer.Context,
    ref: Ref,
    purge: Annotated[
        bool, typer.Option("--purge", help="Delete for good, with its history.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_: Json = False,
) -> None:
    """Move a contact to the trash (or, with --purge, delete it for good)."""
    from minicrm.commands import _output as out
    from minicrm.services.contacts.trash import purge_contact, trash_contact
    from minicrm.services.records.contacts import get_contact

    if not yes:
        with unit_of_work(ctx, write=False) as session:
            contact = (
                _live_or_trashed(session, ref, get_contact) if purge else get_contact(session, ref)
            )
        if out.interactive():
            what = "Delete for good" if purge else "Move to the trash"
            if not typer.confirm(f"{what} #{contact.id} {contact.name}?", default=False):
                out.fail("nothing deleted", 1)
        elif purge:
            out.fail("--purge deletes for good; add --yes to confirm")
    with unit_of_work(ctx) as session:
        contact = purge_contact(session, ref) if purge else trash_contact(session, ref)
    if json_:  # the contact as it was when it went
        out.print_json(contact.to_json())
    elif purge:
        out.info(f"deleted #{contact.id} {contact.name} for good")
    else:
        out.info(
            f"moved #{contact.id} {contact.name} to the trash (undo: crm restore {contact.id})"
        )


def _live_or_trashed(session, ref, get_contact):
    from minicrm.errors import NotFoundError

    try:
        return get_contact(session, ref)
    except NotFoundError:
        return get_contact(session, ref, deleted=True)


def trash(ctx: typer.Context, json_: Json = False) -> None:
    """Contacts in the trash."""
    from minicrm.commands import _output as out
    from minicrm.dates import format_local
    from minicrm.services.contacts.trash import list_trash

    with unit_of_work(ctx, write=False) as session:
        contacts = list_trash(session)
        zone = zone_of(session)
    if json_:
        out.print_json([{**c.to_json(), "deleted_at": c.deleted_at.isoformat()} for c in contacts])
        return
    rows = (
        [str(c.id), c.name, c.company or "", format_local(c.deleted_at, zone)] for c in contacts
    )
    out.print_table(["ID", "Name", "Company", "Deleted"], rows)


def restore(ctx: typer.Context, ref: Ref, json_: Json = False) -> None:
    """Take a contact back out of the trash."""
    from minicrm.commands import _output as out
    from minicrm.services.contacts.trash import restore_contact

    with unit_of_work(ctx) as session:
        contact = restore_contact(session, ref)
    if json_:
        out.print_json(contact.to_json())
        return
    out.info(f"restored #{contact.id} {contact.name}")
