"""`crm demo`: fill a database with realistic shop data to try things on."""

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
) -> None:
    """Add demo contacts, their companies and deals (with product lines), and a year of
    interactions, follow-ups and funnel history."""
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
        f"and {summary.stage_changes} stage changes"
    )


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
