"""Contact rows: find the one a REF names, and read rows into ContactRead.

The bottom of the contacts capability: scoring, deals and the rest resolve
contacts through here without depending on the editing services above them."""

import json

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import (
    AmbiguousRefError,
    NotFoundError,
    UserError,
)
from minicrm.models import (
    Contact,
    ContactRead,
    ContactTag,
    Tag,
)
from minicrm.services.records.deals import open_deal_counts
from minicrm.text import fold

AMBIGUOUS_LIST_LIMIT = 10


def read_contact(session: Session, contact: Contact) -> ContactRead:
    return read_contacts(session, [contact])[0]


def read_contacts(session: Session, contacts: list[Contact]) -> list[ContactRead]:
    """Read models for a batch of rows, with their tags and open-deal counts
    in one query each."""
    ids = [c.id for c in contacts]
    tags = tags_of(session, ids)
    open_deals = open_deal_counts(session, ids)
    return [_to_read(c, tags.get(c.id, []), open_deals.get(c.id, 0)) for c in contacts]


def _to_read(contact: Contact, tags: list[str], open_deals: int) -> ContactRead:
    data = {
        name: getattr(contact, name)
        for name in ContactRead.model_fields
        if name not in ("tags", "extra", "open_deals")
    }
    return ContactRead(
        **data,
        tags=tags,
        extra=json.loads(contact.extra) if contact.extra else {},
        open_deals=open_deals,
    )


def tags_of(session: Session, contact_ids: list[int]) -> dict[int, list[str]]:
    if not contact_ids:
        return {}
    rows = session.execute(
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(Tag.name)
    )
    result: dict[int, list[str]] = {}
    for contact_id, name in rows:
        result.setdefault(contact_id, []).append(name)
    return result


def get_contact(session: Session, ref: str | int, *, deleted: bool = False) -> ContactRead:
    return read_contact(session, resolve_ref(session, ref, deleted=deleted))


def resolve_ref(
    session: Session, ref: str | int, *, deleted: bool = False, for_update: bool = False
) -> Contact:
    """The one contact REF names: an id, an exact email, or a name fragment.

    `deleted` looks in the trash instead of among live contacts. `for_update`
    locks the row until the transaction ends (PostgreSQL; SQLite writers are
    already serialised by BEGIN IMMEDIATE), so two people editing the same
    contact at once queue instead of overwriting each other."""
    try:
        contact = _resolve(session, ref, deleted=deleted)
    except NotFoundError as exc:
        raise NotFoundError(_on_the_other_side(session, ref, deleted) or exc.message) from None
    if for_update and session.get_bind().dialect.name != "sqlite":
        session.refresh(contact, with_for_update=True)
    return contact


def _on_the_other_side(session: Session, ref: str | int, deleted: bool) -> str | None:
    """When REF is not found where it was looked for, whether it is on the
    other side of the trash, said with the command that helps."""
    try:
        other = _resolve(session, ref, deleted=not deleted)
    except (NotFoundError, AmbiguousRefError):
        return None
    if deleted:
        return f"#{other.id} {other.name} is not in the trash; `crm trash` lists what is"
    return f"#{other.id} {other.name} is in the trash; `crm restore {other.id}` brings it back"


def _resolve(session: Session, ref: str | int, *, deleted: bool) -> Contact:
    text = str(ref).strip()
    if not text:
        raise UserError("no contact given: use an id, an email or part of a name")
    alive = Contact.deleted_at.is_not(None) if deleted else Contact.deleted_at.is_(None)
    where = "in the trash" if deleted else "among live contacts"
    if text.isascii() and text.isdigit() and len(text) <= 18:
        contact = session.execute(select(Contact).where(Contact.id == int(text), alive)).scalar()
        if contact is None:
            raise NotFoundError(f"no contact #{text} {where}; see `crm list`")
        return contact
    if "@" in text:
        matches = (
            session.execute(
                select(Contact)
                .where(func.lower(Contact.email) == func.lower(text), alive)
                .limit(20)
            )
            .scalars()
            .all()
        )
        if matches:
            return _exactly_one(session, text, matches)
    fragment = fold(text)
    exact = (
        session.execute(select(Contact).where(Contact.name_folded == fragment, alive).limit(20))
        .scalars()
        .all()
    )
    if len(exact) == 1:
        return exact[0]
    matches = (
        session.execute(
            select(Contact)
            .where(Contact.name_folded.contains(fragment, autoescape=True), alive)
            .order_by(Contact.name_folded)
            .limit(AMBIGUOUS_LIST_LIMIT + 1)
        )
        .scalars()
        .all()
    )
    if not matches:
        raise NotFoundError(f"no contact matches {text!r} {where}; try `crm search {text}`")
    return _exactly_one(session, text, matches)


def _exactly_one(session: Session, ref: str, matches: list[Contact]) -> Contact:
    if len(matches) == 1:
        return matches[0]
    shown = matches[:AMBIGUOUS_LIST_LIMIT]
    listing = ", ".join(f"#{c.id} {c.name}" for c in shown)
    more = " and more" if len(matches) > len(shown) else ""
    raise AmbiguousRefError(
        f"{ref!r} matches several contacts: {listing}{more}; use the id",
        read_contacts(session, shown),
    )
