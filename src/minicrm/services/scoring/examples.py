"""The deals the history model learns from and scores, read in a few
queries (history.py does the counting), and the cached rule scores
shown while that history is too thin to learn from."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    ContactTag,
    Deal,
    DealLine,
    Product,
    StageChange,
    Tag,
)
from minicrm.services.records import config

# -------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Example:
    """One deal as the model sees it. Values are (key, shown) pairs, key
    case-folded so 'Instagram' and 'instagram' count together."""

    contact_id: int | None
    name: str | None
    won: bool | None  # None: still open
    closed_at: datetime | None
    values: tuple[tuple[str, str] | None, ...]  # one per FIELDS entry
    tags: tuple[str, ...] = ()
    products: tuple[tuple[str, str], ...] = ()  # (key, shown), one per distinct product
    deal_id: int | None = None
    title: str | None = None


def fetch_examples(
    session: Session,
    *,
    now: datetime | None = None,
    only_open_id: int | None = None,
    closed_only: bool = False,
) -> list[Example]:
    """Live deals with their features: closed ones, and the open ones (all,
    one deal id, or none). The furthest open stage reached and the time of
    closing come from one GROUP BY over the deal's stage history."""
    stages = config.open_stages(session)
    stage_index = case({s: i for i, s in enumerate(stages)}, value=StageChange.to_stage)
    moves = select(
        StageChange.deal_id,
        func.max(stage_index).label("reached"),
        func.max(case((StageChange.to_stage.in_((WON, LOST)), StageChange.at))).label("closed_at"),
    ).group_by(StageChange.deal_id)
    if now is not None:
        moves = moves.where(StageChange.at <= now)
    moves = moves.subquery()
    closed = Deal.stage.in_((WON, LOST))
    where = [Deal.deleted_at.is_(None)]
    if only_open_id is not None:
        where.append(or_(closed, Deal.id == only_open_id))
    elif closed_only:
        where.append(closed)
    chosen = select(Deal.id).where(*where)
    people = select(Deal.contact_id).where(*where, Deal.contact_id.is_not(None))
    connection = session.connection()  # Core rows: no ORM bookkeeping per row
    tags: dict[int, list[str]] = {}
    tag_rows = connection.execute(
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(people))
    )
    for contact_id, tag in tag_rows:
        tags.setdefault(contact_id, []).append(tag)
    products: dict[int, dict[str, str]] = {}
    product_rows = connection.execute(
        select(DealLine.deal_id, Product.name)
        .join(Product, Product.id == DealLine.product_id)
        .where(DealLine.deal_id.in_(chosen))
    )
    for deal_id, product in product_rows:
        shown = (product or "").strip()
        if shown:
            products.setdefault(deal_id, {}).setdefault(shown.casefold(), shown)
    # Only closed deals need a time (deals with no recorded close: when they
    # entered their stage); open ones get NULL and skip date parsing.
    closed_at = case(
        (
            closed,
            func.coalesce(
                moves.c.closed_at, Deal.closed_at, Deal.stage_entered_at, Deal.created_at
            ),
        )
    )
    columns = (
        Deal.id, Deal.contact_id, Contact.name, Deal.title, Deal.stage, moves.c.reached,
        closed_at,
        func.coalesce(Deal.source, Contact.source),  # FIELDS order from here
        func.coalesce(Company.industry, Contact.industry),
        func.coalesce(Company.region, Contact.region),
        func.coalesce(Deal.owner, Contact.owner),
    )  # fmt: skip
    rows = connection.execute(
        select(*columns)
        .select_from(Deal)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .outerjoin(moves, moves.c.deal_id == Deal.id)
        .where(*where)
    )
    keys: dict[str, tuple[str, str] | None] = {}  # values repeat: fold each once

    def value(text: str | None) -> tuple[str, str] | None:
        if text not in keys:
            shown = (text or "").strip()
            keys[text] = (shown.casefold(), shown) if shown else None
        return keys[text]

    examples = []
    for deal_id, contact_id, name, title, stage, reached, closed_at, *fields in rows:
        won = True if stage == WON else False if stage == LOST else None
        if now is not None and won is not None and closed_at > now:
            continue  # closed after `now`: neither history nor an open lead then
        values = (*map(value, fields), value(stages[reached]) if reached is not None else None)
        tagged = tuple(sorted(tags[contact_id])) if contact_id in tags else ()
        sold = tuple(sorted(products[deal_id].items())) if deal_id in products else ()
        examples.append(
            Example(contact_id, name, won, closed_at, values, tagged, sold, deal_id, title)
        )
    return examples


# ------------------------------------------------------- rule-score fallback


@dataclass(frozen=True, slots=True)
class CachedScore:
    contact_id: int | None
    name: str | None
    stage: str
    score: int
    deal_id: int
    title: str


def cached_rule_scores(
    session: Session,
    *,
    ref: str | int | None = None,
    deal_id: int | None = None,
    top: int | None = None,
) -> list[CachedScore]:
    """The cached rule scores of open live deals, best first (or of REF's
    current deal, or of one deal): what is shown while the history is thin."""
    from minicrm.services.records.contacts import resolve_ref
    from minicrm.services.records.deals import current_deal

    query = (
        select(Deal.contact_id, Contact.name, Deal.stage, Deal.score, Deal.id, Deal.title)
        .select_from(Deal)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .where(Deal.deleted_at.is_(None))
    )
    if deal_id is not None or ref is not None:
        if deal_id is None:
            contact = resolve_ref(session, ref)
            found = current_deal(session, contact.id)
            if found is None:
                raise UserError(f"#{contact.id} {contact.name} has no deal to score")
            deal_id = found.id
        query = query.where(Deal.id == deal_id)
    else:
        query = query.where(Deal.stage.not_in((WON, LOST))).order_by(
            Deal.score.desc(), Contact.id.is_(None), Contact.name_folded, Deal.id
        )
        if top is not None:
            query = query.limit(top)
    rows = [CachedScore(*row) for row in session.execute(query)]
    if deal_id is not None and not rows:
        from minicrm.errors import NotFoundError

        raise NotFoundError(f"no deal #{deal_id}")
    return rows
