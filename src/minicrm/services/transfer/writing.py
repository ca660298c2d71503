"""Writing a checked import in the caller's transaction.

New contacts go in through SQLAlchemy Core a chunk at a time, with the bulk
load helpers of bulk_load.py: FTS insert triggers paused and caught up
in one statement, the indexes rebuilt when the new rows outnumber the old,
datetimes stored without per-value processing on SQLite, each row laid out
as a tuple (at 100,000 rows, dicts built and taken apart again cost
seconds). Their scores are worked out from the row itself (new_scores.py:
a new contact has no interactions or follow-ups yet), each rule's verdict
remembered by the few values it reads.
Updated contacts are read, changed in memory and written back with one
executemany; their state before is kept in import_change for undo.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlmodel import Session

from minicrm.models import (
    LOST,
    WON,
    Contact,
    ContactTag,
    Deal,
    ImportChange,
    StageChange,
    Tag,
)
from minicrm.services.contacts.editing import dump_extra
from minicrm.services.records import config
from minicrm.services.records.contacts import tags_of
from minicrm.services.records.deals import mirror_current_deals
from minicrm.services.transfer.bulk import (
    Companies,
    deal_ids,
    sqlite_deal_indexes_paused,
    write_manifest,
)
from minicrm.services.transfer.bulk_load import RowWriter, sqlite_bulk_load
from minicrm.services.transfer.cleaning import Folder
from minicrm.services.transfer.deal_updates import sync_deals
from minicrm.services.transfer.new_scores import NewContactScorer

LOOKUP_CHUNK = 500
ID_BLOCK = 2_000  # PostgreSQL: ids drawn from the sequence this many at a time
STAMPS_KEPT = 10_000  # distinct times remembered (a sheet may give every row its own)
CONTACT = Contact.__table__
# The columns of a created contact, deal and stage change, in the order create() lays them out.
CONTACT_COLUMNS = (
    "id", "name", "name_folded", "email", "phone", "company", "company_id", "title", "city",
    "region", "country", "industry", "source", "stage", "stage_entered_at", "value_cents",
    "owner", "notes", "extra", "score", "lost_reason", "search_text", "created_at",
    "updated_at", "deleted_at", "version",
)  # fmt: skip
DEAL_COLUMNS = (
    "id", "title", "contact_id", "company_id", "stage", "stage_entered_at", "value_cents",
    "expected_close", "closed_at", "lost_reason", "lost_at_stage", "owner", "source", "score",
    "notes", "extra", "created_at", "updated_at", "deleted_at", "version",
)  # fmt: skip
CHANGE_COLUMNS = ("contact_id", "deal_id", "from_stage", "to_stage", "at", "reason")


class BulkWriter:
    def __init__(self, session: Session, batch_id: int, now: datetime, size_hint: int):
        self.session, self.batch_id, self.now = session, batch_id, now
        self.connection = session.connection()
        self.writer = RowWriter(self.connection)
        self.updated_at = self.stamp(now)
        self.first_stage = config.first_stage(session)
        existing = self.connection.execute(select(func.count()).select_from(CONTACT)).scalar()
        # Rebuilding an index beats inserting into it once the new rows outnumber the old.
        self.drops_indexes = size_hint > existing
        self.tag_ids: dict[str, int] = {}
        self.scorer = NewContactScorer(session, now)
        self._stamps: dict[tuple[datetime, int], Any] = {}
        self.folder = Folder()
        self._ids: Iterator[int] = self._id_source()
        self._deal_ids: Iterator[int] = deal_ids(self.connection)
        self.companies = Companies(session, self.writer)

    def stamp(self, value: datetime) -> Any:
        return self.writer.stamp(int(value.timestamp()))

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        with (
            sqlite_bulk_load(self.connection, indexes=self.drops_indexes),
            sqlite_deal_indexes_paused(self.connection, pause=self.drops_indexes),
        ):
            yield

    def next_id(self) -> int:
        return next(self._ids)

    def _id_source(self) -> Iterator[int]:
        """Ids for new contacts, known before writing so their history and tags
        go in the same bulk inserts. SQLite: this transaction holds the write
        lock; ids an older import gave are never handed out again, so an old
        batch's undo cannot reach a stranger. PostgreSQL: from the sequence."""
        if self.connection.dialect.name == "postgresql":
            draw = text("SELECT nextval(pg_get_serial_sequence('contact', 'id')) "
                        "FROM generate_series(1, :n)")  # fmt: skip
            while True:
                yield from self.connection.execute(draw, {"n": ID_BLOCK}).scalars().all()
        from minicrm.db import highest_id_used

        top = self.connection.execute(
            text("SELECT coalesce(max(contact_id), 0) FROM import_change")
        ).scalar()
        top = max(top, highest_id_used(self.connection, "contact"))
        while True:
            top += 1
            yield top

    def create(self, creates: list) -> None:
        if not creates:
            return
        self._ensure_tags({t for p in creates for t in p.tags})
        fold, known = self.folder.fold, self.companies.known
        keys = [fold(p.values["company"]) if p.values.get("company") else None for p in creates]
        names: dict[str, str] = {}
        for p, key in zip(creates, keys, strict=True):
            if key is not None:
                names.setdefault(key, p.values["company"])
        self.companies.resolve(names, self.now)
        contacts, deals, changes = [], [], []
        stamp, first, updated_at = self._stamp, self.first_stage, self.updated_at
        search_text = self.folder.search_text
        scores = self.scorer.scores(creates)
        for p, key, points in zip(creates, keys, scores, strict=True):
            get = p.values.get
            name, stage = p.values["name"], p.values["stage"]
            email, phone, notes, company = get("email"), get("phone"), get("notes"), get("company")
            value_cents, owner, source = get("value_cents"), get("owner"), get("source")
            lost_reason = get("lost_reason")
            found = known.get(key) if company else None
            company_id = found[0] if found else None
            if found:
                company = found[1]
            name_folded = fold(name)
            entered, created = stamp(p.entered_at), stamp(p.created_at)
            contact_id, deal_id = p.contact_id, next(self._deal_ids)
            contacts.append((
                contact_id, name, name_folded, email, phone, company, company_id, get("title"),
                get("city"), get("region"), get("country"), get("industry"), source, stage,
                entered, value_cents, owner, notes, dump_extra(p.extra) if p.extra else None,
                points, lost_reason, search_text(name_folded, email, phone, company, notes),
                created, updated_at, None, 1,
            ))  # fmt: skip
            steps = history(p, first)
            lost_from = steps[-1][0] if stage == LOST else None
            closed = stage in (WON, LOST)
            deals.append((
                deal_id, name, contact_id, company_id, stage, entered, value_cents, None,
                entered if closed else None, lost_reason if stage == LOST else None,
                lost_from if lost_from not in (WON, LOST) else None, owner, source, points,
                None, None, created, updated_at, None, 1,
            ))  # fmt: skip
            changes += [
                (contact_id, deal_id, f, t, stamp(at), reason) for f, t, at, reason in steps
            ]
        self.writer.insert_rows(Contact, CONTACT_COLUMNS, contacts)
        self.writer.insert_rows(Deal, DEAL_COLUMNS, deals)
        self.writer.insert_rows(StageChange, CHANGE_COLUMNS, changes)
        tag_ids = self.tag_ids
        self.writer.insert_rows(ContactTag, ("contact_id", "tag_id"), [
            (p.contact_id, tag_ids[t]) for p in creates for t in p.tags
        ])  # fmt: skip
        self.writer.insert_rows(ImportChange, ("batch_id", "contact_id", "action", "before"), [
            (self.batch_id, p.contact_id, "created", None) for p in creates
        ])  # fmt: skip

    def finish(self) -> None:
        """Record what the import made besides contacts, for undo."""
        write_manifest(self.session, self.batch_id, {"companies": self.companies.created})

    def _stamp(self, value: datetime) -> Any:
        """stamp(), remembered: most rows share a handful of times. (By fold
        as well: two times a clock shows twice compare equal in their zone.)"""
        key = (value, value.fold)
        found = self._stamps.get(key)
        if found is None:
            found = self.stamp(value)
            if len(self._stamps) < STAMPS_KEPT:
                self._stamps[key] = found
        return found

    def _ensure_tags(self, names: set[str]) -> None:
        missing = names - self.tag_ids.keys()
        if missing:
            self.tag_ids.update(tag_ids(self.connection, missing))

    def update(self, updates: list) -> tuple[set[int], set[int]]:
        """Fill or overwrite the fields each row gave, add its tags and extra
        keys, record a stage move; remember each contact's state before.
        Returns the ids of the contacts that changed: those that were here
        before the import, and those an earlier row of this file created (a
        later row only completed them: no update to undo, none to count)."""
        from minicrm.services.scoring.scores import recompute_scores

        if not updates:
            return set(), set()
        self._ensure_tags({t for p in updates for t in p.tags})
        changed, created_here = _apply_updates(
            self.session, self.batch_id, updates, self.tag_ids, self.now, self.companies
        )
        mirror_current_deals(self.session, changed)
        recompute_scores(self.session, changed, now=self.now)
        completed = created_here.intersection(changed)
        return set(changed) - completed, completed


def history(p, first_stage: str) -> list[tuple[str | None, str, datetime, str | None]]:
    """The stage changes of a new contact: its creation (from NULL), and the
    move into its stage if it entered that later than it was created."""
    stage = p.values["stage"]
    reason = p.values.get("lost_reason") if stage == LOST else None
    if p.entered_at == p.created_at:
        return [(None, stage, p.created_at, reason)]
    return [(None, first_stage, p.created_at, None), (first_stage, stage, p.entered_at, reason)]


def tag_ids(connection, names: set[str]) -> dict[str, int]:
    """Ids of these tags, creating those the database lacks."""
    have: dict[str, int] = {}
    ordered = sorted(names)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        have.update(connection.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all())
    missing = [{"name": name} for name in ordered if name not in have]
    if missing:
        connection.execute(insert(Tag.__table__), missing)
        return tag_ids(connection, names)
    return have


# ------------------------------------------------------------------ updates


def _apply_updates(
    session, batch_id, updates, tag_ids_by_name, now, companies
) -> tuple[list[int], set[int]]:
    ids = sorted({p.target for p in updates})
    created_here = set(
        session.execute(
            select(ImportChange.contact_id).where(
                ImportChange.batch_id == batch_id, ImportChange.action == "created"
            )
        ).scalars()
    )
    states: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        query = select(CONTACT).where(CONTACT.c.id.in_(ids[start : start + LOOKUP_CHUNK]))
        states.update((row["id"], dict(row)) for row in session.execute(query).mappings())
    tags = tags_of(session, ids)
    before = {
        cid: {"contact": _jsonable(states[cid]), "tags": list(tags.get(cid, []))}
        for cid in ids
        if cid not in created_here
    }
    original = {cid: dict(state) for cid, state in states.items()}
    moves, new_tags = [], []
    for p in sorted(updates, key=lambda p: p.line):
        cid = p.target
        moves += _overwrite(states[cid], p, now)
        have = tags.setdefault(cid, [])
        for tag in p.tags:
            if tag not in have:
                have.append(tag)
                new_tags.append({"contact_id": cid, "tag_id": tag_ids_by_name[tag]})
    folder = Folder()
    names = {folder.fold(s["company"]): s["company"] for s in states.values() if s["company"]}
    companies.resolve(names, now)
    for state in states.values():
        company = companies.of(state["company"])
        state["company_id"] = company[0] if company else None
        if company:
            state["company"] = company[1]
    changed = [cid for cid in ids if states[cid] != original[cid] or any(
        link["contact_id"] == cid for link in new_tags)]  # fmt: skip
    deals_before = sync_deals(session, changed, original, states, moves, now)
    for cid in changed:
        state = states[cid]
        state["name_folded"], state["search_text"] = folder.folded_row(state)
        # A contact this import created stays at version 1: undo knows it untouched.
        bump = 0 if cid in created_here else 1
        state.update(updated_at=now, version=original[cid]["version"] + bump)
    columns = [c.name for c in CONTACT.columns if c.name != "id"]
    if changed:
        statement = (
            update(CONTACT)
            .where(CONTACT.c.id == bindparam("b_id"))
            .values({n: bindparam("b_" + n, type_=CONTACT.c[n].type) for n in columns})
        )
        session.execute(statement, [
            {"b_id": cid, **{"b_" + n: states[cid][n] for n in columns}} for cid in changed
        ])  # fmt: skip
    if new_tags:
        session.execute(insert(ContactTag.__table__), new_tags)
    added = _insert_moves(session, moves)
    records = [
        {"batch_id": batch_id, "contact_id": cid, "action": "updated",
         "before": json.dumps({**before[cid], **deals_before.get(cid, {}),
                               "stage_changes_added": added.get(cid, [])},
                              ensure_ascii=False, sort_keys=True)}
        for cid in changed if cid in before
    ]  # fmt: skip
    if records:
        session.execute(insert(ImportChange.__table__), records)
    return changed, created_here


def _overwrite(state: dict[str, Any], p, now: datetime) -> list[dict[str, Any]]:
    old_stage = state["stage"]
    for name in p.given:
        column = "value_cents" if name == "value" else name
        state[column] = p.values.get(column)
    if p.extra:
        merged = json.loads(state["extra"]) if state["extra"] else {}
        merged.update(p.extra)
        state["extra"] = dump_extra(merged)
    if state["stage"] == old_stage:
        return []
    at = p.stage_at or now
    reason = None
    if state["stage"] == LOST:  # as services.records.deals.record_deal_move does
        reason = state["lost_reason"] = p.values.get("lost_reason")
    elif old_stage == LOST and "lost_reason" not in p.given:
        state["lost_reason"] = None
    state["stage_entered_at"] = at
    return [{"contact_id": state["id"], "from_stage": old_stage, "to_stage": state["stage"],
             "at": at, "reason": reason}]  # fmt: skip


def _insert_moves(session, moves: list[dict[str, Any]]) -> dict[int, list[int]]:
    """Insert the stage moves; returns their ids per contact, for undo."""
    if not moves:
        return {}
    table = StageChange.__table__
    statement = insert(table).returning(table.c.id, table.c.contact_id)
    added: dict[int, list[int]] = {}
    for change_id, contact_id in sorted(session.execute(statement, moves).all()):
        added.setdefault(contact_id, []).append(change_id)
    return added


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in state.items()
        if key != "id"
    }
