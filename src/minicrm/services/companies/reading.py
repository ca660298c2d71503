"""Companies into read models, a company REF, and `crm company list`.

People and open-deal counts come from grouped SQL (one query per kind for a
batch, or grouped subqueries joined once for a list), never a query per row.
"""

import json
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlmodel import Session

from minicrm.errors import AmbiguousRefError, NotFoundError, UserError
from minicrm.models import WON, Company, CompanyRead, CompanyTag, Contact, Deal, Tag
from minicrm.services.records.text_match import same_text
from minicrm.services.records.validation import normalize_tag
from minicrm.text import fold

SORTS = ("name", "created", "updated", "revenue")
AMBIGUOUS_LIST_LIMIT = 10
IDS_PER_QUERY = 900


def resolve_company(session: Session, ref: str | int, *, deleted: bool = False) -> Company:
    """The one company REF names: its id (`12`, `#12`), or a fragment of its
    folded name (an exact folded name wins over fragments). Not found, but on
    the other side of the trash: says so, with the command that helps."""
    try:
        return _resolve_company(session, ref, deleted=deleted)
    except NotFoundError as exc:
        try:
            other = _resolve_company(session, ref, deleted=not deleted)
        except (NotFoundError, UserError):
            raise exc from None
    if deleted:
        raise NotFoundError(f"#{other.id} {other.name} is not in the trash")
    raise NotFoundError(
        f"#{other.id} {other.name} is in the trash; `crm company restore {other.id}` brings it back"
    )


def _resolve_company(session: Session, ref: str | int, *, deleted: bool) -> Company:
    text = str(ref).strip()
    if not text:
        raise UserError("no company given: use an id or part of its name")
    alive = Company.deleted_at.is_not(None) if deleted else Company.deleted_at.is_(None)
    where = "in the trash" if deleted else "among live companies"
    number = text.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        company = session.execute(select(Company).where(Company.id == int(number), alive)).scalar()
        if company is None:
            raise NotFoundError(f"no company #{number} {where}; see `crm company list`")
        return company
    key = fold(text)
    exact = session.execute(select(Company).where(Company.name_folded == key, alive).limit(2))
    exact = exact.scalars().all()
    if len(exact) == 1:
        return exact[0]
    matches = (
        session.execute(
            select(Company)
            .where(Company.name_folded.contains(key, autoescape=True), alive)
            .order_by(Company.name_folded, Company.id)
            .limit(AMBIGUOUS_LIST_LIMIT + 1)
        )
        .scalars()
        .all()
    )
    if not matches:
        raise NotFoundError(f"no company matches {text!r} {where}; see `crm company list`")
    if len(matches) > 1:
        shown = matches[:AMBIGUOUS_LIST_LIMIT]
        listing = ", ".join(f"#{c.id} {c.name}" for c in shown)
        more = " and more" if len(matches) > len(shown) else ""
        raise AmbiguousRefError(
            f"{text!r} matches several companies: {listing}{more}; use the id", shown
        )
    return matches[0]


def _people_counts():
    return (
        select(Contact.company_id.label("company_id"), func.count().label("n"))
        .where(Contact.company_id.is_not(None), Contact.deleted_at.is_(None))
        .group_by(Contact.company_id)
        .subquery()
    )


def _open_deal_counts():
    return (
        select(Deal.company_id.label("company_id"), func.count().label("n"))
        .where(
            Deal.company_id.is_not(None),
            Deal.deleted_at.is_(None),
            Deal.stage.not_in(("won", "lost")),
        )
        .group_by(Deal.company_id)
        .subquery()
    )


def _won_revenue():
    return (
        select(
            Deal.company_id.label("company_id"),
            func.coalesce(func.sum(Deal.value_cents), 0).label("cents"),
        )
        .where(Deal.company_id.is_not(None), Deal.deleted_at.is_(None), Deal.stage == WON)
        .group_by(Deal.company_id)
        .subquery()
    )


def read_company(session: Session, company: Company) -> CompanyRead:
    return read_companies(session, [company])[0]


def read_companies(session: Session, companies: list[Company]) -> list[CompanyRead]:
    """Read models with tags, people and open-deal counts: one grouped query each."""
    ids = [c.id for c in companies]
    tags = company_tags_of(session, ids)
    people: dict[int, int] = {}
    deals: dict[int, int] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        people.update(
            session.execute(
                select(Contact.company_id, func.count())
                .where(Contact.company_id.in_(chunk), Contact.deleted_at.is_(None))
                .group_by(Contact.company_id)
            ).all()
        )
        deals.update(
            session.execute(
                select(Deal.company_id, func.count())
                .where(
                    Deal.company_id.in_(chunk),
                    Deal.deleted_at.is_(None),
                    Deal.stage.not_in(("won", "lost")),
                )
                .group_by(Deal.company_id)
            ).all()
        )
    return [
        _to_read(c, tags.get(c.id, []), people.get(c.id, 0), deals.get(c.id, 0)) for c in companies
    ]


def _to_read(company, tags: list[str], people: int, open_deals: int) -> CompanyRead:
    data = {
        name: getattr(company, name)
        for name in CompanyRead.model_fields
        if name not in ("tags", "extra", "people_count", "open_deals")
    }
    return CompanyRead(
        **data,
        tags=tags,
        extra=json.loads(company.extra) if company.extra else {},
        people_count=people,
        open_deals=open_deals,
    )


def company_tags_of(session: Session, company_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    for start in range(0, len(company_ids), IDS_PER_QUERY):
        chunk = company_ids[start : start + IDS_PER_QUERY]
        rows = session.execute(
            select(CompanyTag.company_id, Tag.name)
            .join(Tag, Tag.id == CompanyTag.tag_id)
            .where(CompanyTag.company_id.in_(chunk))
            .order_by(Tag.name)
        )
        for company_id, name in rows:
            result.setdefault(company_id, []).append(name)
    return result


def get_company(session: Session, ref: str | int, *, deleted: bool = False) -> CompanyRead:
    return read_company(session, resolve_company(session, ref, deleted=deleted))


@dataclass
class CompanyFilter:
    search: str | None = None
    tag: str | None = None
    owner: str | None = None
    industry: str | None = None


def list_companies(
    session: Session,
    filters: CompanyFilter | None = None,
    *,
    sort: str = "name",
    limit: int | None = None,
    deleted: bool = False,
) -> list[CompanyRead]:
    """Companies with their people and open-deal counts, computed in SQL
    (grouped subqueries joined once, never a query per company)."""
    filters = filters or CompanyFilter()
    if sort not in SORTS:
        raise UserError(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if limit is not None and limit < 0:
        raise UserError("--limit cannot be negative")
    people, deals, revenue = _people_counts(), _open_deal_counts(), _won_revenue()
    table = Company.__table__
    query = (
        select(
            table,
            func.coalesce(people.c.n, 0).label("people_count"),
            func.coalesce(deals.c.n, 0).label("open_deals"),
        )
        .outerjoin(people, people.c.company_id == table.c.id)
        .outerjoin(deals, deals.c.company_id == table.c.id)
        .where(table.c.deleted_at.is_not(None) if deleted else table.c.deleted_at.is_(None))
    )
    if filters.search:
        key = fold(filters.search)
        query = query.where(
            table.c.name_folded.contains(key, autoescape=True)
            | func.lower(func.coalesce(table.c.domain, "")).contains(key, autoescape=True)
            | func.lower(func.coalesce(table.c.email, "")).contains(key, autoescape=True)
        )
    if filters.tag:
        query = query.where(
            exists(
                select(CompanyTag.company_id)
                .join(Tag, Tag.id == CompanyTag.tag_id)
                .where(CompanyTag.company_id == table.c.id, Tag.name == normalize_tag(filters.tag))
            )
        )
    if filters.owner:
        query = query.where(same_text(session, table.c.owner, filters.owner))
    if filters.industry:
        query = query.where(func.lower(table.c.industry) == filters.industry.strip().lower())
    if sort == "revenue":
        query = query.outerjoin(revenue, revenue.c.company_id == table.c.id).order_by(
            func.coalesce(revenue.c.cents, 0).desc(), table.c.name_folded, table.c.id
        )
    else:
        column = {
            "name": table.c.name_folded,
            "created": table.c.created_at.desc(),
            "updated": table.c.updated_at.desc(),
        }[sort]
        query = query.order_by(column, table.c.id)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    tags = company_tags_of(session, [r.id for r in rows])
    return [_to_read(r, tags.get(r.id, []), r.people_count, r.open_deals) for r in rows]
