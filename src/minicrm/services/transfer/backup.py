"""Companies, products, deals and their lines in `crm export all --format
json`, and back again in its restore.

Export objects (kept in this order, so a restore exports byte for byte):
  companies: id, name, domain, email, phone, industry, city, region,
             country, owner, tags, notes, extra, created_at, updated_at, deleted_at
  products:  id, name, code, price, active, created_at, updated_at
  deals:     id, title, contact_id, company_id, stage, stage_entered_at, value,
             expected_close, closed_at, lost_reason, lost_at_stage, owner,
             source, score, notes, extra, lines, created_at, updated_at, deleted_at
  lines:     id, product_id, product, description, quantity, unit_price,
             discount, total

A file of the previous release has none of these keys: its contacts then
become contacts plus one deal each, as migration 0005 did (deal id =
contact id, its stage history and a won contact's purchases linked to it,
one company per folded company text).
"""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from minicrm.models import (
    LOST,
    WON,
    Company,
    CompanyTag,
    Deal,
    DealLine,
    Product,
    Tag,
    cents_to_major,
)
from minicrm.text import fold

BATCH = 1000
COMPANY_TEXT = ("domain", "email", "phone", "industry", "city", "region", "country", "owner")
DEAL_TEXT = ("title", "stage", "lost_reason", "lost_at_stage", "owner", "source", "notes")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _extra(text: str | None) -> dict:
    return json.loads(text) if text else {}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


# ------------------------------------------------------------------ export


def all_companies(session: Session) -> Iterator[dict[str, Any]]:
    query = select(Company).order_by(Company.id).execution_options(yield_per=BATCH)
    for batch in session.execute(query).scalars().partitions():
        ids = [c.id for c in batch]
        tags: dict[int, list[str]] = {}
        rows = session.execute(
            select(CompanyTag.company_id, Tag.name)
            .join(Tag, Tag.id == CompanyTag.tag_id)
            .where(CompanyTag.company_id.in_(ids))
            .order_by(CompanyTag.company_id, Tag.name)
        )
        for cid, name in rows:
            tags.setdefault(cid, []).append(name)
        for c in batch:
            yield {
                "id": c.id, "name": c.name, **{k: getattr(c, k) for k in COMPANY_TEXT},
                "tags": tags.get(c.id, []), "notes": c.notes, "extra": _extra(c.extra),
                "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
                "deleted_at": _iso(c.deleted_at),
            }  # fmt: skip


def all_products(session: Session) -> Iterator[dict[str, Any]]:
    query = select(Product).order_by(Product.id).execution_options(yield_per=BATCH)
    for p in session.execute(query).scalars():
        yield {
            "id": p.id, "name": p.name, "code": p.code, "price": cents_to_major(p.price_cents),
            "active": bool(p.active), "created_at": _iso(p.created_at),
            "updated_at": _iso(p.updated_at),
        }  # fmt: skip


def deal_object(deal: Deal, lines: list[dict]) -> dict[str, Any]:
    return {
        "id": deal.id, "title": deal.title, "contact_id": deal.contact_id,
        "company_id": deal.company_id, "stage": deal.stage,
        "stage_entered_at": _iso(deal.stage_entered_at), "value": cents_to_major(deal.value_cents),
        "expected_close": _iso(deal.expected_close), "closed_at": _iso(deal.closed_at),
        "lost_reason": deal.lost_reason, "lost_at_stage": deal.lost_at_stage,
        "owner": deal.owner, "source": deal.source, "score": deal.score, "notes": deal.notes,
        "extra": _extra(deal.extra), "lines": lines, "created_at": _iso(deal.created_at),
        "updated_at": _iso(deal.updated_at), "deleted_at": _iso(deal.deleted_at),
    }  # fmt: skip


def lines_by_deal(session: Session, deal_ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    rows = session.execute(
        select(DealLine, Product.name)
        .outerjoin(Product, Product.id == DealLine.product_id)
        .where(DealLine.deal_id.in_(deal_ids))
        .order_by(DealLine.deal_id, DealLine.id)
    )
    for line, product in rows:
        found.setdefault(line.deal_id, []).append({
            "id": line.id, "product_id": line.product_id, "product": product,
            "description": line.description, "quantity": _number(line.quantity),
            "unit_price": cents_to_major(line.unit_price_cents),
            "discount": _number(line.discount), "total": cents_to_major(line.total_cents),
        })  # fmt: skip
    return found


def all_deals(session: Session) -> Iterator[dict[str, Any]]:
    query = select(Deal).order_by(Deal.id).execution_options(yield_per=BATCH)
    for batch in session.execute(query).scalars().partitions():
        lines = lines_by_deal(session, [d.id for d in batch])
        for deal in batch:
            yield deal_object(deal, lines.get(deal.id, []))


# ----------------------------------------------------------------- restore


def _id(value: Any, what: str = "id", *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive whole number, not {value!r}")
    return value


def _time(value: Any, what: str, *, required: bool = True) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO 8601 time, not {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected text, not {value!r}")
    return value


def _dump(extra: Any) -> str | None:
    if extra is None:
        return None
    if not isinstance(extra, dict):
        raise ValueError("extra must be an object")
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def _cents(value: Any, what: str) -> int | None:
    from minicrm.services.records.validation import money_to_cents

    return money_to_cents(value, field=what)


def company_row(item: dict) -> tuple[dict[str, Any], list[str]]:
    name = _text(item["name"]) or ""
    if not name.strip():
        raise ValueError("a company needs a name")
    created = _time(item["created_at"], "created_at")
    row = {
        "id": _id(item["id"]), "name": name, "name_folded": fold(name),
        **{k: _text(item.get(k)) for k in COMPANY_TEXT}, "notes": _text(item.get("notes")),
        "extra": _dump(item.get("extra")), "created_at": created,
        "updated_at": _time(item.get("updated_at"), "updated_at", required=False) or created,
        "deleted_at": _time(item.get("deleted_at"), "deleted_at", required=False), "version": 1,
    }  # fmt: skip
    return row, [str(t) for t in item.get("tags") or []]


def product_row(item: dict, now: datetime) -> dict[str, Any]:
    name = _text(item["name"]) or ""
    if not name.strip():
        raise ValueError("a product needs a name")
    created = _time(item.get("created_at"), "created_at", required=False) or now
    return {
        "id": _id(item["id"]), "name": name, "name_key": "".join(fold(name).split()),
        "code": _text(item.get("code")), "price_cents": _cents(item.get("price"), "price") or 0,
        "active": bool(item.get("active", True)), "created_at": created,
        "updated_at": _time(item.get("updated_at"), "updated_at", required=False) or created,
    }  # fmt: skip


def deal_rows(item: dict) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stage = _text(item["stage"])
    if not stage:
        raise ValueError("a deal needs a stage")
    created = _time(item["created_at"], "created_at")
    close = item.get("expected_close")
    row = {
        "id": _id(item["id"]), **{k: _text(item.get(k)) for k in DEAL_TEXT},
        "contact_id": _id(item.get("contact_id"), "contact_id", optional=True),
        "company_id": _id(item.get("company_id"), "company_id", optional=True),
        "stage_entered_at": _time(item.get("stage_entered_at") or item["created_at"],
                                  "stage_entered_at"),
        "value_cents": _cents(item.get("value"), "value"),
        "expected_close": date.fromisoformat(close) if close else None,
        "closed_at": _time(item.get("closed_at"), "closed_at", required=False),
        "score": int(item.get("score") or 0), "extra": _dump(item.get("extra")),
        "created_at": created,
        "updated_at": _time(item.get("updated_at"), "updated_at", required=False) or created,
        "deleted_at": _time(item.get("deleted_at"), "deleted_at", required=False), "version": 1,
    }  # fmt: skip
    row["stage"] = stage
    if not row["title"]:
        raise ValueError("a deal needs a title")
    lines = []
    for line in item.get("lines") or []:
        quantity, discount = float(line["quantity"]), float(line.get("discount") or 0)
        unit = _cents(line["unit_price"], "unit_price")
        total = _cents(line.get("total"), "total")
        lines.append({
            "id": _id(line["id"]), "deal_id": row["id"],
            "product_id": _id(line.get("product_id"), "product_id", optional=True),
            "description": _text(line.get("description")), "quantity": quantity,
            "unit_price_cents": unit, "discount": discount,
            "total_cents": total if total is not None else round(
                quantity * unit * (1 - discount / 100)),
        })  # fmt: skip
    return row, lines


def deals_of_old_contacts(contacts: list[dict], moves: list[dict], interactions: list[dict]):
    """A previous release's file: one deal per contact (id = contact id),
    its moves and a won contact's purchases linked, as migration 0005 does;
    one company per folded company text. Returns (companies, deals)."""
    lost_from: dict[int, str | None] = {}
    for move in sorted(moves, key=lambda m: (m["at"], m["id"])):
        move["deal_id"] = move["contact_id"]
        if move["to_stage"] == LOST:
            lost_from[move["contact_id"]] = move["from_stage"]
    companies: dict[str, dict] = {}
    deals = []
    for c in sorted(contacts, key=lambda c: c["id"]):
        if c.get("company"):
            key = fold(c["company"])
            if key not in companies:
                companies[key] = {
                    "id": len(companies) + 1, "name": c["company"], "name_folded": key,
                    **dict.fromkeys(COMPANY_TEXT), "notes": None, "extra": None,
                    "created_at": c["created_at"], "updated_at": c["created_at"],
                    "deleted_at": None, "version": 1,
                }  # fmt: skip
            c["company_id"] = companies[key]["id"]
        stage, closed = c["stage"], c["stage"] in (WON, LOST)
        from_stage = lost_from.get(c["id"]) if stage == LOST else None
        deals.append({
            "id": c["id"], "title": c["name"], "contact_id": c["id"],
            "company_id": c.get("company_id"), "stage": stage,
            "stage_entered_at": c["stage_entered_at"], "value_cents": c.get("value_cents"),
            "expected_close": None, "closed_at": c["stage_entered_at"] if closed else None,
            "lost_reason": c.get("lost_reason") if stage == LOST else None,
            "lost_at_stage": from_stage if from_stage not in (WON, LOST) else None,
            "owner": c.get("owner"), "source": c.get("source"), "score": c.get("score") or 0,
            "notes": None, "extra": None, "created_at": c["created_at"],
            "updated_at": c["updated_at"], "deleted_at": c["deleted_at"], "version": 1,
        })  # fmt: skip
    won = {c["id"] for c in contacts if c["stage"] == WON}
    for interaction in interactions:
        if interaction["kind"] == "purchase" and interaction["contact_id"] in won:
            interaction["deal_id"] = interaction["contact_id"]
    return list(companies.values()), deals
