"""The product catalogue: add, list, edit, remove (archive when in use).

A product's name is unique by its key: folded (case, accents) with every
space squeezed out, so "GTX Pro", "gtx pro" and "GTXPro" are one product.
"""

import re
from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import DealLine, Product, ProductRead
from minicrm.services.records.validation import clean_text, money_to_cents
from minicrm.text import fold

CLOSEST_LIMIT = 5


def name_key(name: str | None) -> str:
    """The key a product is known by: folded, with all whitespace removed."""
    return re.sub(r"\s+", "", fold(name or ""))


def read_product(product: Product) -> ProductRead:
    return ProductRead.model_validate(product, from_attributes=True)


def _clean_name(name: str | None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise ValidationError("a product needs a name", field="name")
    return text


def _price(price, *, required: bool) -> int | None:
    if price is None or str(price).strip() == "":
        if required:
            raise ValidationError("a product needs a price (--price, e.g. 12.50)", field="price")
        return None
    return money_to_cents(price, field="price")


def _check_free(session: Session, key: str, name: str, *, except_id: int | None = None) -> None:
    other = find_product(session, key)
    if other is not None and other.id != except_id:
        raise UserError(
            f"a product called {other.name!r} (#{other.id}) already exists; "
            "names differing only by case or spacing are the same product"
        )


def add_product(
    session: Session,
    name: str,
    *,
    price,
    code: str | None = None,
    now: datetime | None = None,
) -> ProductRead:
    now = now or datetime.now(UTC)
    name = _clean_name(name)
    key = name_key(name)
    _check_free(session, key, name)
    product = Product(
        name=name,
        name_key=key,
        code=clean_text(code),
        price_cents=_price(price, required=True),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.flush()
    return read_product(product)


def list_products(session: Session, *, include_archived: bool = False) -> list[ProductRead]:
    query = select(Product).order_by(Product.name_key, Product.id)
    if not include_archived:
        query = query.where(Product.active.is_(True))
    return [read_product(p) for p in session.execute(query).scalars()]


def find_product(session: Session, key_or_name: str) -> Product | None:
    """The product (active or archived) whose name key matches."""
    key = name_key(key_or_name)
    if not key:
        return None
    return session.execute(select(Product).where(Product.name_key == key)).scalar()


def closest_product_names(session: Session, name: str, limit: int = CLOSEST_LIMIT) -> list[str]:
    """Active product names most like `name`, best first."""
    from rapidfuzz import fuzz, process

    names = list(session.execute(select(Product.name).where(Product.active.is_(True))).scalars())
    if not names:
        return []
    folded = [fold(n) for n in names]
    found = process.extract(fold(name), folded, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    if not found:  # nothing alike: name a few, so the user sees what exists
        found = process.extract(fold(name), folded, scorer=fuzz.WRatio, limit=3)
    return [names[index] for _choice, _score, index in found]


def resolve_product(session: Session, ref: str | int) -> Product:
    """A product by id (`3`, `#3`) or by name (case and spacing ignored)."""
    text = str(ref).strip()
    product = find_product(session, text)
    digits = text.removeprefix("#")
    if product is None and digits.isascii() and digits.isdigit() and len(digits) <= 18:
        product = session.get(Product, int(digits))
    if product is None:
        near = closest_product_names(session, text)
        hint = f"; closest: {', '.join(near)}" if near else "; see `crm product list --all`"
        raise NotFoundError(f"no product {text!r}{hint}")
    return product


def edit_product(
    session: Session,
    ref: str | int,
    *,
    name: str | None = None,
    code: str | None = None,
    price=None,
    now: datetime | None = None,
) -> ProductRead:
    """Rename, recode or reprice; existing deal lines keep their own prices."""
    now = now or datetime.now(UTC)
    product = resolve_product(session, ref)
    if name is None and code is None and price is None:
        raise UserError("nothing to change; give --name, --code or --price")
    if name is not None:
        name = _clean_name(name)
        key = name_key(name)
        _check_free(session, key, name, except_id=product.id)
        product.name, product.name_key = name, key
    if code is not None:
        product.code = clean_text(code)
    if price is not None:
        product.price_cents = _price(price, required=True)
    product.updated_at = now
    session.flush()
    return read_product(product)


def remove_product(
    session: Session, ref: str | int, *, now: datetime | None = None
) -> tuple[ProductRead, bool]:
    """Delete a product, or archive it (active=false) when a deal line uses
    it. Returns the product and whether it was archived."""
    now = now or datetime.now(UTC)
    product = resolve_product(session, ref)
    used = session.execute(select(exists().where(DealLine.product_id == product.id))).scalar()
    read = read_product(product)
    if used:
        product.active = False
        product.updated_at = now
        session.flush()
        return read_product(product), True
    session.execute(delete(Product).where(Product.id == product.id))
    session.expunge(product)
    return read, False
