"""Past imports (`crm import --list`) and taking one back (`--undo BATCH`).

Undo, in the caller's one transaction, deletes the contacts the batch
created (their history, interactions and follow-ups go with them) and puts
the contacts it updated back to their state before: every field, tags,
extra, and without the stage moves the import recorded.

A contact changed since the import (edited, moved, trashed, or given an
interaction or follow-up) would lose that work, so undo refuses and lists
those contacts unless `force`. A contact purged since is simply gone.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import (
    Contact,
    ContactTag,
    Deal,
    FollowUp,
    ImportBatch,
    ImportChange,
    Interaction,
    StageChange,
    Tag,
)
from minicrm.services.transfer.bulk import MANIFEST_ID, read_manifest
from minicrm.services.transfer.undo import changed_deals, undo_manifest

CHUNK = 500
LISTED = 10
CONTACT = Contact.__table__


@dataclass(frozen=True)
class BatchRead:
    id: int
    file_name: str
    format: str
    created_at: datetime
    counts: dict[str, int]
    undone_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file_name": self.file_name,
            "format": self.format,
            "created_at": self.created_at.isoformat(),
            "counts": dict(self.counts),
            "undone_at": self.undone_at.isoformat() if self.undone_at else None,
        }


@dataclass(frozen=True)
class UndoResult:
    batch: BatchRead
    deleted: int  # contacts the batch had created
    restored: int  # contacts put back as they were
    gone: int  # contacts purged since, nothing to do


def list_batches(session: Session) -> list[BatchRead]:
    rows = session.execute(select(ImportBatch).order_by(ImportBatch.id.desc())).scalars()
    return [_read(row) for row in rows]


def _read(row: ImportBatch) -> BatchRead:
    return BatchRead(
        row.id, row.file_name, row.format, row.created_at, json.loads(row.counts), row.undone_at
    )


def undo_batch(
    session: Session, batch_id: int, *, force: bool = False, now: datetime | None = None
) -> UndoResult:
    now = now or datetime.now(UTC)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"no import batch #{batch_id}; see `crm import --list`")
    if batch.undone_at is not None:
        raise UserError(
            f"import batch #{batch_id} was already undone on {batch.undone_at:%Y-%m-%d %H:%M}"
        )
    changes = session.execute(
        select(ImportChange.contact_id, ImportChange.action, ImportChange.before).where(
            ImportChange.batch_id == batch_id
        )
    ).all()
    changes = [c for c in changes if c[0] != MANIFEST_ID]
    manifest = read_manifest(session, batch_id)
    created = [cid for cid, action, _b in changes if action == "created"]
    before = {cid: json.loads(b) for cid, action, b in changes if action == "updated"}
    alive = _versions(session, created + list(before))
    expected = {cid: 1 for cid in created}
    expected.update((cid, b["contact"]["version"] + 1) for cid, b in before.items())
    touched = _changed_since(session, batch.created_at, alive, expected)
    touched += changed_deals(session, manifest.get("deals", []), batch.created_at)
    if touched and not force:
        listing = ", ".join(f"#{cid} {name}" for cid, name in touched[:LISTED])
        deals = any(str(name).startswith("deal ") for _cid, name in touched)
        what = "record(s)" if deals else "contact(s)"
        more = f" and {len(touched) - LISTED} more" if len(touched) > LISTED else ""
        raise UserError(
            f"{len(touched)} {what} of import #{batch_id} changed since: {listing}{more}; "
            "undoing would lose those changes (use --force to undo anyway)"
        )
    doomed = [cid for cid in created if cid in alive]
    for start in range(0, len(doomed), CHUNK):
        session.execute(delete(Contact).where(Contact.id.in_(doomed[start : start + CHUNK])))
    restorable = {cid: b for cid, b in before.items() if cid in alive}
    _restore(session, restorable)
    _restore_deals(session, restorable)
    undo_manifest(session, manifest)
    batch.undone_at = now
    session.flush()
    gone = len(created) + len(before) - len(doomed) - len(restorable)
    return UndoResult(_read(batch), len(doomed), len(restorable), gone)


def _versions(session: Session, ids: list[int]) -> dict[int, tuple[int, str, Any]]:
    """id → (version, name) of those contacts still in the database (trashed
    ones too: trashing moves the version on)."""
    found = {}
    for start in range(0, len(ids), CHUNK):
        query = select(Contact.id, Contact.version, Contact.name).where(
            Contact.id.in_(ids[start : start + CHUNK])
        )
        found.update((cid, (v, name)) for cid, v, name in session.execute(query))
    return found


def _changed_since(session, since: datetime, alive: dict, expected: dict) -> list[tuple]:
    """Contacts edited, moved or trashed since (each moves the version on),
    or given an interaction or follow-up after the import."""
    touched = {cid for cid, (version, _name) in alive.items() if version != expected[cid]}
    ids = sorted(alive)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for model in (Interaction, FollowUp):
            query = select(model.contact_id).where(
                model.contact_id.in_(chunk), model.created_at > since
            )
            touched.update(session.execute(query.distinct()).scalars())
    return sorted((cid, alive[cid][1]) for cid in touched)


def _restore(session: Session, before: dict[int, dict]) -> None:
    """Every column, the tags and the stage history as they were."""
    if not before:
        return
    columns = [c for c in CONTACT.columns if c.name != "id"]
    statement = (
        update(CONTACT)
        .where(CONTACT.c.id == bindparam("b_id"))
        .values({c.name: bindparam("b_" + c.name, type_=c.type) for c in columns})
    )
    rows = []
    for cid, state in before.items():
        contact = state["contact"]
        row = {"b_id": cid}
        for column in columns:
            value = contact.get(column.name)
            if value is not None and column.name.endswith("_at"):
                value = datetime.fromisoformat(value)
            row["b_" + column.name] = value
        # The version goes back too: an editor holding the imported state is
        # refused (the versions differ), and undoing an older batch next finds
        # its contacts as that batch left them.
        rows.append(row)
    session.execute(statement, rows)
    ids = list(before)
    added = [i for state in before.values() for i in state.get("stage_changes_added", [])]
    for start in range(0, max(len(ids), len(added)), CHUNK):
        moves, contacts = added[start : start + CHUNK], ids[start : start + CHUNK]
        session.execute(delete(StageChange).where(StageChange.id.in_(moves)))
        session.execute(delete(ContactTag).where(ContactTag.contact_id.in_(contacts)))
    names = sorted({t for state in before.values() for t in state["tags"]})
    tag_ids = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())
    links = [
        {"contact_id": cid, "tag_id": tag_ids[t]}
        for cid, state in before.items()
        for t in state["tags"]
        if t in tag_ids
    ]
    if links:
        session.execute(insert(ContactTag.__table__), links)


def _restore_deals(session: Session, before: dict[int, dict]) -> None:
    """Each updated contact's deal as it was, and no deal where it had none."""
    table = Deal.__table__
    doomed = [state["deal_created"] for state in before.values() if "deal_created" in state]
    if doomed:
        session.execute(delete(table).where(table.c.id.in_(doomed)))
    states = [state["deal"] for state in before.values() if "deal" in state]
    if not states:
        return
    columns = [c for c in table.columns if c.name != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c.name: bindparam("b_" + c.name, type_=c.type) for c in columns})
    )
    rows = []
    for deal in states:
        row = {"b_id": deal["id"]}
        for column in columns:
            value = deal.get(column.name)
            if value is not None and column.name.endswith("_at"):
                value = datetime.fromisoformat(value)
            elif value is not None and column.name == "expected_close":
                value = date.fromisoformat(value)
            row["b_" + column.name] = value
        rows.append(row)
    session.execute(statement, rows)
