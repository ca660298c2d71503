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
    """An interaction or a stage change, newest first in a timeline."""

    at: datetime
    interaction: InteractionRead | None = None
    stage_change: StageChangeRead | None = None

    def to_json(self) -> dict:
        if self.interaction is not None:
            return {"type": "interaction", **self.interaction.to_json()}
        return {"type": "stage_change", **self.stage_change.to_json()}


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
    """The newest `limit` interactions and stage changes, merged by time."""
    interactions = session.execute(
        select(Interaction)
        .where(Interaction.contact_id == contact_id)
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(limit)
    ).scalars()
    changes = session.execute(
        select(StageChange)
        .where(StageChange.contact_id == contact_id)
        .order_by(StageChange.at.desc(), StageChange.id.desc())
        .limit(limit)
    ).scalars()
    entries = [
        TimelineEntry(at=i.at, interaction=InteractionRead.model_validate(i, from_attributes=True))
        for i in interactions
    ] + [
        TimelineEntry(at=c.at, stage_change=StageChangeRead.model_validate(c, from_attributes=True))
        for c in changes
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


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
