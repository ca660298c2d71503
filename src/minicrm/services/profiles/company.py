"""One company's whole picture for `crm company show`: its fields, its
people, its open deals, its won revenue and its people's merged timeline."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.models import (
    WON,
    CompanyRead,
    Contact,
    ContactRead,
    Deal,
    DealRead,
    Interaction,
    InteractionRead,
)
from minicrm.services.companies.reading import read_company, resolve_company
from minicrm.services.records.deals import CLOSED
from minicrm.services.scoring.freshness import ensure_fresh_scores


@dataclass
class CompanyTimelineEntry:
    interaction: InteractionRead
    contact_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "interaction",
            **self.interaction.to_json(),
            "contact_name": self.contact_name,
        }


@dataclass
class CompanyProfile:
    company: CompanyRead
    people: list[ContactRead] = field(default_factory=list)
    deals: list[DealRead] = field(default_factory=list)  # open ones, soonest close first
    won_revenue_cents: int = 0
    timeline: list[CompanyTimelineEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.company.to_json(),
            "people": [p.to_json() for p in self.people],
            "deals": [d.to_json() for d in self.deals],
            "won_revenue": self.won_revenue_cents / 100,
            "timeline": [t.to_json() for t in self.timeline],
        }


def company_profile(
    session: Session,
    ref: str | int,
    *,
    timeline_limit: int = 20,
    deleted: bool = False,
    now: datetime | None = None,
) -> CompanyProfile:
    from minicrm.errors import UserError
    from minicrm.services.deals.reading import read_deals
    from minicrm.services.records.contacts import read_contacts

    ensure_fresh_scores(session, now=now)
    if timeline_limit < 0:
        raise UserError("--limit cannot be negative")
    company = resolve_company(session, ref, deleted=deleted)
    people = session.execute(
        select(Contact)
        .where(Contact.company_id == company.id, Contact.deleted_at.is_(None))
        .order_by(Contact.name_folded, Contact.id)
    ).scalars()
    deals = session.execute(
        select(Deal)
        .where(Deal.company_id == company.id, Deal.deleted_at.is_(None), Deal.stage.not_in(CLOSED))
        # soonest expected close first; deals without a date after them
        .order_by(Deal.expected_close.is_(None), Deal.expected_close, Deal.id)
    ).scalars()
    won = session.execute(
        select(func.coalesce(func.sum(Deal.value_cents), 0)).where(
            Deal.company_id == company.id, Deal.deleted_at.is_(None), Deal.stage == WON
        )
    ).scalar()
    timeline = session.execute(
        select(Interaction, Contact.name)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Contact.company_id == company.id, Contact.deleted_at.is_(None))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(timeline_limit)
    ).all()
    return CompanyProfile(
        company=read_company(session, company),
        people=read_contacts(session, list(people)),
        deals=read_deals(session, list(deals)),
        won_revenue_cents=int(won or 0),
        timeline=[
            CompanyTimelineEntry(
                InteractionRead.model_validate(i, from_attributes=True), contact_name
            )
            for i, contact_name in timeline
        ],
    )
