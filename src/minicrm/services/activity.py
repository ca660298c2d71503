"""Recent activity: the latest interactions across every live contact."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact, Interaction, cents_to_major


class RecentInteraction(BaseModel):
    """An interaction with the name of the contact it belongs to."""

    id: int
    contact_id: int
    contact_name: str
    kind: str
    at: datetime
    summary: str | None = None
    amount_cents: int | None = None
    owner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "summary": self.summary,
            "amount": cents_to_major(self.amount_cents),
            "owner": self.owner,
        }


def recent_interactions(session: Session, *, limit: int = 10) -> list[RecentInteraction]:
    """The newest `limit` interactions of live contacts, newest first.

    Walks ix_interaction_at backwards, so the cost is the rows returned (plus
    any of trashed contacts skipped on the way), not the size of the table."""
    if limit < 1:
        raise UserError("the number of recent interactions must be 1 or more")
    rows = session.execute(
        select(Interaction, Contact.name)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Contact.deleted_at.is_(None))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentInteraction(
            id=row.id,
            contact_id=row.contact_id,
            contact_name=name,
            kind=row.kind,
            at=row.at,
            summary=row.summary,
            amount_cents=row.amount_cents,
            owner=row.owner,
        )
        for row, name in rows
    ]
