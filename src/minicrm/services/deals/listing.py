"""`crm deal list`: deals filtered and sorted in SQL, streamed in batches."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    Deal,
    DealLine,
    DealLineRead,
    DealRead,
    Interaction,
    Product,
    is_contact_with_customer,
)
from minicrm.services.deals.reading import _names
from minicrm.services.records import config
from minicrm.services.records.deals import CLOSED
from minicrm.services.records.text_match import same_text
from minicrm.services.scoring.freshness import ensure_fresh_scores

STATUSES = ("open", "won", "lost", "all")
SORTS = ("value", "close", "score", "updated")
BATCH = 500


@dataclass
class DealFilter:
    stage: str | None = None
    owner: str | None = None
    company: str | None = None  # a company name (folded match)
    contact: str | None = None  # a contact REF
    status: str | None = None  # open (default; all when --stage is given), won, lost, all
    closing: str | date | None = None  # expected_close on or before this local date
    stale: int | None = None  # open, no stage move and no interaction for N days


def list_deals(
    session: Session,
    filters: DealFilter | None = None,
    *,
    sort: str = "close",
    limit: int | None = None,
    now: datetime | None = None,
) -> Iterator[DealRead]:
    """Live deals matching `filters`; the query is built (and validated) now,
    rows are fetched as they are consumed."""
    ensure_fresh_scores(session, now=now)
    query = _sorted(filtered_query(session, filters or DealFilter(), now=now), sort)
    if limit is not None:
        if limit < 0:
            raise UserError("--limit must be 0 or more")
        query = query.limit(limit)
    return _stream(session, query)


_DEAL_COLUMNS = [c for c in Deal.__table__.c if c.name in DealRead.model_fields]
_LINE_COLUMNS = [c for c in DealLine.__table__.c if c.name in DealLineRead.model_fields]


def _stream(session: Session, query) -> Iterator[DealRead]:
    """Plain rows into read models without ORM objects: the same DealRead
    read_deals gives, at a fraction of the cost for 100,000 deals."""
    names = [c.name for c in _DEAL_COLUMNS]
    rows = session.connection().execute(
        query.with_only_columns(*_DEAL_COLUMNS), execution_options={"yield_per": BATCH}
    )
    for batch in rows.partitions():
        yield from _reads(session, [dict(zip(names, row, strict=True)) for row in batch])


def _reads(session: Session, rows: list[dict]) -> list[DealRead]:
    contacts = _names(session, Contact, {r["contact_id"] for r in rows} - {None})
    companies = _names(session, Company, {r["company_id"] for r in rows} - {None})
    lines = _lines(session, [r["id"] for r in rows])
    built = []
    for row in rows:
        extra = row["extra"]
        row["extra"] = json.loads(extra) if extra else {}
        built.append(
            _built(
                DealRead,
                row,
                contact_name=contacts.get(row["contact_id"]),
                company=companies.get(row["company_id"]),
                lines=lines.get(row["id"], []),
            )
        )
    return built


_LINE_NAMES = [*(c.name for c in _LINE_COLUMNS), "product"]


def _lines(session: Session, deal_ids: list[int]) -> dict[int, list[DealLineRead]]:
    found: dict[int, list[DealLineRead]] = {}
    if not deal_ids:
        return found
    rows = session.connection().execute(
        select(*_LINE_COLUMNS, Product.__table__.c.name)
        .select_from(
            DealLine.__table__.outerjoin(
                Product.__table__, Product.__table__.c.id == DealLine.__table__.c.product_id
            )
        )
        .where(DealLine.__table__.c.deal_id.in_(deal_ids))
        .order_by(DealLine.__table__.c.deal_id, DealLine.__table__.c.id)
    )
    for row in rows:
        values = dict(zip(_LINE_NAMES, row, strict=True))
        found.setdefault(values["deal_id"], []).append(_built(DealLineRead, values))
    return found


def _built(model, values: dict, **more):
    """`model.model_construct(**values, **more)` without its per-field
    bookkeeping (the bulk of the cost of listing 100,000 deals): the row
    already holds every field, with database types, so there is nothing to
    validate or default."""
    values.update(more)
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def _lines(session: Session, deal_ids: list[int]) -> dict[int, list[DealLineRead]]:
    found: dict[int, list[DealLineRead]] = {}
    if not deal_ids:
        return found
    rows = session.execute(
        select(*_LINE_COLUMNS, Product.name.label("product"))
        .outerjoin(Product, Product.id == DealLine.product_id)
        .where(DealLine.deal_id.in_(deal_ids))
        .order_by(DealLine.deal_id, DealLine.id)
    )
    for row in rows:
        values = row._mapping
        found.setdefault(values["deal_id"], []).append(_built(DealLineRead, dict(values)))
    return found


def count_deals(session: Session, filters: DealFilter | None = None, *, now=None) -> int:
    query = filtered_query(session, filters or DealFilter(), now=now)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def filtered_query(session: Session, filters: DealFilter, *, now: datetime | None = None):
    now = now or datetime.now(UTC)
    query = select(Deal).where(Deal.deleted_at.is_(None))
    status = filters.status or ("all" if filters.stage else "open")
    if status not in STATUSES:
        raise UserError(f"unknown status {status!r}; choose one of: {', '.join(STATUSES)}")
    if filters.stale is not None:
        if filters.status in (WON, LOST, "all"):
            raise UserError("--stale lists open deals; drop --won, --lost or --all")
        status = "open"
    if status == "open":
        query = query.where(Deal.stage.not_in(CLOSED))
    elif status in (WON, LOST):
        query = query.where(Deal.stage == status)
    if filters.stage:
        query = query.where(Deal.stage == config.normalize_stage(session, filters.stage))
    if filters.owner and filters.owner.strip():
        query = query.where(same_text(session, Deal.owner, filters.owner))
    if filters.company is not None:
        query = query.where(Deal.company_id == _company_id(session, filters.company))
    if filters.contact is not None:
        from minicrm.services.records.contacts import resolve_ref

        query = query.where(Deal.contact_id == resolve_ref(session, filters.contact).id)
    if filters.closing is not None:
        from minicrm.services.deals.deals import close_date

        last_day = close_date(session, filters.closing, now=now)
        if last_day is None:
            raise UserError("--closing needs a date, e.g. 'end of month' or 2026-12-31")
        query = query.where(Deal.expected_close.is_not(None), Deal.expected_close <= last_day)
    if filters.stale is not None:
        query = _stale(query, filters.stale, now)
    return query


def _company_id(session: Session, name: str) -> int:
    from minicrm.services.records.companies import find_company_by_name

    company = find_company_by_name(session, name)
    if company is None:
        raise NotFoundError(f"no company called {name!r}; see `crm company list`")
    return company.id


def _stale(query, days: int, now: datetime):
    """Open deals untouched for `days`: no stage move since (stage_entered_at
    is the last move, creation included) and no interaction linked to the
    deal or, for a deal with a contact, with that contact."""
    if days < 0:
        raise UserError("--stale needs a number of days, 0 or more")
    cutoff = now - timedelta(days=days)
    # Deals with a recent linked interaction: one uncorrelated set (deal_id
    # is mostly NULL, so a per-deal probe could end up scanning by date).
    recent_by_deal = select(Interaction.deal_id).where(
        Interaction.deal_id.is_not(None),
        Interaction.at >= cutoff,
        is_contact_with_customer(Interaction.kind),
    )
    by_contact = select(Interaction.id).where(
        Interaction.contact_id == Deal.contact_id,
        Interaction.at >= cutoff,
        is_contact_with_customer(Interaction.kind),
    )
    return query.where(
        Deal.stage_entered_at < cutoff,
        Deal.id.not_in(recent_by_deal),
        ~by_contact.exists(),
    )


def _sorted(query, sort: str):
    if sort == "value":
        return query.order_by(Deal.value_cents.desc().nulls_last(), Deal.id)
    if sort == "close":
        return query.order_by(Deal.expected_close.asc().nulls_last(), Deal.id)
    if sort == "score":
        return query.order_by(Deal.score.desc(), Deal.id)
    if sort == "updated":
        return query.order_by(Deal.updated_at.desc(), Deal.id.desc())
    raise UserError(f"unknown sort {sort!r}; choose one of: {', '.join(SORTS)}")
