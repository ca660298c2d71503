"""Deal lines: the `--line` spec, adding and removing lines, and a deal's
value as the sum of its lines.

Spec: `PRODUCT x QTY [@ PRICE] [-DISCOUNT%]`, e.g. `GTX Pro x 2`,
`Widget x 1.5 @ 12.50 -10%`, `Delivery x 1 @ 20`. `x QTY` may be left out
(quantity 1). A name that is no product is a free-text line when the spec
gives a price, else an error naming the closest products.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import Deal, DealLine
from minicrm.services.records.validation import money_to_cents

SYNTAX = "PRODUCT x QTY [@ PRICE] [-DISCOUNT%], e.g. 'GTX Pro x 2 @ 450 -10%'"
_NUMBER = r"\d+(?:[.,]\d+)*"
_SPEC = re.compile(
    rf"^(?P<name>.+?)"
    rf"(?:\s+[x×*]\s*(?P<qty>{_NUMBER}))?"
    rf"(?:\s*@\s*(?P<price>{_NUMBER}))?"
    rf"(?:\s*-\s*(?P<discount>\d+(?:\.\d+)?)\s*%)?\s*$",
    re.IGNORECASE,
)
_DECIMAL = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class LineSpec:
    name: str
    quantity: Decimal
    price_cents: int | None  # None: the product's price
    discount: Decimal  # percent, 0..100


def parse_line_spec(text: str) -> LineSpec:
    """Read one `--line` spec; a malformed one is a UserError with the syntax."""
    raw = " ".join(str(text or "").split())
    match = _SPEC.match(raw)
    if not raw or not match:
        raise UserError(f"cannot read the line {text!r}; write {SYNTAX}")
    name = match.group("name").strip()
    if not name or name.startswith("@"):
        raise UserError(f"the line {text!r} names no product; write {SYNTAX}")
    quantity = _decimal(match.group("qty") or "1", "quantity", text)
    if quantity <= 0:
        raise ValidationError(f"the quantity in {text!r} must be more than 0", field="quantity")
    price = match.group("price")
    price_cents = money_to_cents(price, field="price") if price is not None else None
    discount = _decimal(match.group("discount") or "0", "discount", text)
    if discount > 100:
        raise ValidationError(f"the discount in {text!r} must be 0 to 100%", field="discount")
    return LineSpec(name=name, quantity=quantity, price_cents=price_cents, discount=discount)


def _decimal(value: str, what: str, text: str) -> Decimal:
    if not _DECIMAL.match(value):
        raise ValidationError(
            f"invalid {what} {value!r} in {text!r}: use digits and a dot, e.g. 1.5", field=what
        )
    try:
        number = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValidationError(f"invalid {what} {value!r} in {text!r}", field=what) from exc
    if number > 10**9:
        raise ValidationError(f"the {what} in {text!r} is too large", field=what)
    return number


def line_total_cents(quantity, unit_price_cents: int, discount) -> int:
    """quantity × unit price × (1 − discount/100), rounded half up to the cent."""
    total = (
        Decimal(str(quantity))
        * Decimal(unit_price_cents)
        * (Decimal(100) - Decimal(str(discount)))
        / Decimal(100)
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_line(session: Session, deal_id: int | None, spec: LineSpec | str) -> DealLine:
    """A DealLine for `spec` (not yet added): a known product by name key,
    else a free-text line when a price is given, else exit 2 with the
    closest product names."""
    from minicrm.services.deals.products import closest_product_names, find_product

    if isinstance(spec, str):
        spec = parse_line_spec(spec)
    product = find_product(session, spec.name)
    if product is not None and not product.active:
        raise UserError(f"product {product.name!r} is archived; it cannot go on new lines")
    if product is None and spec.price_cents is None:
        near = closest_product_names(session, spec.name)
        hint = f"; closest: {', '.join(near)}" if near else "; no products yet (crm product add)"
        raise NotFoundError(
            f"no product {spec.name!r}{hint} (a free-text line needs a price: "
            f"'{spec.name} x {spec.quantity} @ PRICE')"
        )
    unit = spec.price_cents if spec.price_cents is not None else product.price_cents
    return DealLine(
        deal_id=deal_id,
        product_id=product.id if product else None,
        description=None if product else spec.name,
        quantity=float(spec.quantity),
        unit_price_cents=unit,
        discount=float(spec.discount),
        total_cents=line_total_cents(spec.quantity, unit, spec.discount),
    )


def build_lines(session: Session, specs: list) -> list[DealLine]:
    """Lines for specs, each checked, for no deal yet (see attach_lines)."""
    return [build_line(session, None, spec) for spec in specs]


def add_lines(session: Session, deal: Deal, specs: list) -> list[DealLine]:
    """Add lines to `deal` and make its value their sum. All specs are
    checked before any is written."""
    return attach_lines(session, deal, build_lines(session, specs))


def attach_lines(session: Session, deal: Deal, built: list[DealLine]) -> list[DealLine]:
    for line in built:
        line.deal_id = deal.id
    session.add_all(built)
    session.flush()
    recompute_value(session, deal)
    return built


def remove_line(session: Session, deal: Deal, line_id: int) -> DealLine:
    line = session.get(DealLine, line_id)
    if line is None or line.deal_id != deal.id:
        raise NotFoundError(f"deal #{deal.id} has no line {line_id}; see `crm deal show {deal.id}`")
    session.delete(line)
    session.flush()
    recompute_value(session, deal)
    return line


def recompute_value(session: Session, deal: Deal) -> None:
    """A deal with lines is worth their total; without lines its value stays
    what it was (then `--value` sets it)."""
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(DealLine.total_cents), 0)).where(
            DealLine.deal_id == deal.id
        )
    ).one()
    if count:
        deal.value_cents = int(total)


def has_lines(session: Session, deal_id: int) -> bool:
    return bool(session.execute(select(func.count()).where(DealLine.deal_id == deal_id)).scalar())
