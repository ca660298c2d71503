"""The one-deal shortcut on contact edits (SPEC §1a): `crm edit REF
--stage/--value/--lost-reason` changes the deal `crm stage` would move, and
a new owner or source of the contact carries over to its open deals."""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session

from minicrm.errors import ValidationError
from minicrm.models import CLOSED_STAGES, LOST, Contact, Deal
from minicrm.services.records import config
from minicrm.services.records.deals import (
    deal_to_move,
    mirror_current_deal,
    open_deal,
    record_deal_move,
)

# A contact's owner and source are also its deals' until a deal says otherwise.
FOLLOWED_BY_DEALS = ("owner", "source")


def follow_on_open_deals(session: Session, contact: Contact, values: dict[str, Any]) -> None:
    """An edit of the contact's owner or source carries over to its open
    deals that still had the contact's old value (or none), so `crm edit REF
    --owner sam` hands the whole customer over in the one-deal shop."""
    for name in FOLLOWED_BY_DEALS:
        if name not in values or values[name] == getattr(contact, name):
            continue
        column = getattr(Deal, name)
        old = getattr(contact, name)
        session.execute(
            update(Deal)
            .where(
                Deal.contact_id == contact.id,
                Deal.deleted_at.is_(None),
                Deal.stage.not_in(CLOSED_STAGES),
                or_(column.is_(None), column == old) if old is not None else column.is_(None),
            )
            .values({name: values[name], "version": Deal.version + 1}),
            execution_options={"synchronize_session": False},
        )


def edit_current_deal(
    session: Session, contact: Contact, values: dict[str, Any], reason: str | None, now: datetime
) -> None:
    """`crm edit --stage/--value/--lost-reason`: the one-deal shortcut. The
    deal is the one `crm stage` would move; a contact without any gets its
    first deal."""
    deal = deal_to_move(session, contact)
    if deal is None:
        stage = values.get("stage") or config.first_stage(session)
        values = {**values, "stage": stage}
        if stage == LOST and not values.get("lost_reason"):
            raise ValidationError(
                "a lost contact needs a reason (--lost-reason)", field="lost_reason"
            )
        open_deal(
            session, title=contact.name, contact_id=contact.id, company_id=contact.company_id,
            owner=contact.owner, source=contact.source, now=now, **values,
        )  # fmt: skip
    else:
        old_stage = deal.stage
        for name, value in values.items():
            setattr(deal, name, value)
        if deal.stage != old_stage:
            record_deal_move(session, deal, old_stage, now, reason)
        deal.updated_at = now
        deal.version += 1
    mirror_current_deal(session, contact)
