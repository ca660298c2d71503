"""The ledger of what `crm remind --only-new` already announced.

A follow-up's key holds its due time, so a snoozed follow-up is announced
again at its new time; a touch key holds the moment the contact became due,
so logging an interaction (which moves that moment) makes the next lapse
news again. Keys that can never be announced again are pruned each time the
ledger is written: a follow-up done, deleted or moved to another time, a
contact trashed or purged, or one that was contacted after it became due.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlmodel import Session

from minicrm.models import Contact, FollowUp, Interaction, ReminderLedger, is_contact_with_customer

BATCH = 900  # keys per IN (…) list, under SQLite's parameter limit


def followup_key(followup_id: int, due_at: datetime) -> str:
    return f"followup:{followup_id}:{due_at.isoformat()}"


def touch_key(contact_id: int, due_since: datetime) -> str:
    return f"touch:{contact_id}:{due_since.isoformat()}"


def already_sent(session: Session, keys: list[str]) -> set[str]:
    sent: set[str] = set()
    for chunk in _chunks(keys):
        query = select(ReminderLedger.key).where(ReminderLedger.key.in_(chunk))
        sent.update(session.execute(query).scalars())
    return sent


def record_sent(session: Session, keys: list[str], now: datetime) -> int:
    """Record keys as announced, then prune the ledger; returns how many
    keys were new.

    Two cron jobs may finish at once, so a key someone else just wrote is
    skipped rather than failing the run that already delivered its mail."""
    keys = list(dict.fromkeys(keys))
    fresh = [key for key in keys if key not in already_sent(session, keys)]
    table = ReminderLedger.__table__
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        from importlib import import_module

        insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
        statement = insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:
        statement = table.insert()
    for chunk in _chunks(fresh):
        session.execute(statement, [{"key": key, "sent_at": now} for key in chunk])
    prune_ledger(session)
    session.flush()
    return len(fresh)


def prune_ledger(session: Session) -> int:
    """Delete the keys that can never match a digest item again; returns how many."""
    keys = list(session.execute(select(ReminderLedger.key)).scalars())
    followups: dict[int, list[str]] = {}
    touches: dict[int, list[tuple[str, datetime]]] = {}
    for key in keys:
        kind, _, rest = key.partition(":")
        ident, _, moment = rest.partition(":")
        if not ident.isdigit():
            continue  # not a key this version writes: leave it be
        if kind == "followup":
            followups.setdefault(int(ident), []).append(key)
        elif kind == "touch":
            touches.setdefault(int(ident), []).append((key, datetime.fromisoformat(moment)))
    obsolete = _obsolete_followup_keys(session, followups)
    obsolete += _obsolete_touch_keys(session, touches)
    for chunk in _chunks(obsolete):
        session.execute(delete(ReminderLedger).where(ReminderLedger.key.in_(chunk)))
    return len(obsolete)


def _obsolete_followup_keys(session: Session, keys_by_id: dict[int, list[str]]) -> list[str]:
    current: set[str] = set()
    for chunk in _chunks(list(keys_by_id)):
        rows = session.execute(
            select(FollowUp.id, FollowUp.due_at)
            .join(Contact, Contact.id == FollowUp.contact_id)
            .where(FollowUp.id.in_(chunk), FollowUp.done_at.is_(None), Contact.deleted_at.is_(None))
        )
        current.update(followup_key(followup_id, due_at) for followup_id, due_at in rows)
    return [key for keys in keys_by_id.values() for key in keys if key not in current]


def _obsolete_touch_keys(
    session: Session, keys_by_contact: dict[int, list[tuple[str, datetime]]]
) -> list[str]:
    live: set[int] = set()
    last_contacted: dict[int, datetime] = {}
    for chunk in _chunks(list(keys_by_contact)):
        live.update(
            session.execute(
                select(Contact.id).where(Contact.id.in_(chunk), Contact.deleted_at.is_(None))
            ).scalars()
        )
        last_contacted.update(
            session.execute(
                select(Interaction.contact_id, func.max(Interaction.at))
                .where(
                    Interaction.contact_id.in_(chunk),
                    is_contact_with_customer(Interaction.kind),
                )
                .group_by(Interaction.contact_id)
            ).all()
        )
    return [
        key
        for contact_id, keys in keys_by_contact.items()
        for key, due_since in keys
        if contact_id not in live
        or (contact_id in last_contacted and last_contacted[contact_id] > due_since)
    ]


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
