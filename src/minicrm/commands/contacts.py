"""Contacts from the command line: add, list, show, edit, search (the trash is
trash.py)."""

from operator import itemgetter
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work
from minicrm.commands._values import assignments, mine_or, money, zone_of

TTY_LIST_LIMIT = 100  # a table on screen stops here unless --limit says otherwise

# Options shared by `add` and `edit`; an empty string given to edit clears a field.
Email = Annotated[str | None, typer.Option("--email", help="Email address.")]
Phone = Annotated[str | None, typer.Option("--phone", help="Phone; stored as E.164 when valid.")]
Company = Annotated[str | None, typer.Option("--company")]
Title = Annotated[str | None, typer.Option("--title", help="Role, e.g. 'buyer'.")]
City = Annotated[str | None, typer.Option("--city")]
Region = Annotated[str | None, typer.Option("--region")]
Country = Annotated[str | None, typer.Option("--country")]
Industry = Annotated[str | None, typer.Option("--industry")]
Source = Annotated[str | None, typer.Option("--source", help="Lead source: referral, walk-in…")]
Stage = Annotated[
    str | None, typer.Option("--stage", help="Funnel stage (see `crm config get stages`).")
]
Value = Annotated[str | None, typer.Option("--value", help="Expected deal value, e.g. 1250.50.")]
Owner = Annotated[str | None, typer.Option("--owner", help="Salesperson responsible.")]
Note = Annotated[str | None, typer.Option("--note", help="Free-text notes.")]
LostReason = Annotated[
    str | None, typer.Option("--lost-reason", help="Why a lost contact was lost.")
]
Sets = Annotated[
    list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Custom field; repeatable.")
]
Given = Annotated[
    str | None,
    typer.Option("--given", help="Given name(s) as typed, with --family: the vCard's N."),
]
Family = Annotated[
    str | None,
    typer.Option("--family", help="Family name(s) as typed, e.g. 'Rodríguez Moreno'."),
]
Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
Ref = Annotated[str, typer.Argument(metavar="REF", help="Id, exact email, or part of the name.")]

PROFILE_FIELDS = [
    ("email", "Email"), ("phone", "Phone"), ("company", "Company"), ("title", "Title"),
    ("city", "City"), ("region", "Region"), ("country", "Country"), ("industry", "Industry"),
    ("source", "Source"), ("stage", "Stage"), ("value", "Value"), ("owner", "Owner"),
    ("lost_reason", "Lost reason"), ("score", "Score"), ("notes", "Notes"),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    for command in (add, list_, show, edit, search):
        name = "list" if command is list_ else command.__name__
        app.command(name)(command)


def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Full name, in any script.")],
    given_name: Given = None,
    family_name: Family = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    city: City = None,
    region: Region = None,
    country: Country = None,
    industry: Industry = None,
    source: Source = None,
    stage: Stage = None,
    value: Value = None,
    owner: Owner = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag; repeatable.")] = None,
    note: Note = None,
    lost_reason: LostReason = None,
    set_: Sets = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Add even if it looks like a duplicate or its phone number cannot exist.",
        ),
    ] = False,
    no_deal: Annotated[
        bool, typer.Option("--no-deal", help="A person only: open no first deal.")
    ] = False,
    json_: Json = False,
) -> None:
    """Create a contact (and its first deal, unless --no-deal) and print its id."""
    from minicrm.commands import _output as out
    from minicrm.errors import DuplicateError
    from minicrm.services.contacts.editing import ContactInput, add_contact

    data = ContactInput(
        name=name, email=email, phone=phone, company=company, title=title, city=city,
        region=region, country=country, industry=industry, source=source, stage=stage,
        value=value, owner=_you() if owner is None else owner, notes=note,
        lost_reason=lost_reason, tags=tag or [], extra=assignments(set_), no_deal=no_deal,
        given=given_name, family=family_name,
    )  # fmt: skip
    try:
        with unit_of_work(ctx) as session:
            contact = add_contact(session, data, force=force)
    except DuplicateError as exc:
        if not out.interactive():
            raise
        out.warn(exc.message.split(" (use --force")[0])
        if not typer.confirm("Add it anyway?", default=False):
            out.fail("not added", 1)
        with unit_of_work(ctx) as session:
            contact = add_contact(session, data, force=True)
    if json_:
        out.print_json(contact.to_json())
    else:
        print(contact.id)


def list_(
    ctx: typer.Context,
    stage: Stage = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only contacts with this tag.")] = None,
    owner: Owner = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only yours (owner = CRM_USER, else your login).")
    ] = False,
    source: Source = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Full-text filter.")] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="score, name, created, updated or next (follow-up).")
    ] = "name",
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N contacts.")] = None,
    json_: Json = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Write CSV to stdout.")] = False,
) -> None:
    """Contacts as a table (or JSON/CSV), filtered and sorted."""
    from minicrm.commands import _output as out
    from minicrm.services.contacts.listing import ContactFilter, count_contacts, list_contacts

    if json_ and csv_:
        out.fail("choose one of --json and --csv")
    owner = mine_or(owner, mine)
    filters = ContactFilter(stage=stage, tag=tag, owner=owner, source=source, search=search)
    on_screen = not (json_ or csv_) and out.stdout_is_tty()
    shown_limit = limit if limit is not None or not on_screen else TTY_LIST_LIMIT
    with unit_of_work(ctx, write=False) as session:
        contacts = list_contacts(session, filters, sort=sort, limit=shown_limit)
        if json_:
            out.print_json_array(c.to_json() for c in contacts)
        elif csv_:
            columns = itemgetter(*CSV_COLUMNS)
            out.print_csv(CSV_COLUMNS, (columns(c.to_json()) for c in contacts))
        else:
            zone = zone_of(session)
            out.print_table(LIST_HEADER, (_list_row(c, zone) for c in contacts))
            if limit is None and on_screen:
                total = count_contacts(session, filters)
                if total > TTY_LIST_LIMIT:
                    out.info(
                        f"showing {TTY_LIST_LIMIT} of {total}; use --limit N or --csv for more"
                    )


CSV_COLUMNS = [
    "id", "name", "email", "phone", "company", "title", "city", "region", "country",
    "industry", "source", "stage", "value", "owner", "tags", "notes", "extra", "score",
    "lost_reason", "created_at", "updated_at",
]  # fmt: skip
LIST_HEADER = ["ID", "Name", "Company", "Stage", "Value", "Score", "Owner", "Tags"]


def _list_row(contact, _zone) -> list[str]:
    return [
        str(contact.id),
        contact.name,
        contact.company or "",
        contact.stage or "-",
        money(contact.value_cents),
        "-" if contact.score is None else str(contact.score),
        contact.owner or "",
        ", ".join(contact.tags),
    ]


def show(
    ctx: typer.Context,
    ref: Ref,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Timeline entries to show.")] = 20,
    json_: Json = False,
) -> None:
    """A contact's profile, tags, score, timeline and open follow-ups."""
    from minicrm.commands import _output as out
    from minicrm.services.profiles.contact import contact_profile

    with unit_of_work(ctx, write=False) as session:
        profile = contact_profile(session, ref, timeline_limit=limit)
        zone = zone_of(session)
    if json_:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        out.print_json(
            {
                **profile.contact.to_json(),
                "timeline": [entry.to_json() for entry in profile.timeline],
                "followups": [f.to_json(now) for f in profile.open_followups],
                "deals": [d.to_json() for d in profile.deals],
            }
        )
        return
    _print_profile(profile, zone)


def _print_profile(profile, zone) -> None:
    from minicrm.dates import format_local

    contact = profile.contact
    lines = [f"#{contact.id}  {contact.name}"]
    for field, label in PROFILE_FIELDS:
        value = money(contact.value_cents) if field == "value" else getattr(contact, field)
        if value not in (None, ""):
            lines.append(f"  {label + ':':<13}{value}")
    if contact.tags:
        lines.append(f"  {'Tags:':<13}{', '.join(contact.tags)}")
    for key, value in contact.extra.items():
        lines.append(f"  {key + ':':<13}{value}")
    lines.append(f"  {'Created:':<13}{format_local(contact.created_at, zone)}")
    lines.append("")
    lines.append("Deals:" if profile.deals else "Deals: none")
    for deal in profile.deals:
        close = f"  close {deal.expected_close.isoformat()}" if deal.expected_close else ""
        value = f"  {money(deal.value_cents)}" if deal.value_cents is not None else ""
        lines.append(f"  #{deal.id} {deal.title}  {deal.stage}{value}{close}")
    lines.append("")
    lines.append("Follow-ups:" if profile.open_followups else "Follow-ups: none open")
    for f in profile.open_followups:
        lines.append(f"  [{f.id}] {format_local(f.due_at, zone)}  {f.note or ''}".rstrip())
    lines.append("")
    lines.append("Timeline:" if profile.timeline else "Timeline: nothing yet")
    block = None
    for entry in profile.timeline:
        if entry.merged_from_id != block:
            block = entry.merged_from_id
            lines.append(f"  from #{block} {entry.merged_from_name} (merged into this contact):")
        indent = "    " if block is not None else "  "
        lines.append(f"{indent}{format_local(entry.at, zone)}  {_timeline_text(entry)}")
    print("\n".join(lines))


def _timeline_text(entry) -> str:
    if entry.interaction is not None:
        i = entry.interaction
        amount = f" ({money(i.amount_cents)})" if i.amount_cents is not None else ""
        return f"{i.kind}{amount}: {i.summary or ''}".rstrip(": ")
    change = entry.stage_change
    if change.from_stage is None:
        return f"created in {change.to_stage}"
    reason = f" ({change.reason})" if change.reason else ""
    return f"stage {change.from_stage} → {change.to_stage}{reason}"


def edit(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name")] = None,
    given_name: Given = None,
    family_name: Family = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    city: City = None,
    region: Region = None,
    country: Country = None,
    industry: Industry = None,
    source: Source = None,
    stage: Stage = None,
    value: Value = None,
    owner: Owner = None,
    note: Note = None,
    lost_reason: LostReason = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="+tag adds, -tag removes; repeatable.")
    ] = None,
    set_: Sets = None,
    force: Annotated[
        bool, typer.Option("--force", help="Keep a phone number that cannot exist, as typed.")
    ] = False,
    json_: Json = False,
) -> None:
    """Change fields (an empty value clears one); with no option, edit as TOML in $EDITOR."""
    from minicrm.commands import _output as out
    from minicrm.services.contacts.editing import ContactChanges, update_contact

    given = {
        "name": name, "email": email, "phone": phone, "company": company, "title": title,
        "city": city, "region": region, "country": country, "industry": industry,
        "source": source, "stage": stage, "value": value, "owner": owner, "notes": note,
        "lost_reason": lost_reason,
    }  # fmt: skip
    changes = ContactChanges(
        fields={k: v for k, v in given.items() if v is not None},
        set_extra=assignments(set_),
        stage_reason=lost_reason,
        keep_impossible_phone=force,
        given=given_name,
        family=family_name,
    )
    for item in tag or []:
        if item.startswith("-"):
            changes.remove_tags.append(item[1:])
        else:
            changes.add_tags.append(item.removeprefix("+"))
    if changes.is_empty():
        from minicrm.commands._editor import edit_in_editor

        contact = edit_in_editor(ctx, ref)
        if contact is None:
            out.info("no changes")
            return
    else:
        with unit_of_work(ctx) as session:
            contact = update_contact(session, ref, changes)
    if json_:
        out.print_json(contact.to_json())
    else:
        out.info(f"updated #{contact.id} {contact.name}")


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to find; prefixes match (mar → Maria).")],
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    json_: Json = False,
) -> None:
    """Full-text search over names, emails, companies, notes and interactions."""
    from minicrm.commands import _output as out
    from minicrm.dates import format_local
    from minicrm.services.contacts.search import search_contacts

    with unit_of_work(ctx, write=False) as session:
        hits = search_contacts(session, query, limit=limit)
        zone = None if json_ else zone_of(session)
    if json_:
        out.print_json(
            [
                {**h.contact.to_json(), "matched_in": h.matched_in, "matched_text": h.matched_text}
                for h in hits
            ]
        )
        return
    if not hits:
        out.info(f"nothing matches {query!r}")
        return

    def place(hit) -> str:
        # The field that matched, or the interaction's kind and local date.
        snippet = hit.snippet
        if snippet is None:
            return hit.matched_in
        if snippet.at is None:
            return snippet.field
        return f"{snippet.kind} {format_local(snippet.at, zone, with_time=False)}"

    header = ["ID", "Name", "Company", "Stage", "Matched in", "Match"]
    rows = [
        [
            str(h.contact.id),
            h.contact.name,
            h.contact.company or "",
            h.contact.stage or "-",
            place(h),
            h.matched_text,
        ]
        for h in hits
    ]
    if out.stdout_is_tty():  # the matched words stand out on screen
        for row, hit in zip(rows, hits, strict=True):
            row[-1] = _marked(hit.snippet.parts() if hit.snippet else [])
    # What matched is what was searched for: the company goes first when narrow.
    out.print_table(header, rows, priority={"Match": out.KEEP, "Company": out.LOWEST})


def _marked(pieces):
    """A snippet's pieces as one rich Text, the matched ones bold and reversed."""
    from rich.text import Text

    from minicrm.commands import _output as out

    return Text.assemble(
        *((out.table_cell(piece), "bold reverse" if marked else "") for piece, marked in pieces)
    )


def _you() -> str:
    """Who runs the command (CRM_USER, else the login name): a contact you add is
    yours unless --owner says whose, so `crm list --mine` finds it."""
    from minicrm.settings import current_user

    return current_user()
