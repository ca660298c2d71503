"""Recent activity: the latest interactions across every live contact."""

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact, Interaction, InteractionRead, is_contact_with_customer


class RecentInteraction(InteractionRead):
    """An interaction with the name of the contact it belongs to."""

    contact_name: str

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "contact_name": self.contact_name}


def recent_interactions(session: Session, *, limit: int = 10) -> list[RecentInteraction]:
    """The newest `limit` interactions of live contacts, newest first (a
    merge is not one).

    Walks ix_interaction_at backwards, so the cost is the rows returned (plus
    any of trashed contacts skipped on the way), not the size of the table."""
    if limit < 1:
        raise UserError("the number of recent interactions must be 1 or more")
    rows = session.execute(
        select(Interaction, Contact.name)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Contact.deleted_at.is_(None), is_contact_with_customer(Interaction.kind))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentInteraction(
            id=row.id,
            contact_id=row.contact_id,
            deal_id=row.deal_id,
            contact_name=name,
            kind=row.kind,
            at=row.at,
            summary=row.summary,
            amount_cents=row.amount_cents,
            owner=row.owner,
        )
        for row, name in rows
    ]
