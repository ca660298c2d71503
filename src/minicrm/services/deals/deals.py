"""Deals by id: add, edit, trash, restore, move stage, win, lose, show.

Every change bumps the deal's version and updated_at, then brings its
contact's copy of the current deal up to date and rescores the contact.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    Deal,
    DealRead,
    Interaction,
    InteractionRead,
    StageChange,
    StageChangeRead,
)
from minicrm.services.deals.reading import read_deal, resolve_deal
from minicrm.services.records import config
from minicrm.services.records.deals import mirror_current_deal, open_deal
from minicrm.services.records.validation import clean_text, money_to_cents
from minicrm.services.scoring.freshness import ensure_fresh_scores
from minicrm.settings import current_user

LOST_REASON_HINT = "no budget, no need, wrong contact, went elsewhere"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def close_date(session: Session, when: str | date | None, *, now: datetime) -> date | None:
    """`--close WHEN` as a local calendar date (None for empty). A date in
    the past is kept: it was typed on purpose (a deal that slipped)."""
    if when is None or isinstance(when, date):
        return when
    if not str(when).strip():
        return None
    from minicrm.dates import parse_when

    zone = config.local_zone_of(session)
    return parse_when(str(when), now=now, zone=zone).astimezone(zone).date()


def _title(text: str | None) -> str | None:
    return " ".join(text.split()) if text and text.strip() else None


@dataclass
class DealInput:
    """What `crm deal add` takes; every value is raw text."""

    contact: str | None = None  # a contact REF
    company: str | None = None
    title: str | None = None
    stage: str | None = None
    value: Any = None
    close: str | date | None = None
    owner: str | None = None
    source: str | None = None
    notes: str | None = None
    lost_reason: str | None = None
    lines: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


def add_deal(session: Session, data: DealInput, *, now: datetime | None = None) -> DealRead:
    """Open a deal, for a contact and/or a company or neither (then --title)."""
    from minicrm.services.contacts.editing import dump_extra
    from minicrm.services.deals.lines import attach_lines, build_lines, parse_line_spec
    from minicrm.services.records.companies import company_for_name
    from minicrm.services.records.contacts import resolve_ref

    now = _now(now)
    contact = resolve_ref(session, data.contact, for_update=True) if data.contact else None
    specs = [parse_line_spec(text) for text in data.lines]
    if specs and clean_text(data.value) is not None:
        raise UserError("a deal with lines is worth their total; drop --value or the --line")
    lines = build_lines(session, specs)  # every line checked before the deal is opened
    company = company_for_name(session, data.company, now=now) if clean_text(data.company) else None
    if company is None and contact is not None and contact.company_id is not None:
        company = session.get(Company, contact.company_id)
    title = (
        _title(data.title)
        or (contact.name if contact else None)
        or (company.name if company else None)
    )
    if not title:
        raise ValidationError("a deal without a contact or company needs --title", field="title")
    stage = (
        config.normalize_stage(session, data.stage) if data.stage else config.first_stage(session)
    )
    reason = clean_text(data.lost_reason)
    if stage == LOST and not reason:
        raise ValidationError(
            f"a lost deal needs a reason (--lost-reason, e.g. {LOST_REASON_HINT})", "lost_reason"
        )
    deal = open_deal(
        session,
        title=title,
        stage=stage,
        now=now,
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        value_cents=money_to_cents(data.value),
        lost_reason=reason,
        expected_close=close_date(session, data.close, now=now),
        owner=_owner(data.owner, contact),
        source=clean_text(data.source) or (contact.source if contact else None),
        notes=clean_text(data.notes),
        extra=dump_extra(data.extra),
    )
    if lines:
        attach_lines(session, deal, lines)
    _after_change(session, deal, now, bump=False)
    return read_deal(session, deal)


def _after_change(
    session: Session, deal: Deal, now: datetime, *, bump: bool = True, also: tuple = ()
) -> None:
    """Version and updated_at, then the contact's mirror and score."""
    if bump:
        deal.version += 1
        deal.updated_at = now
    session.flush()
    touch_contacts(session, {deal.contact_id, *also}, now)


def touch_contacts(session: Session, contact_ids, now: datetime) -> None:
    from minicrm.services.scoring.scores import refresh_score

    for contact_id in sorted(i for i in contact_ids if i is not None):
        contact = session.get(Contact, contact_id)
        if contact is None:
            continue
        mirror_current_deal(session, contact)
        session.flush()
        refresh_score(session, contact_id, now=now)


# -------------------------------------------------------------------- edit

DEAL_TEXT_FIELDS = ("owner", "source", "notes")
EDITABLE = ("title", "value", "close", "owner", "source", "company", "contact", "notes")


@dataclass
class DealChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # name -> raw text ('' clears)
    set_extra: dict[str, str] = field(default_factory=dict)  # '' value removes the key

    def is_empty(self) -> bool:
        return not (self.fields or self.set_extra)


def edit_deal(
    session: Session, ref: str | int, changes: DealChanges, *, now: datetime | None = None
) -> DealRead:
    from minicrm.services.contacts.editing import dump_extra
    from minicrm.services.deals.lines import has_lines
    from minicrm.services.records.companies import company_for_name
    from minicrm.services.records.contacts import resolve_ref

    now = _now(now)
    if changes.is_empty():
        raise UserError("nothing to change; give an option such as --title or --close")
    unknown = sorted(set(changes.fields) - set(EDITABLE))
    if unknown:
        raise UserError(f"cannot edit {unknown[0]!r} of a deal; fields: {', '.join(EDITABLE)}")
    deal = resolve_deal(session, ref, for_update=True)
    given = changes.fields
    old_contact = deal.contact_id
    if "title" in given:
        title = _title(given["title"])
        if not title:
            raise ValidationError("a deal's title cannot be empty", field="title")
        deal.title = title
    if "value" in given:
        if has_lines(session, deal.id):
            raise UserError(
                f"deal #{deal.id} is worth its lines' total; change its lines (crm deal line)"
            )
        deal.value_cents = money_to_cents(given["value"])
    if "close" in given:
        deal.expected_close = close_date(session, given["close"], now=now)
    for name in DEAL_TEXT_FIELDS:
        if name in given:
            setattr(deal, name, clean_text(given[name]))
    if "company" in given:
        company = company_for_name(session, given["company"], now=now)
        deal.company_id = company.id if company else None
    if "contact" in given:
        deal.contact_id = (
            resolve_ref(session, given["contact"]).id if clean_text(given["contact"]) else None
        )
    if changes.set_extra:
        extra = json.loads(deal.extra) if deal.extra else {}
        for key, value in changes.set_extra.items():
            if value == "":
                extra.pop(key, None)
            else:
                extra[key] = value
        deal.extra = dump_extra(extra)
    _after_change(session, deal, now, also=(old_contact,))
    return read_deal(session, deal)


# ------------------------------------------------------------------- trash


def trash_deal(session: Session, ref: str | int, *, now: datetime | None = None) -> DealRead:
    now = _now(now)
    deal = resolve_deal(session, ref, for_update=True)
    deal.deleted_at = now
    _after_change(session, deal, now)
    return read_deal(session, deal)


def restore_deal(session: Session, ref: str | int, *, now: datetime | None = None) -> DealRead:
    now = _now(now)
    deal = resolve_deal(session, ref, deleted=True, for_update=True)
    if deal.contact_id is not None:
        contact = session.get(Contact, deal.contact_id)
        if contact is not None and contact.deleted_at is not None:
            raise UserError(
                f"deal #{deal.id}'s contact #{contact.id} {contact.name} is in the trash; "
                f"restore it first (crm restore {contact.id})"
            )
    deal.deleted_at = None
    _after_change(session, deal, now)
    return read_deal(session, deal)


# ------------------------------------------------------------------ stages


def stage_deal(
    session: Session,
    ref: str | int,
    stage: str,
    *,
    reason: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> DealRead:
    """Move one deal to `stage` (booked at `at`, default now); lost needs a reason."""
    from minicrm.services.deals.stages import move_deal

    now = _now(now)
    deal = resolve_deal(session, ref, for_update=True)
    target = config.normalize_stage(session, stage)
    reason = clean_text(reason)
    if target == LOST and not reason:
        raise ValidationError(
            f"moving to lost needs a reason: --reason, e.g. {LOST_REASON_HINT}", "lost_reason"
        )
    move_deal(session, deal, target, reason=reason, at=at or now, now=now)
    _after_change(session, deal, now, bump=False)  # move_deal bumped it
    return read_deal(session, deal)


def win_deal(session: Session, ref: str | int, *, now: datetime | None = None) -> DealRead:
    return stage_deal(session, ref, WON, now=now)


def lose_deal(
    session: Session, ref: str | int, reason: str | None, *, now: datetime | None = None
) -> DealRead:
    return stage_deal(session, ref, LOST, reason=reason, now=now)


# ------------------------------------------------------------------- lines


def add_deal_lines(
    session: Session, ref: str | int, specs: list[str], *, now: datetime | None = None
) -> DealRead:
    from minicrm.services.deals.lines import add_lines

    now = _now(now)
    deal = resolve_deal(session, ref, for_update=True)
    add_lines(session, deal, specs)
    _after_change(session, deal, now)
    return read_deal(session, deal)


def remove_deal_line(
    session: Session, ref: str | int, line_id: int, *, now: datetime | None = None
) -> DealRead:
    from minicrm.services.deals.lines import remove_line

    now = _now(now)
    deal = resolve_deal(session, ref, for_update=True)
    remove_line(session, deal, line_id)
    _after_change(session, deal, now)
    return read_deal(session, deal)


# -------------------------------------------------------------------- show


@dataclass
class DealDetail:
    deal: DealRead
    history: list[StageChangeRead]
    interactions: list[InteractionRead]

    def to_json(self) -> dict:
        return {
            **self.deal.to_json(),
            "history": [c.to_json() for c in self.history],
            "interactions": [i.to_json() for i in self.interactions],
        }


def deal_detail(
    session: Session, ref: str | int, *, limit: int = 50, now: datetime | None = None
) -> DealDetail:
    """A deal with its stage history (oldest first) and the interactions
    linked to it (newest first, at most `limit`)."""
    ensure_fresh_scores(session, now=now)
    deal = resolve_deal(session, ref)
    changes = session.execute(
        select(StageChange)
        .where(StageChange.deal_id == deal.id)
        .order_by(StageChange.at, StageChange.id)
    ).scalars()
    interactions = session.execute(
        select(Interaction)
        .where(Interaction.deal_id == deal.id)
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(limit)
    ).scalars()
    return DealDetail(
        deal=read_deal(session, deal),
        history=[StageChangeRead.model_validate(c, from_attributes=True) for c in changes],
        interactions=[
            InteractionRead.model_validate(i, from_attributes=True) for i in interactions
        ],
    )


def live_deal_for(session: Session, ref: str | int, contact_id: int) -> Deal:
    """The live deal `--deal REF` names on a contact's interaction or
    follow-up; one belonging to another contact is refused."""
    deal = resolve_deal(session, ref)
    if deal.contact_id is not None and deal.contact_id != contact_id:
        raise UserError(
            f"deal #{deal.id} {deal.title} belongs to contact #{deal.contact_id}, not #{contact_id}"
        )
    return deal


def _owner(given: str | None, contact: Contact | None) -> str | None:
    """A new deal's owner: as given ("" for nobody), else the contact's, else
    whoever adds it (CRM_USER, else the login name)."""
    if given is not None:
        return clean_text(given)
    return (contact.owner if contact else None) or current_user()
