"""Contacts: the filtered, sorted lists `crm list` and the TUI show."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import (
    UserError,
)
from minicrm.models import (
    Contact,
    ContactRead,
    ContactTag,
    Deal,
    FollowUp,
    Tag,
)
from minicrm.services.records import config
from minicrm.services.records.contacts import read_contacts
from minicrm.services.records.text_match import same_text
from minicrm.services.records.validation import normalize_tag
from minicrm.services.scoring.freshness import ensure_fresh_scores

SORTS = ("score", "name", "created", "updated", "next")


@dataclass
class ContactFilter:
    stage: str | None = None
    tag: str | None = None
    owner: str | None = None
    source: str | None = None
    search: str | None = None


def list_contacts(
    session: Session,
    filters: ContactFilter | None = None,
    *,
    sort: str = "name",
    limit: int | None = None,
    deleted: bool = False,
    now: datetime | None = None,
) -> Iterator[ContactRead]:
    """Live (or trashed) contacts matching `filters`, streamed in batches so a
    100,000-contact export never holds every row at once."""
    ensure_fresh_scores(session, now=now)  # every listing shows or sorts by score
    # Built (and so validated) now; rows are only fetched as they are consumed.
    query = _filtered_query(session, filters or ContactFilter(), deleted=deleted)
    query = _sorted(query, sort)
    if limit is not None:
        if limit < 0:
            raise UserError("--limit must be 0 or more")
        query = query.limit(limit)
    return _stream(session, query)


def _stream(session: Session, query) -> Iterator[ContactRead]:
    result = session.execute(query.execution_options(yield_per=500)).scalars()
    for batch in result.partitions():
        yield from read_contacts(session, list(batch))


def count_contacts(session: Session, filters: ContactFilter | None = None) -> int:
    query = _filtered_query(session, filters or ContactFilter(), deleted=False)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _filtered_query(session: Session, filters: ContactFilter, *, deleted: bool):
    query = select(Contact).where(
        Contact.deleted_at.is_not(None) if deleted else Contact.deleted_at.is_(None)
    )
    if filters.stage:
        # Contacts with a live deal in that stage (for an open stage: an open
        # deal there), whichever of their deals is the current one.
        stage = config.normalize_stage(session, filters.stage)
        query = query.where(
            select(Deal.id)
            .where(Deal.contact_id == Contact.id, Deal.stage == stage, Deal.deleted_at.is_(None))
            .exists()
        )
    if filters.owner:
        query = query.where(same_text(session, Contact.owner, filters.owner))
    if filters.source:
        query = query.where(same_text(session, Contact.source, filters.source))
    if filters.tag:
        tag = normalize_tag(filters.tag)
        query = query.where(
            Contact.id.in_(
                select(ContactTag.contact_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(Tag.name == tag)
            )
        )
    if filters.search:
        from minicrm.services.contacts.search import matching_contact_ids

        query = query.where(Contact.id.in_(matching_contact_ids(session, filters.search)))
    return query


def _sorted(query, sort: str):
    if sort == "score":
        return query.order_by(Contact.score.desc().nulls_last(), Contact.name_folded, Contact.id)
    if sort == "name":
        return query.order_by(Contact.name_folded, Contact.id)
    if sort == "created":
        return query.order_by(Contact.created_at.desc(), Contact.id.desc())
    if sort == "updated":
        return query.order_by(Contact.updated_at.desc(), Contact.id.desc())
    if sort == "next":
        next_due = (
            select(FollowUp.contact_id, func.min(FollowUp.due_at).label("due"))
            .where(FollowUp.done_at.is_(None))
            .group_by(FollowUp.contact_id)
            .subquery()
        )
        return query.outerjoin(next_due, next_due.c.contact_id == Contact.id).order_by(
            next_due.c.due.is_(None), next_due.c.due, Contact.name_folded
        )
    raise UserError(f"unknown sort {sort!r}; choose one of: {', '.join(SORTS)}")
