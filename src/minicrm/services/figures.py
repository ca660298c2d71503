"""What scoring rules can read about a contact: its fields, its tags, its
custom fields and the derived figures, gathered in SQL for a batch of
contacts at a time (a few GROUP BY queries per batch on the indexed
contact_id columns, never a loop over interactions).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from minicrm.models import Contact, ContactTag, FollowUp, Interaction, Tag, cents_to_major
from minicrm.services.rules import EXTRA_PREFIX, NUMBER, TEXT, Vocabulary

TEXT_FIELDS = (
    "name", "email", "phone", "company", "title", "city", "region", "country", "industry",
    "source", "stage", "owner", "lost_reason",
)  # fmt: skip

# Each derived figure with what it means (shown by `crm score rules --show`'s help).
FIGURES: dict[str, str] = {
    "interactions_30d": "interactions in the last 30 days",
    "interactions_90d": "interactions in the last 90 days",
    "days_since_last_interaction": "whole days since the last interaction (none: missing)",
    "days_in_stage": "whole days since the contact entered its current stage",
    "days_since_created": "whole days since the contact was added",
    "purchases_total": "sum of purchase amounts, in major units (e.g. 1250.5)",
    "purchases_count": "number of purchases",
    "open_followups": "follow-ups not yet done",
    "overdue_followups": "open follow-ups whose time has passed",
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
    {**dict.fromkeys(TEXT_FIELDS, TEXT), "value": NUMBER, **dict.fromkeys(FIGURES, NUMBER)}
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
    def extra(self) -> bool:
        return any(name.startswith(EXTRA_PREFIX) for name in self.names)


EVERYTHING = Needs(ALL_NAMES | {EXTRA_PREFIX + "*"}, tags=True)


@dataclass
class ContactFacts:
    """One contact as the rules see it."""

    id: int
    name: str
    stage: str
    cached_score: int
    values: dict[str, Any]
    tags: frozenset[str] = field(default_factory=frozenset)


def whole_days(later: datetime, earlier: datetime | None) -> int | None:
    if earlier is None:
        return None
    return max(0, (later - earlier) // timedelta(days=1))


def facts_for(
    session: Session, contact_ids: list[int], *, now: datetime, needs: Needs = EVERYTHING
) -> list[ContactFacts]:
    """The facts of the given contacts (any order; unknown ids are skipped)."""
    if not contact_ids:
        return []
    return _gather(session, list(contact_ids), 0, 0, now=now, needs=needs)


def facts_in_batches(
    session: Session, *, now: datetime, needs: Needs, batch: int = 5000
) -> Iterator[list[ContactFacts]]:
    """Every contact (trashed ones too, so a restore finds a current score),
    a batch of consecutive ids at a time."""
    last = 0
    while True:
        ids = (
            session.execute(
                select(Contact.id).where(Contact.id > last).order_by(Contact.id).limit(batch)
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        yield _gather(session, None, ids[0], ids[-1], now=now, needs=needs)
        last = ids[-1]


def _gather(
    session: Session, ids: list[int] | None, lo: int, hi: int, *, now: datetime, needs: Needs
) -> list[ContactFacts]:
    """Facts of the contacts with these ids, or else with ids from lo to hi."""
    table = Contact.__table__
    columns = [table.c[n] for n in ("id", "score", "value_cents", "stage_entered_at", "created_at")]
    columns += [table.c[n] for n in TEXT_FIELDS]
    if needs.extra:
        columns.append(table.c.extra)
    query = select(*columns).where(_restrict(table.c.id, ids, lo, hi)).order_by(table.c.id)
    rows = session.execute(query).all()
    if not rows:
        return []
    interactions = _interaction_figures(session, ids, lo, hi, now) if needs.interactions else None
    followups = _followup_figures(session, ids, lo, hi, now) if needs.followups else None
    tags = _tags(session, ids, lo, hi) if needs.tags else {}
    empty_interactions = {
        "interactions_30d": 0, "interactions_90d": 0, "days_since_last_interaction": None,
        "purchases_total": 0, "purchases_count": 0,
    }  # fmt: skip
    empty_followups = {"open_followups": 0, "overdue_followups": 0}
    with_extra = needs.extra
    result = []
    for row in rows:
        values = {name: getattr(row, name) for name in TEXT_FIELDS}
        values["value"] = cents_to_major(row.value_cents)
        values["days_in_stage"] = whole_days(now, row.stage_entered_at or row.created_at)
        values["days_since_created"] = whole_days(now, row.created_at)
        if interactions is not None:
            values.update(interactions.get(row.id, empty_interactions))
        if followups is not None:
            values.update(followups.get(row.id, empty_followups))
        if with_extra and row.extra:
            values.update(extra_values(row.extra))
        result.append(
            ContactFacts(
                id=row.id, name=row.name, stage=row.stage, cached_score=row.score,
                values=values, tags=tags.get(row.id, frozenset()),
            )
        )  # fmt: skip
    return result


def _restrict(column, ids: list[int] | None, lo: int, hi: int):
    return column.in_(ids) if ids is not None else column.between(lo, hi)


def _interaction_figures(
    session: Session, ids: list[int] | None, lo: int, hi: int, now: datetime
) -> dict[int, dict[str, Any]]:
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
        .where(_restrict(Interaction.contact_id, ids, lo, hi), at <= now)
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


def _followup_figures(
    session: Session, ids: list[int] | None, lo: int, hi: int, now: datetime
) -> dict[int, dict[str, int]]:
    query = (
        select(
            FollowUp.contact_id,
            func.count(),
            func.sum(case((FollowUp.due_at < now, 1), else_=0)),
        )
        .where(_restrict(FollowUp.contact_id, ids, lo, hi), FollowUp.done_at.is_(None))
        .group_by(FollowUp.contact_id)
    )
    return {
        contact_id: {"open_followups": int(count), "overdue_followups": int(overdue or 0)}
        for contact_id, count, overdue in session.execute(query)
    }


def _tags(session: Session, ids: list[int] | None, lo: int, hi: int) -> dict[int, frozenset[str]]:
    query = (
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(_restrict(ContactTag.contact_id, ids, lo, hi))
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
