"""One contact's whole picture for `crm show` and the TUI's contact screen."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from minicrm.models import (
    Contact,
    ContactRead,
    DealRead,
    FollowUp,
    FollowUpRead,
    Interaction,
    InteractionRead,
    StageChange,
    StageChangeRead,
)
from minicrm.services.records.contacts import read_contact, resolve_ref
from minicrm.services.scoring.freshness import ensure_fresh_scores


@dataclass
class TimelineEntry:
    """An interaction or a stage change, newest first in a timeline. One
    that came with a merged contact names it (merged_from_id/name)."""

    at: datetime
    interaction: InteractionRead | None = None
    stage_change: StageChangeRead | None = None
    merged_from_id: int | None = None
    merged_from_name: str | None = None

    def to_json(self) -> dict:
        if self.interaction is not None:
            entry = {"type": "interaction", **self.interaction.to_json()}
        else:
            entry = {"type": "stage_change", **self.stage_change.to_json()}
        merged = self.merged_from_id
        entry["merged_from"] = None if merged is None else {
            "id": merged, "name": self.merged_from_name,
        }  # fmt: skip
        return entry


@dataclass
class ContactProfile:
    contact: ContactRead
    timeline: list[TimelineEntry]
    open_followups: list[FollowUpRead]
    deals: list[DealRead] = field(default_factory=list)  # open first, then the newest


def contact_profile(
    session: Session,
    ref: str | int,
    *,
    timeline_limit: int = 20,
    deleted: bool = False,
    now: datetime | None = None,
) -> ContactProfile:
    from minicrm.services.deals.reading import deals_of_contact

    ensure_fresh_scores(session, now=now)
    contact = resolve_ref(session, ref, deleted=deleted)
    return ContactProfile(
        contact=read_contact(session, contact),
        timeline=contact_timeline(session, contact.id, limit=timeline_limit),
        open_followups=open_followups_of(session, contact),
        deals=deals_of_contact(session, contact.id),
    )


def contact_timeline(session: Session, contact_id: int, *, limit: int = 20) -> list[TimelineEntry]:
    """The contact's own newest `limit` interactions and stage changes,
    merged by time; then, for each contact merged into it (the latest merge
    first), the newest `limit` of the history that came with it."""
    entries = _history_block(session, contact_id, None, limit)
    for merged_id in _merged_contacts(session, contact_id):
        entries += _history_block(session, contact_id, merged_id, limit)
    return entries


def _history_block(
    session: Session, contact_id: int, merged_from_id: int | None, limit: int
) -> list[TimelineEntry]:
    def newest(table):
        origin = table.merged_from_id
        return session.execute(
            select(table)
            .where(
                table.contact_id == contact_id,
                origin.is_(None) if merged_from_id is None else origin == merged_from_id,
            )
            .order_by(table.at.desc(), table.id.desc())
            .limit(limit)
        ).scalars()

    entries = [
        TimelineEntry(i.at, interaction=InteractionRead.model_validate(i, from_attributes=True),
                      merged_from_id=i.merged_from_id, merged_from_name=i.merged_from_name)
        for i in newest(Interaction)
    ] + [
        TimelineEntry(c.at, stage_change=StageChangeRead.model_validate(c, from_attributes=True),
                      merged_from_id=c.merged_from_id, merged_from_name=c.merged_from_name)
        for c in newest(StageChange)
    ]  # fmt: skip
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _merged_contacts(session: Session, contact_id: int) -> list[int]:
    """Ids of the contacts whose history came with merges, latest merge first
    (a merged contact's newest row is older than the merge, so by id)."""
    ids: set[int] = set()
    for table in (Interaction, StageChange):
        ids.update(
            session.execute(
                select(table.merged_from_id)
                .where(table.contact_id == contact_id, table.merged_from_id.is_not(None))
                .distinct()
            ).scalars()
        )
    return sorted(ids, reverse=True)


def open_followups_of(session: Session, contact: Contact) -> list[FollowUpRead]:
    rows = session.execute(
        select(FollowUp)
        .where(FollowUp.contact_id == contact.id, FollowUp.done_at.is_(None))
        .order_by(FollowUp.due_at)
    ).scalars()
    return [
        FollowUpRead.model_validate(
            {**row.model_dump(), "contact_name": contact.name}, from_attributes=False
        )
        for row in rows
    ]
