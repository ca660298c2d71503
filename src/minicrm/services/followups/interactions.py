"""Interactions: calls, emails, visits, purchases… logged against a contact."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import ValidationError
from minicrm.models import EVENT_KINDS, WON, Interaction, InteractionRead, is_contact_with_customer
from minicrm.services.records.contacts import resolve_ref
from minicrm.services.records.validation import clean_text, money_to_cents
from minicrm.settings import current_user
from minicrm.text import search_text

KINDS = ("call", "email", "meeting", "note", "sms", "visit", "quote", "purchase")


def normalize_kind(kind: str, *, events: bool = False) -> str:
    """A kind a user may log; `events` also allows the kinds minicrm writes
    itself (EVENT_KINDS), as a restored backup holds them."""
    wanted = (kind or "").strip().casefold()
    if wanted not in KINDS and not (events and wanted in EVENT_KINDS):
        raise ValidationError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}", field="kind")
    return wanted


def log_interaction(
    session: Session,
    ref: str | int,
    kind: str,
    summary: str | None = None,
    *,
    at: datetime | None = None,
    amount=None,
    owner: str | None = None,
    deal: str | int | None = None,
    now: datetime | None = None,
) -> InteractionRead:
    """Record what happened with a contact (at `at`, default now).

    The owner is who logged it: `owner`, else CRM_USER or the OS user.
    `deal` (a deal REF) links it to one of the contact's live deals. A
    purchase logged without one goes to the contact's current deal when that
    deal is won, so the one-deal shop's revenue is counted once (segments
    count a won deal's linked purchases instead of its value)."""
    now = now or datetime.now(UTC)
    contact = resolve_ref(session, ref)
    summary = clean_text(summary)
    deal_id = None
    if deal is not None and str(deal).strip():
        from minicrm.services.deals.deals import live_deal_for

        deal_id = live_deal_for(session, deal, contact.id).id
    elif normalize_kind(kind) == "purchase":
        deal_id = _won_current_deal_id(session, contact.id)
    row = Interaction(
        contact_id=contact.id,
        deal_id=deal_id,
        kind=normalize_kind(kind),
        at=at or now,
        summary=summary,
        search_text=search_text(summary),
        amount_cents=money_to_cents(amount, field="amount"),
        owner=clean_text(owner) or current_user(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return InteractionRead.model_validate(row, from_attributes=True)


def _won_current_deal_id(session: Session, contact_id: int) -> int | None:
    from minicrm.services.records.deals import current_deal

    deal = current_deal(session, contact_id)
    return deal.id if deal is not None and deal.stage == WON else None


def last_interaction_at(session: Session, contact_id: int) -> datetime | None:
    return session.execute(
        select(func.max(Interaction.at)).where(
            Interaction.contact_id == contact_id, is_contact_with_customer(Interaction.kind)
        )
    ).scalar()
