"""`crm company`: the organisations people work for and that buy."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

app = typer.Typer(help="Companies: their people, deals and won revenue.", no_args_is_help=True)

TTY_LIST_LIMIT = 100
Ref = Annotated[str, typer.Argument(metavar="REF", help="Id, or part of the company's name.")]
Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
Domain = Annotated[str | None, typer.Option("--domain", help="Web domain, e.g. lopez.es.")]
Email = Annotated[str | None, typer.Option("--email")]
Phone = Annotated[str | None, typer.Option("--phone", help="Phone; stored as E.164 when valid.")]
Industry = Annotated[str | None, typer.Option("--industry")]
City = Annotated[str | None, typer.Option("--city")]
Region = Annotated[str | None, typer.Option("--region")]
Country = Annotated[str | None, typer.Option("--country")]
Owner = Annotated[str | None, typer.Option("--owner", help="Salesperson responsible.")]
Note = Annotated[str | None, typer.Option("--note", help="Free-text notes.")]
Sets = Annotated[
    list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Custom field; repeatable.")
]
KeepPhone = Annotated[
    bool, typer.Option("--force", help="Keep a phone number that cannot exist, as typed.")
]

LIST_HEADER = ["ID", "Name", "Domain", "Industry", "City", "People", "Open deals", "Owner", "Tags"]
CSV_COLUMNS = [
    "id", "name", "domain", "email", "phone", "industry", "city", "region", "country", "owner",
    "tags", "notes", "extra", "people_count", "open_deals", "created_at", "updated_at",
]  # fmt: skip
PROFILE_FIELDS = [
    ("domain", "Domain"), ("email", "Email"), ("phone", "Phone"), ("industry", "Industry"),
    ("city", "City"), ("region", "Region"), ("country", "Country"), ("owner", "Owner"),
    ("notes", "Notes"),
]  # fmt: skip


def _assignments(items: list[str] | None) -> dict[str, str]:
    from minicrm.services.records.validation import parse_assignment

    return dict(parse_assignment(item) for item in items or [])


def _money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents / 100:,.2f}".removesuffix(".00")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The company's name; unique among live ones.")],
    domain: Domain = None,
    email: Email = None,
    phone: Phone = None,
    industry: Industry = None,
    city: City = None,
    region: Region = None,
    country: Country = None,
    owner: Owner = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag; repeatable.")] = None,
    note: Note = None,
    set_: Sets = None,
    force: KeepPhone = False,
    json_: Json = False,
) -> None:
    """Create a company and print its id."""
    from minicrm.commands import _output as out
    from minicrm.services.companies.companies import CompanyInput, add_company

    data = CompanyInput(
        name=name, domain=domain, email=email, phone=phone, industry=industry, city=city,
        region=region, country=country, owner=owner, notes=note, tags=tag or [],
        extra=_assignments(set_),
    )  # fmt: skip
    with unit_of_work(ctx) as session:
        company = add_company(session, data, force=force)
    if json_:
        out.print_json(company.to_json())
    else:
        print(company.id)


@app.command("list")
def list_(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Part of the name, domain or email.")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only companies with this tag.")] = None,
    owner: Owner = None,
    industry: Industry = None,
    sort: Annotated[
        str, typer.Option("--sort", help="name, created, updated or revenue (won, highest first).")
    ] = "name",
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N companies.")] = None,
    json_: Json = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Write CSV to stdout.")] = False,
) -> None:
    """Companies with their people and open deals, as a table (or JSON/CSV)."""
    from minicrm.commands import _output as out
    from minicrm.services.companies.reading import CompanyFilter, list_companies

    if json_ and csv_:
        out.fail("choose one of --json and --csv")
    filters = CompanyFilter(search=search, tag=tag, owner=owner, industry=industry)
    on_screen = not (json_ or csv_) and out.stdout_is_tty()
    shown = limit if limit is not None or not on_screen else TTY_LIST_LIMIT + 1
    with unit_of_work(ctx, write=False) as session:
        companies = list_companies(session, filters, sort=sort, limit=shown)
    if json_:
        out.print_json_array(c.to_json() for c in companies)
        return
    if csv_:
        out.print_csv(CSV_COLUMNS, ([c.to_json()[k] for k in CSV_COLUMNS] for c in companies))
        return
    more = limit is None and on_screen and len(companies) > TTY_LIST_LIMIT
    rows = (
        [
            str(c.id), c.name, c.domain or "", c.industry or "", c.city or "",
            str(c.people_count), str(c.open_deals), c.owner or "", ", ".join(c.tags),
        ]
        for c in (companies[:TTY_LIST_LIMIT] if more else companies)
    )  # fmt: skip
    out.print_table(LIST_HEADER, rows)
    if more:
        out.info(f"showing the first {TTY_LIST_LIMIT}; use --limit N or --csv for more")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Ref,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Timeline entries to show.")] = 20,
    json_: Json = False,
) -> None:
    """A company's fields, people, open deals, won revenue and its people's timeline."""
    from minicrm.commands import _output as out
    from minicrm.services.profiles.company import company_profile

    with unit_of_work(ctx, write=False) as session:
        profile = company_profile(session, ref, timeline_limit=limit)
        from minicrm.commands._values import zone_of as _zone

        zone = _zone(session)
    if json_:
        out.print_json(profile.to_json())
        return
    print(_profile_text(profile, zone))


def _profile_text(profile, zone) -> str:
    from minicrm.dates import format_local

    company = profile.company
    lines = [f"#{company.id}  {company.name}"]
    for name, label in PROFILE_FIELDS:
        value = getattr(company, name)
        if value not in (None, ""):
            lines.append(f"  {label + ':':<13}{value}")
    if company.tags:
        lines.append(f"  {'Tags:':<13}{', '.join(company.tags)}")
    for key, value in company.extra.items():
        lines.append(f"  {key + ':':<13}{value}")
    lines.append(f"  {'Won revenue:':<13}{_money(profile.won_revenue_cents)}")
    lines.append("")
    lines.append(f"People ({len(profile.people)}):" if profile.people else "People: none")
    for person in profile.people:
        role = f", {person.title}" if person.title else ""
        reach = f"  {person.email or person.phone}" if person.email or person.phone else ""
        lines.append(f"  #{person.id} {person.name}{role}{reach}")
    lines.append("")
    lines.append(f"Open deals ({len(profile.deals)}):" if profile.deals else "Open deals: none")
    for deal in profile.deals:
        value = _money(deal.value_cents) or "-"
        close = deal.expected_close.isoformat() if deal.expected_close else "no close date"
        lines.append(f"  #{deal.id} {deal.title}  {deal.stage}  {value}  {close}")
    lines.append("")
    lines.append("Timeline:" if profile.timeline else "Timeline: nothing yet")
    for entry in profile.timeline:
        i = entry.interaction
        amount = f" ({_money(i.amount_cents)})" if i.amount_cents is not None else ""
        text = f"{i.kind}{amount}: {i.summary or ''}".rstrip(": ")
        lines.append(f"  {format_local(i.at, zone)}  {entry.contact_name}  {text}")
    return "\n".join(lines)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="Rename (its people follow).")] = None,
    domain: Domain = None,
    email: Email = None,
    phone: Phone = None,
    industry: Industry = None,
    city: City = None,
    region: Region = None,
    country: Country = None,
    owner: Owner = None,
    note: Note = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="+tag adds, -tag removes; repeatable.")
    ] = None,
    set_: Sets = None,
    force: KeepPhone = False,
    json_: Json = False,
) -> None:
    """Change fields (an empty value clears one)."""
    from minicrm.commands import _output as out
    from minicrm.services.companies.companies import CompanyChanges, update_company

    given = {
        "name": name, "domain": domain, "email": email, "phone": phone, "industry": industry,
        "city": city, "region": region, "country": country, "owner": owner, "notes": note,
    }  # fmt: skip
    changes = CompanyChanges(
        fields={k: v for k, v in given.items() if v is not None},
        set_extra=_assignments(set_),
        keep_impossible_phone=force,
    )
    for item in tag or []:
        if item.startswith("-"):
            changes.remove_tags.append(item[1:])
        else:
            changes.add_tags.append(item.removeprefix("+"))
    if changes.is_empty():
        out.fail("nothing to change: give a field, e.g. --city Oslo (see --help)")
    with unit_of_work(ctx) as session:
        company = update_company(session, ref, changes)
    if json_:
        out.print_json(company.to_json())
    else:
        out.info(f"updated #{company.id} {company.name}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_: Json = False,
) -> None:
    """Move a company to the trash; its people and deals keep their link."""
    from minicrm.commands import _output as out
    from minicrm.services.companies.companies import trash_company
    from minicrm.services.companies.reading import get_company

    if not yes and out.interactive():
        with unit_of_work(ctx, write=False) as session:
            company = get_company(session, ref)
        if not typer.confirm(f"Move #{company.id} {company.name} to the trash?", default=False):
            out.fail("nothing deleted", 1)
    with unit_of_work(ctx) as session:
        company = trash_company(session, ref)
    if json_:
        out.print_json(company.to_json())
        return
    out.info(
        f"moved #{company.id} {company.name} to the trash (undo: crm company restore {company.id})"
    )


@app.command("restore")
def restore(ctx: typer.Context, ref: Ref, json_: Json = False) -> None:
    """Take a company back out of the trash."""
    from minicrm.commands import _output as out
    from minicrm.services.companies.companies import restore_company

    with unit_of_work(ctx) as session:
        company = restore_company(session, ref)
    if json_:
        out.print_json(company.to_json())
        return
    out.info(f"restored #{company.id} {company.name}")
