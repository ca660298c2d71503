"""Contacts: trash, restore, purge."""

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import Session

from minicrm.errors import (
    NotFoundError,
)
from minicrm.models import (
    Contact,
    ContactRead,
)
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.records.contacts import read_contact, resolve_ref
from minicrm.services.records.deals import restore_deals_of, trash_deals_of


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def trash_contact(session: Session, ref: str | int, *, now: datetime | None = None) -> ContactRead:
    contact = resolve_ref(session, ref, for_update=True)
    contact.deleted_at = contact.updated_at = _now(now)
    contact.version += 1
    trash_deals_of(session, contact.id, contact.deleted_at)
    session.flush()
    return read_contact(session, contact)


def restore_contact(
    session: Session, ref: str | int, *, now: datetime | None = None
) -> ContactRead:
    contact = resolve_ref(session, ref, deleted=True, for_update=True)
    restore_deals_of(session, contact.id, contact.deleted_at)
    contact.deleted_at = None
    contact.updated_at = _now(now)
    contact.version += 1
    session.flush()
    return read_contact(session, contact)


def purge_contact(session: Session, ref: str | int) -> ContactRead:
    """Delete for good, with its interactions, follow-ups and history.

    REF is looked up among live contacts first, then in the trash."""
    try:
        contact = resolve_ref(session, ref)
    except NotFoundError:
        contact = resolve_ref(session, ref, deleted=True)
    gone = read_contact(session, contact)
    session.execute(delete(Contact).where(Contact.id == contact.id))
    session.flush()
    return gone


def list_trash(session: Session) -> list[ContactRead]:
    return list(list_contacts(session, sort="updated", deleted=True))
