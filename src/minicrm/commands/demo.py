"""`crm demo`: fill a database with realistic shop data to try things on, and
`crm demo --remove` to take it out again."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    contacts: Annotated[int, typer.Option("--contacts", min=1, help="How many contacts.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 1,
    force: Annotated[
        bool, typer.Option("--force", help="Add the demo data beside the contacts already here.")
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Take out again what `crm demo` added.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="--remove without asking for confirmation.")
    ] = False,
) -> None:
    """Add demo contacts, their companies and deals (with product lines), and a year of
    interactions, follow-ups and funnel history; --remove takes them out again."""
    from minicrm.errors import UserError

    given = [f"--{name}" for name in ("contacts", "seed", "force") if _given(ctx, name)]
    if remove and given:
        raise UserError(f"--remove takes no {' or '.join(given)}: it removes every demo run")
    if yes and not remove:
        raise UserError("--yes goes with --remove (adding demo data asks nothing)")
    if remove:
        _remove(ctx, yes)
    else:
        _add(ctx, contacts, seed, force)


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def _add(ctx: typer.Context, contacts: int, seed: int, force: bool) -> None:
    from minicrm.commands import _output as out
    from minicrm.services.demo.generate import generate_demo

    with unit_of_work(ctx) as session:
        if not force:
            _refuse_a_database_in_use(session)
        summary = generate_demo(session, contacts=contacts, seed=seed)
    out.info(
        f"added {summary.contacts} contacts, {summary.companies} companies, "
        f"{summary.deals} deals with {summary.deal_lines} lines, {summary.products} products, "
        f"{summary.interactions} interactions, {summary.followups} follow-ups "
        f"and {summary.stage_changes} stage changes (take them out again: crm demo --remove)"
    )


def _remove(ctx: typer.Context, yes: bool) -> None:
    """As `crm rm --purge`: ask at a terminal (default no), else insist on --yes."""
    from minicrm.commands import _output as out
    from minicrm.services.demo.removal import plan_demo_removal, remove_demo

    if not yes:
        with unit_of_work(ctx, write=False) as session:
            plan = plan_demo_removal(session)
        if not out.interactive():
            out.fail("--remove deletes the demo data for good; add --yes to confirm")
        question, *details = _described(plan, done=False)
        for line in details:
            out.info(line)
        if not typer.confirm(f"{question}?", default=False):
            out.fail("nothing removed", 1)
    with unit_of_work(ctx) as session:
        removal = remove_demo(session)
    for line in _described(removal, done=True):
        out.info(line)


NOUNS = {  # field -> (one, several)
    "contacts": ("contact", "contacts"), "companies": ("company", "companies"),
    "deals": ("deal", "deals"), "deal_lines": ("deal line", "deal lines"),
    "products": ("product", "products"), "tags": ("tag", "tags"),
    "interactions": ("interaction", "interactions"), "followups": ("follow-up", "follow-ups"),
    "stage_changes": ("stage change", "stage changes"), "tag_links": ("tag link", "tag links"),
    "cadences": ("cadence", "cadences"),
}  # fmt: skip


def _described(removal, *, done: bool) -> list[str]:
    """What goes (first line), what went with it, and what stays."""
    runs = "1 run" if removal.runs == 1 else f"{removal.runs} runs"
    gone = _listing({name: getattr(removal, name) for name in NOUNS})
    lines = [f"{'removed' if done else 'Remove'} the demo data ({runs} of crm demo): {gone}"]
    if removal.later:
        went = "went" if done else "go"
        lines.append(
            f"with the demo records {went} what was added to them since: {_listing(removal.later)}"
        )
    if removal.kept:
        lines.append(
            f"kept because your own records use them: {_listing(removal.kept)} of the demo"
        )
    return lines


def _listing(counts: dict[str, int]) -> str:
    parts = [f"{n} {NOUNS[name][n != 1]}" for name, n in counts.items() if n]
    if len(parts) < 2:
        return "".join(parts) or "nothing"
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _refuse_a_database_in_use(session) -> None:
    """Demo data mixed into real data is hard to take out again: ask for an
    empty database, or --force."""
    from sqlalchemy import func, select

    from minicrm.errors import UserError
    from minicrm.models import Company, Contact, Deal

    for model, noun in ((Contact, "contacts"), (Deal, "deals"), (Company, "companies")):
        count = session.execute(select(func.count()).select_from(model)).scalar_one()
        if count:
            raise UserError(
                f"this database already holds {count} {noun}; try the demo in its own "
                "database (crm --db demo.db demo), or add it here anyway with --force"
            )
