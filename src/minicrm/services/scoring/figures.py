"""What scoring rules can read about a deal: its own fields, its contact's
and its company's fields, the contact's tags and custom fields, and the
derived figures, gathered in SQL for a batch of deals at a time (a few GROUP
BY queries per batch on indexed columns, never a loop over interactions).

A bare field name keeps the meaning it had when a contact was a deal:
`name email phone company title city region country industry` are the
deal's contact's, `stage value lost_reason` the deal's, `source owner` the deal's or else
its contact's;
`contact.FIELD` and `company.FIELD` name either side explicitly. Activity
figures (interactions, purchases, follow-ups) are the contact's (a deal
without a contact has none); `days_in_stage`, `days_since_created`,
`days_to_close` and `lines_count` are the deal's.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from minicrm.models import (
    Company,
    Contact,
    ContactTag,
    Deal,
    DealLine,
    FollowUp,
    Interaction,
    Tag,
    cents_to_major,
    is_contact_with_customer,
)
from minicrm.services.scoring.rules import EXTRA_PREFIX, NUMBER, TEXT, Vocabulary

CONTACT_PREFIX, COMPANY_PREFIX = "contact.", "company."
# Bare names that read the deal's contact (as they did before deals).
CONTACT_TEXT = (
    "name", "email", "phone", "company", "title", "city", "region", "country", "industry",
)  # fmt: skip
# Bare names that read the deal itself.
DEAL_TEXT = ("source", "stage", "owner", "lost_reason")
# Deal fields that fall back to the contact's when the deal has none.
INHERITED = ("source", "owner")
# The names of old (a contact's row as the rules saw it); import_writing uses it.
TEXT_FIELDS = (*CONTACT_TEXT, *DEAL_TEXT)
# contact.FIELD and company.FIELD: the columns each side offers.
CONTACT_FIELDS = (*CONTACT_TEXT, "source", "owner")
COMPANY_FIELDS = (
    "name", "domain", "email", "phone", "industry", "city", "region", "country", "owner",
)  # fmt: skip

# Each derived figure with what it means (shown by `crm score rules --show`'s help).
FIGURES: dict[str, str] = {
    "interactions_30d": "the contact's interactions in the last 30 days",
    "interactions_90d": "the contact's interactions in the last 90 days",
    "days_since_last_interaction": "whole days since the contact's last interaction (or none)",
    "days_in_stage": "whole days since the deal entered its current stage",
    "days_since_created": "whole days since the deal was opened",
    "purchases_total": "sum of the contact's purchases, in major units (e.g. 1250.5)",
    "purchases_count": "number of the contact's purchases",
    "open_followups": "the contact's follow-ups not yet done",
    "overdue_followups": "the contact's open follow-ups whose time has passed",
    "days_to_close": "days until the deal's expected close (negative: overdue; or none)",
    "lines_count": "number of lines (products) on the deal",
}
INTERACTION_FIGURES = frozenset(
    {
        "interactions_30d",
        "interactions_90d",
        "days_since_last_interaction",
        "purchases_total",
        "purchases_count",
    }
)
FOLLOWUP_FIGURES = frozenset({"open_followups", "overdue_followups"})

VOCABULARY = Vocabulary(
    {
        **dict.fromkeys(TEXT_FIELDS, TEXT),
        "expected_close": TEXT,  # an ISO date, 'YYYY-MM-DD': compares in date order
        "value": NUMBER,
        **dict.fromkeys(FIGURES, NUMBER),
        **{CONTACT_PREFIX + n: TEXT for n in CONTACT_FIELDS},
        **{COMPANY_PREFIX + n: TEXT for n in COMPANY_FIELDS},
    }
)
NUMERIC_NAMES = frozenset({"value", *FIGURES})
ALL_NAMES = frozenset(VOCABULARY.kinds)


@dataclass(frozen=True)
class Needs:
    """Which queries a rule set needs; the others are skipped."""

    names: frozenset[str] = ALL_NAMES
    tags: bool = True

    @property
    def interactions(self) -> bool:
        return not self.names.isdisjoint(INTERACTION_FIGURES)

    @property
    def followups(self) -> bool:
        return not self.names.isdisjoint(FOLLOWUP_FIGURES)

    @property
    def lines(self) -> bool:
        return "lines_count" in self.names

    @property
    def extra(self) -> bool:
        return any(name.startswith(EXTRA_PREFIX) for name in self.names)


EVERYTHING = Needs(ALL_NAMES | {EXTRA_PREFIX + "*"}, tags=True)


@dataclass
class DealFacts:
    """One deal as the rules see it (with its contact's and company's side)."""

    id: int  # the deal's
    contact_id: int | None
    name: str | None  # the contact's name (None: a deal without a contact)
    title: str
    stage: str
    cached_score: int
    values: dict[str, Any]
    tags: frozenset[str] = field(default_factory=frozenset)


def ContactFacts(  # noqa: N802 - the constructor of old (before deals), for callers
    id: int,
    name: str,
    stage: str,
    cached_score: int,
    values: dict[str, Any],
    tags: frozenset[str] = frozenset(),
) -> DealFacts:
    """Facts for a contact's one deal, given the old way (the contact's id)."""
    return DealFacts(id, id, name, name, stage, cached_score, values, tags)


def whole_days(later: datetime, earlier: datetime | None) -> int | None:
    if earlier is None:
        return None
    return max(0, (later - earlier) // timedelta(days=1))


def days_until(now: datetime, day: date | None) -> int | None:
    """Calendar days from now's date to `day` (negative once it has passed)."""
    if day is None:
        return None
    return (day - now.date()).days


def facts_for(
    session: Session, deal_ids: list[int], *, now: datetime, needs: Needs = EVERYTHING
) -> list[DealFacts]:
    """The facts of the given deals (any order; unknown ids are skipped)."""
    if not deal_ids:
        return []
    return _gather(session, list(deal_ids), 0, 0, now=now, needs=needs)


def facts_in_batches(
    session: Session, *, now: datetime, needs: Needs, batch: int = 5000
) -> Iterator[list[DealFacts]]:
    """Every deal (trashed ones too, so a restore finds a current score), a
    batch of consecutive ids at a time."""
    last = 0
    while True:
        ids = (
            session.execute(select(Deal.id).where(Deal.id > last).order_by(Deal.id).limit(batch))
            .scalars()
            .all()
        )
        if not ids:
            return
        yield _gather(session, None, ids[0], ids[-1], now=now, needs=needs)
        last = ids[-1]


_EMPTY_INTERACTIONS = {
    "interactions_30d": 0, "interactions_90d": 0, "days_since_last_interaction": None,
    "purchases_total": 0, "purchases_count": 0,
}  # fmt: skip
_EMPTY_FOLLOWUPS = {"open_followups": 0, "overdue_followups": 0}


def _gather(
    session: Session, ids: list[int] | None, lo: int, hi: int, *, now: datetime, needs: Needs
) -> list[DealFacts]:
    """Facts of the deals with these ids, or else with ids from lo to hi."""
    deal, contact, company = Deal.__table__, Contact.__table__, Company.__table__
    columns = [
        deal.c.id, deal.c.contact_id, deal.c.title, deal.c.score, deal.c.value_cents,
        deal.c.stage_entered_at, deal.c.created_at, deal.c.expected_close,
        *(deal.c[n] for n in DEAL_TEXT),
        *(contact.c[n].label("c_" + n) for n in CONTACT_FIELDS),
        *(company.c[n].label("k_" + n) for n in COMPANY_FIELDS),
    ]  # fmt: skip
    if needs.extra:
        columns.append(contact.c.extra.label("c_extra"))
    query = (
        select(*columns)
        .select_from(
            deal.outerjoin(contact, contact.c.id == deal.c.contact_id).outerjoin(
                company, company.c.id == deal.c.company_id
            )
        )
        .where(_restrict(deal.c.id, ids, lo, hi))
        .order_by(deal.c.id)
    )
    rows = session.execute(query).all()
    if not rows:
        return []
    # The contacts of these deals, as a subquery: no long lists of ids to bind.
    people = select(deal.c.contact_id).where(
        _restrict(deal.c.id, ids, lo, hi), deal.c.contact_id.is_not(None)
    )
    interactions = _interaction_figures(session, people, now) if needs.interactions else None
    followups = _followup_figures(session, people, now) if needs.followups else None
    lines = _line_counts(session, ids, lo, hi) if needs.lines else None
    tags = _tags(session, people) if needs.tags else {}
    with_extra = needs.extra
    plan = _text_plan(needs)  # (name, column position): only the names the rules read
    result = []
    for row in rows:
        values: dict[str, Any] = {name: row[at] for name, at, _fallback in plan}
        for name, _at, fallback in plan:
            if fallback is not None and values[name] is None:
                values[name] = row[fallback]  # the deal has none: its contact's
        values["value"] = cents_to_major(row.value_cents)
        values["expected_close"] = row.expected_close.isoformat() if row.expected_close else None
        values["days_to_close"] = days_until(now, row.expected_close)
        values["days_in_stage"] = whole_days(now, row.stage_entered_at or row.created_at)
        values["days_since_created"] = whole_days(now, row.created_at)
        person = row.contact_id
        if interactions is not None:
            values.update(interactions.get(person, _EMPTY_INTERACTIONS))
        if followups is not None:
            values.update(followups.get(person, _EMPTY_FOLLOWUPS))
        if lines is not None:
            values["lines_count"] = lines.get(row.id, 0)
        if with_extra and row.c_extra:
            values.update(extra_values(row.c_extra))
        result.append(
            DealFacts(
                id=row.id, contact_id=person, name=row.c_name, title=row.title,
                stage=row.stage, cached_score=row.score, values=values,
                tags=tags.get(person, frozenset()) if person is not None else frozenset(),
            )
        )  # fmt: skip
    return result


_FIRST_TEXT = 8  # position of DEAL_TEXT's first column in _gather's select


def _text_plan(needs: Needs) -> list[tuple[str, int, int | None]]:
    """Each text name the rules read, its column in _gather's rows and, for
    INHERITED names, the contact's column to fall back on."""
    contact_at = _FIRST_TEXT + len(DEAL_TEXT)
    company_at = contact_at + len(CONTACT_FIELDS)
    column = {n: _FIRST_TEXT + i for i, n in enumerate(DEAL_TEXT)}
    of_contact = {n: contact_at + i for i, n in enumerate(CONTACT_FIELDS)}
    column.update({CONTACT_PREFIX + n: i for n, i in of_contact.items()})
    column.update({n: of_contact[n] for n in CONTACT_TEXT})
    column.update({COMPANY_PREFIX + n: company_at + i for i, n in enumerate(COMPANY_FIELDS)})
    return [
        (name, at, of_contact[name] if name in INHERITED else None)
        for name, at in column.items()
        if needs is EVERYTHING or name in needs.names
    ]


def _restrict(column, ids: list[int] | None, lo: int, hi: int):
    return column.in_(ids) if ids is not None else column.between(lo, hi)


def _interaction_figures(session: Session, people, now: datetime) -> dict[int, dict[str, Any]]:
    """Counts per window, the last interaction and purchases, one GROUP BY.
    Interactions dated in the future have not happened yet and are left out."""
    at, kind = Interaction.at, Interaction.kind
    is_purchase = kind == "purchase"
    query = (
        select(
            Interaction.contact_id,
            func.sum(case((at >= now - timedelta(days=30), 1), else_=0)),
            func.sum(case((at >= now - timedelta(days=90), 1), else_=0)),
            func.max(at),
            func.sum(case((is_purchase, 1), else_=0)),
            func.sum(case((is_purchase, func.coalesce(Interaction.amount_cents, 0)), else_=0)),
        )
        .where(Interaction.contact_id.in_(people), at <= now, is_contact_with_customer(kind))
        .group_by(Interaction.contact_id)
    )
    figures = {}
    for contact_id, in_30d, in_90d, last_at, purchases, cents in session.execute(query):
        figures[contact_id] = {
            "interactions_30d": int(in_30d or 0),
            "interactions_90d": int(in_90d or 0),
            "days_since_last_interaction": whole_days(now, last_at),
            "purchases_total": cents_to_major(int(cents or 0)),
            "purchases_count": int(purchases or 0),
        }
    return figures


def _followup_figures(session: Session, people, now: datetime) -> dict[int, dict[str, int]]:
    query = (
        select(
            FollowUp.contact_id,
            func.count(),
            func.sum(case((FollowUp.due_at < now, 1), else_=0)),
        )
        .where(FollowUp.contact_id.in_(people), FollowUp.done_at.is_(None))
        .group_by(FollowUp.contact_id)
    )
    return {
        contact_id: {"open_followups": int(count), "overdue_followups": int(overdue or 0)}
        for contact_id, count, overdue in session.execute(query)
    }


def _line_counts(session: Session, ids: list[int] | None, lo: int, hi: int) -> dict[int, int]:
    query = (
        select(DealLine.deal_id, func.count())
        .where(_restrict(DealLine.deal_id, ids, lo, hi))
        .group_by(DealLine.deal_id)
    )
    return {deal_id: int(count) for deal_id, count in session.execute(query)}


def _tags(session: Session, people) -> dict[int, frozenset[str]]:
    query = (
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(people))
    )
    found: dict[int, set[str]] = {}
    for contact_id, name in session.execute(query):
        found.setdefault(contact_id, set()).add(name)
    return {contact_id: frozenset(names) for contact_id, names in found.items()}


def extra_values(raw: str) -> dict[str, Any]:
    try:
        extra = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(extra, dict):
        return {}
    return {
        EXTRA_PREFIX + str(key): value
        for key, value in extra.items()
        if value is None or isinstance(value, str | int | float)
    }
