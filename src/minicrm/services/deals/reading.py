"""Deal rows into read models: with their contact's and company's names and
their lines, in one query per kind for a whole batch."""

import json

from sqlalchemy import select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import Company, Contact, Deal, DealLine, DealLineRead, DealRead, Product


def read_deal(session: Session, deal: Deal) -> DealRead:
    return read_deals(session, [deal])[0]


def read_deals(session: Session, deals: list[Deal]) -> list[DealRead]:
    contact_ids = {d.contact_id for d in deals if d.contact_id is not None}
    company_ids = {d.company_id for d in deals if d.company_id is not None}
    contact_names = _names(session, Contact, contact_ids)
    company_names = _names(session, Company, company_ids)
    lines = lines_of(session, [d.id for d in deals])
    return [
        DealRead(
            **{
                name: getattr(deal, name)
                for name in DealRead.model_fields
                if name not in ("contact_name", "company", "extra", "lines")
            },
            contact_name=contact_names.get(deal.contact_id),
            company=company_names.get(deal.company_id),
            extra=json.loads(deal.extra) if deal.extra else {},
            lines=lines.get(deal.id, []),
        )
        for deal in deals
    ]


def _names(session: Session, model, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start : start + 900]
        found.update(session.execute(select(model.id, model.name).where(model.id.in_(chunk))).all())
    return found


def lines_of(session: Session, deal_ids: list[int]) -> dict[int, list[DealLineRead]]:
    """Each deal's lines in the order they were added."""
    result: dict[int, list[DealLineRead]] = {}
    for start in range(0, len(deal_ids), 900):
        chunk = deal_ids[start : start + 900]
        rows = session.execute(
            select(DealLine, Product.name)
            .outerjoin(Product, Product.id == DealLine.product_id)
            .where(DealLine.deal_id.in_(chunk))
            .order_by(DealLine.deal_id, DealLine.id)
        )
        for line, product_name in rows:
            result.setdefault(line.deal_id, []).append(
                DealLineRead(
                    id=line.id,
                    deal_id=line.deal_id,
                    product_id=line.product_id,
                    product=product_name,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price_cents=line.unit_price_cents,
                    discount=line.discount,
                    total_cents=line.total_cents,
                )
            )
    return result


def parse_deal_ref(ref: str | int) -> int:
    """A deal REF: its id, `12` or `#12`."""
    text = str(ref).strip().removeprefix("#")
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise UserError(f"{ref!r} is not a deal id; deals are named by number, e.g. 12 or #12")
    return int(text)


def resolve_deal(
    session: Session, ref: str | int, *, deleted: bool = False, for_update: bool = False
) -> Deal:
    """The live (or trashed) deal REF names; PostgreSQL locks it with for_update."""
    deal_id = parse_deal_ref(ref)
    alive = Deal.deleted_at.is_not(None) if deleted else Deal.deleted_at.is_(None)
    query = select(Deal).where(Deal.id == deal_id, alive)
    if for_update and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    deal = session.execute(query).scalar()
    if deal is None:
        other = session.execute(select(Deal).where(Deal.id == deal_id, ~alive)).scalar()
        if other is not None and deleted:
            raise NotFoundError(f"deal #{deal_id} {other.title} is not in the trash")
        if other is not None:
            raise NotFoundError(
                f"deal #{deal_id} {other.title} is in the trash; "
                f"`crm deal restore {deal_id}` brings it back"
            )
        where = "in the trash" if deleted else "among live deals"
        raise NotFoundError(f"no deal #{deal_id} {where}; see `crm deal list`")
    return deal


def get_deal(session: Session, ref: str | int) -> DealRead:
    return read_deal(session, resolve_deal(session, ref))


def deals_of_contact(session: Session, contact_id: int) -> list[DealRead]:
    """A contact's live deals: open ones first, then the newest."""
    from minicrm.services.records.deals import CLOSED

    rows = session.execute(
        select(Deal)
        .where(Deal.contact_id == contact_id, Deal.deleted_at.is_(None))
        .order_by(Deal.stage.in_(CLOSED), Deal.created_at.desc(), Deal.id.desc())
    ).scalars()
    return read_deals(session, list(rows))
