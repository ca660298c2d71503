"""Stay in touch: cadences per contact or per tag, and who is due for a word.

A contact with a cadence of N days is due to get in touch once N days have
passed since its last interaction (or since it was added, if none). Any
logged interaction resets the clock, because the clock *is* the newest
interaction. A contact's own cadence wins over its tags'; among tags the
shortest wins. Lost contacts are left alone.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import (
    LOST,
    Cadence,
    Contact,
    ContactTag,
    Interaction,
    Tag,
    is_contact_with_customer,
)
from minicrm.services.records.contacts import resolve_ref
from minicrm.services.records.text_match import same_text
from minicrm.services.records.validation import normalize_tag

BATCH = 900  # ids per IN (…) list, under SQLite's parameter limit


@dataclass
class CadenceRead:
    id: int
    every_days: int
    contact_id: int | None = None
    contact_name: str | None = None
    tag: str | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id, "contact_id": self.contact_id, "contact_name": self.contact_name,
            "tag": self.tag, "every_days": self.every_days,
        }  # fmt: skip


@dataclass
class TouchDue:
    """A contact due to get in touch: quiet for longer than its cadence."""

    contact_id: int
    contact_name: str
    phone: str | None
    email: str | None
    owner: str | None
    every_days: int
    last_interaction_at: datetime | None
    due_since: datetime

    def to_json(self) -> dict:
        return {
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
            "phone": self.phone,
            "email": self.email,
            "owner": self.owner,
            "every_days": self.every_days,
            "last_interaction_at": _iso(self.last_interaction_at),
            "due_since": _iso(self.due_since),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_every(text: str) -> int:
    """'30d', '2 weeks', 'week', '3 months' (30 days each) -> days: the grammar
    of `followup --every` (records/intervals.py)."""
    from minicrm.services.records.intervals import interval_days

    return interval_days(text, what="a cadence")


def set_cadence(
    session: Session,
    every: str,
    *,
    ref: str | None = None,
    tag: str | None = None,
    now: datetime | None = None,
) -> CadenceRead:
    """Create or change the cadence of one contact (REF) or of a tag."""
    every_days = parse_every(every)
    contact, tag_name = _target(session, ref, tag)
    where = Cadence.contact_id == contact.id if contact else Cadence.tag == tag_name
    row = session.execute(select(Cadence).where(where)).scalar()
    if row is None:
        row = Cadence(
            contact_id=contact.id if contact else None,
            tag=tag_name,
            every_days=every_days,
            created_at=now or datetime.now(UTC),
        )
        session.add(row)
    else:
        row.every_days = every_days
    session.flush()
    return CadenceRead(
        row.id, every_days, row.contact_id, contact.name if contact else None, tag_name
    )


def remove_cadence(
    session: Session, *, ref: str | None = None, tag: str | None = None
) -> CadenceRead:
    contact, tag_name = _target(session, ref, tag)
    where = Cadence.contact_id == contact.id if contact else Cadence.tag == tag_name
    row = session.execute(select(Cadence).where(where)).scalar()
    if row is None:
        what = f"#{contact.id} {contact.name}" if contact else f"tag {tag_name!r}"
        raise NotFoundError(f"{what} has no cadence; see `crm cadence list`")
    gone = CadenceRead(
        row.id, row.every_days, row.contact_id, contact.name if contact else None, row.tag
    )
    session.delete(row)
    session.flush()
    return gone


def _target(
    session: Session, ref: str | None, tag: str | None
) -> tuple[Contact | None, str | None]:
    if bool(ref) == bool(tag):
        raise UserError("name either a contact (REF) or --tag, not both")
    if ref:
        return resolve_ref(session, ref), None
    return None, normalize_tag(tag)


def list_cadences(session: Session) -> list[CadenceRead]:
    rows = session.execute(
        select(Cadence, Contact.name)
        .outerjoin(Contact, Contact.id == Cadence.contact_id)
        .order_by(Cadence.tag.is_(None), Cadence.tag, Contact.name_folded)
    )
    return [CadenceRead(c.id, c.every_days, c.contact_id, name, c.tag) for c, name in rows]


def due_to_get_in_touch(
    session: Session, *, now: datetime | None = None, owner: str | None = None
) -> list[TouchDue]:
    """Live, not-lost contacts whose cadence has run out, longest overdue first."""
    now = now or datetime.now(UTC)
    cadences = _effective_cadences(session)
    due: list[TouchDue] = []
    ids = list(cadences)
    for start in range(0, len(ids), BATCH):
        due += _due_in_batch(session, ids[start : start + BATCH], cadences, now, owner)
    due.sort(key=lambda t: (t.due_since, t.contact_id))
    return due


def _effective_cadences(session: Session) -> dict[int, int]:
    by_tag = session.execute(
        select(ContactTag.contact_id, func.min(Cadence.every_days))
        .join(Tag, Tag.id == ContactTag.tag_id)
        .join(Cadence, Cadence.tag == Tag.name)
        .group_by(ContactTag.contact_id)
    ).all()
    own = session.execute(
        select(Cadence.contact_id, Cadence.every_days).where(Cadence.contact_id.is_not(None))
    ).all()
    return {**dict(by_tag), **dict(own)}  # a contact's own cadence wins


def _due_in_batch(session, ids, cadences, now, owner) -> list[TouchDue]:
    last = (
        select(Interaction.contact_id, func.max(Interaction.at).label("last_at"))
        .where(Interaction.contact_id.in_(ids), is_contact_with_customer(Interaction.kind))
        .group_by(Interaction.contact_id)
        .subquery()
    )
    query = (
        select(Contact, last.c.last_at)
        .outerjoin(last, last.c.contact_id == Contact.id)
        .where(Contact.id.in_(ids), Contact.deleted_at.is_(None), Contact.stage != LOST)
    )
    if owner:
        query = query.where(same_text(session, Contact.owner, owner))
    found = []
    for contact, last_at in session.execute(query):
        every = cadences[contact.id]
        last_at = _as_utc(last_at)
        due_since = (last_at or contact.created_at) + timedelta(days=every)
        if due_since <= now:
            found.append(
                TouchDue(contact.id, contact.name, contact.phone, contact.email, contact.owner,
                         every, last_at, due_since)
            )  # fmt: skip
    return found


def _as_utc(value):
    """max() over a subquery loses the column type on SQLite: parse it back."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
