"""Merge contacts into one: KEEP takes the others' deals, interactions,
follow-ups, tags and cadences, fills its empty fields from them, and the
others are deleted for good."""

import importlib.util
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import (
    Cadence,
    Contact,
    ContactRead,
    ContactTag,
    Deal,
    FollowUp,
    Interaction,
    StageChange,
)
from minicrm.services.contacts.editing import search_text_of
from minicrm.services.records.contacts import read_contacts, resolve_ref
from minicrm.services.records.deals import mirror_current_deal
from minicrm.settings import current_user
from minicrm.text import search_text

# Fields a merge may fill on KEEP. Not stage, value, lost_reason or score:
# those are KEEP's copy of its current deal (SPEC §1a), refreshed after the
# others' deals have moved to KEEP.
FILLABLE = (
    "email", "phone", "company", "title", "city", "region", "country", "industry", "source",
    "owner", "notes",
)  # fmt: skip


@dataclass
class MergeResult:
    contact: ContactRead  # KEEP, after the merge
    merged: list[ContactRead]  # the others, as they were before they went
    moved: dict[str, int] = field(default_factory=dict)  # rows per kind, to KEEP
    filled: list[str] = field(default_factory=list)  # KEEP's empty fields now set

    def to_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.to_json(),
            "merged": [c.to_json() for c in self.merged],
            "moved": dict(self.moved),
            "filled": list(self.filled),
        }


def merge_contacts(
    session: Session, keep_ref: str | int, other_refs: list, *, now: datetime | None = None
) -> MergeResult:
    """Merge OTHERs into KEEP and delete them for good.

    KEEP takes their deals, interactions, follow-ups, stage history, tags (union),
    a cadence if it has none, and every field it has empty (first non-empty
    value in the order given; extra keys it lacks). Each merge is written in
    KEEP's timeline as a note by the current user. The caller's transaction
    makes it all or nothing.

    Stage history moves row for row, unchanged: nothing the other record went
    through is lost, and the funnel's reached/won/lost stay true of the
    person. Moved rows say which contact they came from (merged_from_id), so
    KEEP's timeline shows each other's history as a block of its own. Their
    deals become KEEP's (they would otherwise go with them), so KEEP's stage,
    value and score are then those of its current deal: its newest open one,
    else its most recent."""
    now = now or datetime.now(UTC)
    keep = _mergeable(session, keep_ref)
    others: dict[int, Contact] = {}
    for ref in other_refs:
        other = _mergeable(session, ref)
        if other.id == keep.id:
            raise UserError(f"#{keep.id} {keep.name} is the contact to keep; leave it out of OTHER")
        others.setdefault(other.id, other)
    if not others:
        raise UserError("name at least one contact to merge into KEEP")
    before = read_contacts(session, list(others.values()))
    other_ids = list(others)
    _label_history(session, list(others.values()))
    moved = _move_rows(session, keep.id, other_ids)
    filled = _fill_fields(keep, list(others.values()))
    for other in before:
        _note_merge(session, keep.id, other, now)
    session.execute(delete(Contact).where(Contact.id.in_(other_ids)))
    keep.search_text = search_text_of(keep)
    keep.updated_at = now
    keep.version += 1
    session.flush()
    mirror_current_deal(session, keep)
    session.flush()
    _refresh_score(session, keep.id, now)
    session.flush()  # the score refresh sets KEEP's copy of its deal's score
    session.refresh(keep)
    return MergeResult(read_contacts(session, [keep])[0], before, moved, filled)


def _mergeable(session: Session, ref: str | int) -> Contact:
    """The live contact REF names; a trashed one is refused with a way out."""
    try:
        return resolve_ref(session, ref)
    except NotFoundError as missing:
        try:
            trashed = resolve_ref(session, ref, deleted=True)
        except UserError:
            raise missing from None
        raise UserError(
            f"#{trashed.id} {trashed.name} is in the trash; "
            f"`crm restore {trashed.id}` first to merge it"
        ) from None


def _label_history(session: Session, others: list[Contact]) -> None:
    """Mark each other's interactions and stage history with where they came
    from, before they move, so KEEP's timeline shows them as its block. A
    row merged before (a chain of merges) keeps its first origin."""
    for table in (Interaction, StageChange):
        for other in others:
            session.execute(
                update(table)
                .where(table.contact_id == other.id, table.merged_from_id.is_(None))
                .values(merged_from_id=other.id, merged_from_name=other.name)
                .execution_options(synchronize_session=False)
            )


def _move_rows(session: Session, keep_id: int, other_ids: list[int]) -> dict[str, int]:
    """Re-point the others' rows at KEEP. Deals first: deal.contact_id
    cascades, so a deal left behind would take its stage history with it."""
    moved = {}
    for name, table in (
        ("deals", Deal), ("interactions", Interaction), ("followups", FollowUp),
        ("stage_changes", StageChange),
    ):  # fmt: skip
        result = session.execute(
            update(table)
            .where(table.contact_id.in_(other_ids))
            .values(contact_id=keep_id)
            .execution_options(synchronize_session=False)
        )
        moved[name] = result.rowcount
    has_tag = select(ContactTag.tag_id).where(ContactTag.contact_id == keep_id)
    new_tags = (
        select(ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(other_ids), ContactTag.tag_id.not_in(has_tag))
        .distinct()
    )
    tag_ids = session.execute(new_tags).scalars().all()
    for tag_id in tag_ids:
        session.add(ContactTag(contact_id=keep_id, tag_id=tag_id))
    moved["tags"] = len(tag_ids)
    moved["cadence"] = 0
    if session.execute(select(Cadence.id).where(Cadence.contact_id == keep_id)).first() is None:
        # contact_id is unique: KEEP takes the first OTHER's cadence (in the
        # order given); the rest are deleted with their contacts.
        theirs = session.execute(select(Cadence).where(Cadence.contact_id.in_(other_ids)))
        by_contact = {c.contact_id: c for c in theirs.scalars()}
        first = next((by_contact[i] for i in other_ids if i in by_contact), None)
        if first is not None:
            first.contact_id, moved["cadence"] = keep_id, 1
    session.flush()
    return moved


def _fill_fields(keep: Contact, others: list[Contact]) -> list[str]:
    filled = []
    for name in FILLABLE:
        if getattr(keep, name) not in (None, ""):
            continue
        value = next((getattr(o, name) for o in others if getattr(o, name) not in (None, "")), None)
        if value is not None:
            setattr(keep, name, value)
            filled.append(name)
            if name == "company":  # the company link goes with its mirrored name
                keep.company_id = next(o.company_id for o in others if o.company == value)
    extra = json.loads(keep.extra) if keep.extra else {}
    for other in others:
        for key, value in (json.loads(other.extra) if other.extra else {}).items():
            if key not in extra:
                extra[key] = value
                filled.append(f"extra.{key}")
    keep.extra = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return filled


def _note_merge(session: Session, keep_id: int, other: ContactRead, now: datetime) -> None:
    """A note is how KEEP's timeline shows events for now; like any note it
    also counts as an interaction (scores, cadence clock)."""
    reach = other.email or other.phone
    summary = f"Merged #{other.id} {other.name}{f' ({reach})' if reach else ''} into this contact"
    session.add(
        Interaction(
            contact_id=keep_id, kind="merge", at=now, summary=summary,
            search_text=search_text(summary), owner=current_user(), created_at=now,
        )
    )  # fmt: skip


def _refresh_score(session: Session, contact_id: int, now: datetime) -> None:
    # Scoring is optional: a build without it still merges.
    if importlib.util.find_spec("minicrm.services.scoring") is None:
        return
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact_id, now=now)
