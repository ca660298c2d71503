"""`crm product …`: the catalogue deal lines draw on."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

app = typer.Typer(help="Products: the catalogue deal lines use (add, list, edit, rm).")

Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
ProductRef = Annotated[
    str, typer.Argument(metavar="ID|NAME", help="The product's id or name (case/spacing ignored).")
]


def _money(cents) -> str:
    from minicrm.commands._values import money

    return money(cents) or "0"


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Product name; unique ignoring case and spaces.")],
    price: Annotated[str, typer.Option("--price", help="Unit price, e.g. 450 or 1,250.50.")],
    code: Annotated[str | None, typer.Option("--code", help="Your code or SKU.")] = None,
    json_: Json = False,
) -> None:
    """Add a product to the catalogue; prints its id."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.products import add_product

    with unit_of_work(ctx) as session:
        product = add_product(session, name, price=price, code=code)
    if json_:
        out.print_json(product.to_json())
    else:
        print(product.id)


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Archived products too.")] = False,
    json_: Json = False,
) -> None:
    """The catalogue, by name (active products unless --all)."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.products import list_products

    with unit_of_work(ctx, write=False) as session:
        products = list_products(session, include_archived=all_)
    if json_:
        out.print_json([p.to_json() for p in products])
        return
    if not products:
        out.info("no products yet; add one with `crm product add NAME --price X`")
        return
    rows = (
        [str(p.id), p.name, p.code or "", _money(p.price_cents), "" if p.active else "archived"]
        for p in products
    )
    out.print_table(["ID", "Name", "Code", "Price", ""], rows)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: ProductRef,
    name: Annotated[str | None, typer.Option("--name")] = None,
    code: Annotated[str | None, typer.Option("--code", help="An empty value clears it.")] = None,
    price: Annotated[
        str | None, typer.Option("--price", help="New price; existing lines keep theirs.")
    ] = None,
    json_: Json = False,
) -> None:
    """Rename, recode or reprice a product."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.products import edit_product

    with unit_of_work(ctx) as session:
        product = edit_product(session, ref, name=name, code=code, price=price)
    if json_:
        out.print_json(product.to_json())
    else:
        out.info(f"updated product #{product.id} {product.name}")


@app.command("rm")
def rm(ctx: typer.Context, ref: ProductRef, json_: Json = False) -> None:
    """Delete a product; one that a deal line uses is archived instead."""
    from minicrm.commands import _output as out
    from minicrm.services.deals.products import remove_product

    with unit_of_work(ctx) as session:
        product, archived = remove_product(session, ref)
    if json_:
        out.print_json({**product.to_json(), "archived": archived, "deleted": not archived})
    elif archived:
        out.info(f"archived product #{product.id} {product.name} (deal lines use it)")
    else:
        out.info(f"deleted product #{product.id} {product.name}")
