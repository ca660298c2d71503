"""Keyset pages of contacts for the TUI's contact table (SPEC §7, QUALITY P6).

The table never holds the whole list: it asks for `limit` rows after the
last key it has (the sort value and the id). An index on the sort column
answers that directly however deep the user has scrolled, where OFFSET
would walk every row before it.

Filtering as you type folds the text as `crm search` does. Measured on the
100,000-contact benchmark database: a folded name LIKE walked along the sort
index stops after one page and costs 0.3-7 ms whatever the fragment; the
full-text index (contact and interaction words) costs 1-7 ms for prefixes of
three letters or more but 100-200 ms for one letter, which matches nearly
every row. So a short single fragment only looks at names, and longer words
use the full-text index as well.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, tuple_, union
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact
from minicrm.services.records import config
from minicrm.services.scoring.freshness import ensure_fresh_scores
from minicrm.text import fold, tokens

SORTS = ("name", "company", "stage", "score", "owner", "city", "updated")
NULLABLE_SORTS = frozenset({"company", "owner", "city"})
FTS_MIN_WORD = 3  # one word shorter than this filters names only
FTS_IGNORED_WORD = 1  # while typing "maria l", the lone "l" is not sent to full-text search
PAGE_SIZE = 100  # rows per fetch: two or three screens of the table

Key = tuple[Any, int]  # (sort value, contact id)


@dataclass(frozen=True)
class ContactRow:
    """One line of the contact table; `key` is its place in the sort order."""

    id: int
    name: str
    company: str | None
    stage: str
    score: int
    owner: str | None
    city: str | None
    updated_at: datetime
    key: Key


@dataclass(frozen=True)
class ContactPage:
    rows: list[ContactRow]
    next_key: Key | None  # None: this page is the last one


def contacts_page(
    session: Session,
    *,
    filter_text: str = "",
    sort: str = "name",
    after_key: Key | None = None,
    limit: int = PAGE_SIZE,
    descending: bool = False,
    now: datetime | None = None,
) -> ContactPage:
    """Up to `limit` live contacts matching `filter_text`, in `sort` order,
    starting after `after_key` (None: from the top)."""
    if limit < 1:
        raise UserError("a page holds at least one contact")
    ensure_fresh_scores(session, now=now)
    column = _sort_column(session, sort)
    query = select(
        Contact.id, Contact.name, Contact.company, Contact.stage, Contact.score,
        Contact.owner, Contact.city, Contact.updated_at, column.label("sort_value"),
    ).where(_alive_for_ordered_scan(session))  # fmt: skip
    match = filter_condition(session, filter_text)
    if match is not None:
        query = query.where(match)
    if after_key is not None:
        query = query.where(_after(column, after_key, descending, sort in NULLABLE_SORTS))
    query = query.order_by(*_ordering(column, descending, sort in NULLABLE_SORTS))
    found = session.execute(query.limit(limit + 1)).all()
    rows = [
        ContactRow(
            id=r.id, name=r.name, company=r.company, stage=r.stage, score=r.score,
            owner=r.owner, city=r.city, updated_at=r.updated_at, key=(r.sort_value, r.id),
        )
        for r in found[:limit]
    ]  # fmt: skip
    return ContactPage(rows, rows[-1].key if len(found) > limit else None)


def count_matching(session: Session, filter_text: str = "") -> int:
    """How many live contacts the table would show for `filter_text`."""
    query = select(func.count()).select_from(Contact).where(Contact.deleted_at.is_(None))
    match = filter_condition(session, filter_text)
    if match is not None:
        query = query.where(match)
    return session.execute(query).scalar_one()


def key_of(session: Session, contact_id: int, sort: str = "name") -> Key | None:
    """A contact's place in `sort` order (trashed ones too), or None if unknown."""
    column = _sort_column(session, sort)
    value = session.execute(select(column).where(Contact.id == contact_id)).first()
    return None if value is None else (value[0], contact_id)


def neighbour(
    session: Session,
    contact_id: int,
    *,
    filter_text: str = "",
    sort: str = "name",
    descending: bool = False,
    forward: bool = True,
) -> ContactRow | None:
    """The contact after (or before) `contact_id` in the table's order.

    Walking backwards is the same keyset query in the opposite direction."""
    key = key_of(session, contact_id, sort)
    if key is None:
        return None
    page = contacts_page(
        session,
        filter_text=filter_text,
        sort=sort,
        after_key=key,
        limit=1,
        descending=descending if forward else not descending,
    )
    return page.rows[0] if page.rows else None


def filter_condition(session: Session, filter_text: str):
    """The WHERE clause for what the user typed, or None for no filter."""
    folded = fold(filter_text)
    if not folded:
        return None
    by_name = Contact.name_folded.contains(folded, autoescape=True)
    words = tokens(filter_text)
    if len(words) == 1 and len(words[0]) < FTS_MIN_WORD:
        return by_name
    long_words = [w for w in words if len(w) > FTS_IGNORED_WORD]
    if not long_words:
        return by_name
    from minicrm.services.contacts.search import matching_contact_ids

    # One id set, built once, that the ordered scan probes: an OR of LIKE
    # and IN per row costs twice as much on 100,000 names.
    by_words = matching_contact_ids(session, " ".join(long_words)).subquery()
    return Contact.id.in_(union(select(Contact.id).where(by_name), select(by_words.c.id)))


def _sort_column(session: Session, sort: str):
    if sort == "name":
        return Contact.name_folded
    if sort == "stage":  # funnel order, not alphabetical
        stages = config.all_stages(session)
        return case(
            {stage: position for position, stage in enumerate(stages)},
            value=Contact.stage,
            else_=literal(len(stages)),
        )
    columns = {
        "company": Contact.company,
        "score": Contact.score,
        "owner": Contact.owner,
        "city": Contact.city,
        "updated": Contact.updated_at,
    }
    if sort not in columns:
        raise UserError(f"unknown sort {sort!r}; choose one of: {', '.join(SORTS)}")
    return columns[sort]


def _alive_for_ordered_scan(session: Session):
    alive = Contact.deleted_at.is_(None)
    if session.get_bind().dialect.name == "sqlite":
        # Nearly every contact is alive, but without statistics SQLite takes
        # the deleted_at index for this test and then sorts all 100,000 rows
        # (60 ms a page). likely() lets it walk the sort column's index and
        # stop after one page (0.3 ms).
        return func.likely(alive)
    return alive


def _ordering(column, descending: bool, nullable: bool) -> list:
    # NULLs first going up and last going down: SQLite's own order, spelled
    # out so PostgreSQL agrees, and exactly reversed for walking backwards.
    if descending:
        first = column.desc().nulls_last() if nullable else column.desc()
        return [first, Contact.id.desc()]
    first = column.asc().nulls_first() if nullable else column.asc()
    return [first, Contact.id.asc()]


def _after(column, key: Key, descending: bool, nullable: bool):
    value, last_id = key
    if not descending:
        if value is None:  # still among the NULLs, which come first
            return or_(and_(column.is_(None), Contact.id > last_id), column.is_not(None))
        return tuple_(column, Contact.id) > tuple_(value, last_id)
    if value is None:  # the NULLs come last: only those after this id remain
        return and_(column.is_(None), Contact.id < last_id)
    before = tuple_(column, Contact.id) < tuple_(value, last_id)
    return or_(before, column.is_(None)) if nullable else before
