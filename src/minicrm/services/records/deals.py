"""Deal rows at the bottom of the service layers: opening a deal, recording a
stage move, and keeping a contact's copy of its current deal in step.

Contacts (one level up) open a contact's first deal through here, so this
module imports nothing from the other services but config.
"""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from minicrm.models import LOST, WON, Contact, Deal, StageChange

CLOSED = (WON, LOST)
# What a contact shows of its current deal (SPEC §1a: the open one, else the
# most recent), NULL without a deal.
MIRRORED = ("stage", "stage_entered_at", "value_cents", "lost_reason", "score")


def open_deal(
    session: Session,
    *,
    title: str,
    stage: str,
    now: datetime,
    contact_id: int | None = None,
    company_id: int | None = None,
    value_cents: int | None = None,
    lost_reason: str | None = None,
    **fields,
) -> Deal:
    """Insert a deal in `stage` and its first stage-history entry. A deal
    opened straight into won or lost is closed now, with no stage to blame."""
    deal = Deal(
        title=title,
        stage=stage,
        contact_id=contact_id,
        company_id=company_id,
        value_cents=value_cents,
        lost_reason=lost_reason if stage == LOST else None,
        stage_entered_at=now,
        closed_at=now if stage in CLOSED else None,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(deal)
    session.flush()
    session.add(
        StageChange(deal_id=deal.id, contact_id=contact_id, from_stage=None, to_stage=stage, at=now)
    )
    return deal


def record_deal_move(
    session: Session, deal: Deal, old_stage: str, at: datetime, reason: str | None
) -> None:
    """Book the move of `deal` (its new stage already set) from `old_stage` at `at`."""
    if deal.stage == LOST:
        reason = reason or deal.lost_reason
        deal.lost_reason = reason
        deal.lost_at_stage = old_stage if old_stage not in CLOSED else None
    elif old_stage == LOST:
        deal.lost_reason = None
        deal.lost_at_stage = None
    deal.closed_at = at if deal.stage in CLOSED else None
    deal.stage_entered_at = at
    session.add(
        StageChange(
            deal_id=deal.id,
            contact_id=deal.contact_id,
            from_stage=old_stage,
            to_stage=deal.stage,
            at=at,
            reason=reason,
        )
    )


def _current_deal_query(contact_id):
    return (
        select(Deal)
        .where(Deal.contact_id == contact_id, Deal.deleted_at.is_(None))
        .order_by(Deal.stage.in_(CLOSED), Deal.created_at.desc(), Deal.id.desc())
        .limit(1)
    )


def current_deal(session: Session, contact_id: int) -> Deal | None:
    """The contact's open deal (the newest if several), else its most recent one."""
    return session.execute(_current_deal_query(contact_id)).scalar()


def open_deals_of(session: Session, contact_id: int) -> list[Deal]:
    return list(
        session.execute(
            select(Deal)
            .where(
                Deal.contact_id == contact_id,
                Deal.deleted_at.is_(None),
                Deal.stage.not_in(CLOSED),
            )
            .order_by(Deal.created_at, Deal.id)
        ).scalars()
    )


def mirror_current_deal(session: Session, contact: Contact) -> None:
    """Copy the contact's current deal's funnel fields onto it (None without one)."""
    session.flush()
    deal = current_deal(session, contact.id)
    for name in MIRRORED:
        setattr(contact, name, getattr(deal, name) if deal is not None else None)


def mirror_current_deals(session: Session, contact_ids: list[int] | None = None) -> None:
    """The same for many contacts in one UPDATE (all of them with None)."""
    session.flush()
    candidate = aliased(Deal)
    current_id = (
        select(candidate.id)
        .where(candidate.contact_id == Contact.id, candidate.deleted_at.is_(None))
        .order_by(candidate.stage.in_(CLOSED), candidate.created_at.desc(), candidate.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )
    values = {
        name: select(getattr(Deal, name)).where(Deal.id == current_id).scalar_subquery()
        for name in MIRRORED
    }
    statement = update(Contact).values(**values)
    if contact_ids is not None:
        if not contact_ids:
            return
        for start in range(0, len(contact_ids), 900):
            chunk = contact_ids[start : start + 900]
            session.execute(
                statement.where(Contact.id.in_(chunk)),
                execution_options={"synchronize_session": False},
            )
    else:
        session.execute(statement, execution_options={"synchronize_session": False})
    session.expire_all()


def open_deal_counts(session: Session, contact_ids: list[int]) -> dict[int, int]:
    if not contact_ids:
        return {}
    rows = session.execute(
        select(Deal.contact_id, func.count())
        .where(
            Deal.contact_id.in_(contact_ids),
            Deal.deleted_at.is_(None),
            Deal.stage.not_in(CLOSED),
        )
        .group_by(Deal.contact_id)
    )
    return dict(rows.all())


def trash_deals_of(session: Session, contact_id: int, now: datetime) -> None:
    """A trashed contact's live deals go to the trash with it, stamped alike,
    so restoring the contact brings back exactly those."""
    session.execute(
        update(Deal)
        .where(Deal.contact_id == contact_id, Deal.deleted_at.is_(None))
        .values(deleted_at=now, version=Deal.version + 1)
    )


def restore_deals_of(session: Session, contact_id: int, trashed_at: datetime) -> None:
    session.execute(
        update(Deal)
        .where(Deal.contact_id == contact_id, Deal.deleted_at == trashed_at)
        .values(deleted_at=None, version=Deal.version + 1)
    )


def deal_to_move(session: Session, contact: Contact) -> Deal | None:
    """The deal `crm stage REF` moves: the contact's only open deal; with
    none open, its most recent deal (reopening it); None without any deal.
    Several open deals are a question only the user can answer."""
    from minicrm.errors import UserError

    candidates = open_deals_of(session, contact.id)
    if len(candidates) > 1:
        listing = ", ".join(f"#{d.id} {d.title} ({d.stage})" for d in candidates[:10])
        raise UserError(
            f"#{contact.id} {contact.name} has {len(candidates)} open deals: {listing}; "
            "use `crm deal stage ID STAGE`"
        )
    if candidates:
        return candidates[0]
    return current_deal(session, contact.id)
