"""Lead scores from the shop owner's rules (SPEC §3).

The rules (rulebook.py) are TOML kept in the `setting` table under
`scoring_rules`. A score belongs to a deal: it is cached in `deal.score`
and refreshed whenever the deal, its contact, the contact's interactions
or follow-ups, or the rules change; the figures the rules read come from
figures.py. A contact shows its current deal's score (`contact.score`, a
copy kept by services/records/deals.py), None without a deal.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from minicrm.errors import NotFoundError, ValidationError
from minicrm.models import LOST, WON, Contact, Deal, Setting
from minicrm.services.records.deals import mirror_current_deal, mirror_current_deals
from minicrm.services.records.score_day import scores_are_fresh, store_scores_day
from minicrm.services.scoring.figures import (
    FIGURES,
    ContactFacts,
    DealFacts,
    facts_for,
    facts_in_batches,
)
from minicrm.services.scoring.rulebook import DEFAULT_RULES, Rule, RuleSet, parse_rules

__all__ = [  # the rulebook's names are part of this module's interface
    "DEFAULT_RULES", "Rule", "RuleSet", "parse_rules", "ContactFacts", "DealFacts",
    "current_rules", "explain", "explain_deal", "load_rules", "recompute_scores",
    "refresh_deal_scores", "refresh_score", "rules_text", "score_contact", "score_deal",
    "top_scores",
]  # fmt: skip

SETTING_KEY = "scoring_rules"
DAILY_RECOMPUTE_LOCK = 0x6D63_7273  # PostgreSQL advisory lock key: one daily recompute at a time
BATCH = 5000  # deals per round trip when recomputing
IDS_PER_QUERY = 900  # stays under every database's bound-parameter limit
CLOSED = (WON, LOST)


def rules_text(session: Session) -> str:
    """The rules in force, as the TOML the shop owner wrote (or the defaults)."""
    row = session.get(Setting, SETTING_KEY)
    return row.value if row is not None else DEFAULT_RULES


def current_rules(session: Session) -> RuleSet:
    return parse_rules(rules_text(session))


@dataclass(frozen=True)
class Recomputed:
    scored: int  # deals looked at
    changed: int  # deals whose score moved


@dataclass(frozen=True)
class RulesLoaded:
    rules: int
    recomputed: Recomputed


def load_rules(session: Session, text: str, *, now: datetime | None = None) -> RulesLoaded:
    """Replace the rules (after checking them: a broken file changes nothing)
    and recompute every deal's score."""
    now = now or datetime.now(UTC)
    rule_set = parse_rules(text)
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=text, updated_at=now))
    else:
        row.value, row.updated_at = text, now
    session.flush()
    return RulesLoaded(len(rule_set), recompute_scores(session, now=now))


# ------------------------------------------------------------------ scores


@dataclass(frozen=True)
class RuleHit:
    """A rule that moved a score, with the values it read."""

    name: str
    points: int
    used: dict[str, Any]
    tags: tuple[str, ...] = ()  # the contact's tags the rule asked about

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points}


@dataclass(frozen=True)
class ScoredDeal:
    """One deal's score. `id` and `name` are its contact's (None without
    one), as `crm score --json` has always given them."""

    id: int | None
    name: str | None
    stage: str
    score: int
    rules: tuple[RuleHit, ...]
    figures: dict[str, Any]  # value and the derived figures
    deal_id: int | None = None  # None: a contact without any deal
    title: str | None = None

    def to_json(self, *, figures: bool = False) -> dict[str, Any]:
        """The object of `crm score --json` (SPEC §10); `figures` adds them."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "score": self.score,
            "rules": [hit.to_json() for hit in self.rules],
            "deal_id": self.deal_id,
            "title": self.title,
        }
        if figures:
            data["figures"] = dict(self.figures)
        return data


ScoredContact = ScoredDeal  # the name of old

_SHOWN_FIGURES = ("value", *FIGURES)


def score_deal(rule_set: RuleSet, facts: DealFacts) -> ScoredDeal:
    """Apply every rule to one deal: its score and the rules that made it."""
    hits = []
    for rule in rule_set.rules:
        points = rule.points_for(facts.values, facts.tags)
        if points:
            used = {name: facts.values.get(name) for name in sorted(rule.names)}
            tags = sorted(rule.when.tags & facts.tags) if rule.when else []
            hits.append(RuleHit(rule.name, points, used, tuple(tags)))
    return ScoredDeal(
        id=facts.contact_id,
        name=facts.name,
        stage=facts.stage,
        score=sum(hit.points for hit in hits),
        rules=tuple(hits),
        figures={n: facts.values.get(n) for n in _SHOWN_FIGURES if n in facts.values},
        deal_id=facts.id,
        title=facts.title,
    )


score_contact = score_deal  # the name of old


def explain(session: Session, ref: str | int, *, now: datetime | None = None) -> ScoredDeal:
    """The score of a contact's current deal as of `now`, rule by rule;
    refreshes the cached one. A contact without a deal scores nothing."""
    from minicrm.services.records.contacts import resolve_ref
    from minicrm.services.records.deals import current_deal

    contact = resolve_ref(session, ref)
    deal = current_deal(session, contact.id)
    if deal is None:
        return ScoredDeal(contact.id, contact.name, None, 0, (), {})  # type: ignore[arg-type]
    return _score_and_sync(session, [deal.id], now or datetime.now(UTC))[0]


def explain_deal(session: Session, deal_id: int, *, now: datetime | None = None) -> ScoredDeal:
    """One deal's score as of `now`, rule by rule; refreshes the cached one."""
    deal = session.get(Deal, deal_id)
    if deal is None or deal.deleted_at is not None:
        raise NotFoundError(f"no deal #{deal_id}")
    return _score_and_sync(session, [deal.id], now or datetime.now(UTC))[0]


def top_scores(
    session: Session, *, limit: int = 10, now: datetime | None = None
) -> list[ScoredDeal]:
    """The open, live deals with the highest scores, best first.

    Ranked by the cached score, fresh for today; the shown scores are worked
    out afresh (the figures move with time) and the cache of any that moved
    is refreshed."""
    if limit < 1:
        raise ValidationError("--top needs a number of deals, 1 or more")
    now = now or datetime.now(UTC)
    if not scores_are_fresh(session, now):
        recompute_for_today(session, now)
    ids = (
        session.execute(
            select(Deal.id)
            .outerjoin(Contact, Contact.id == Deal.contact_id)
            .where(Deal.deleted_at.is_(None), Deal.stage.not_in(CLOSED))
            .order_by(Deal.score.desc(), Contact.id.is_(None), Contact.name_folded, Deal.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    order = {deal_id: position for position, deal_id in enumerate(ids)}
    scored = _score_and_sync(session, list(ids), now or datetime.now(UTC))
    return sorted(scored, key=lambda s: (-s.score, order[s.deal_id]))


def _score_and_sync(session: Session, ids: list[int], now: datetime) -> list[ScoredDeal]:
    rule_set = current_rules(session)
    scored, moved = [], []
    for start in range(0, len(ids), IDS_PER_QUERY):
        for facts in facts_for(session, ids[start : start + IDS_PER_QUERY], now=now):
            result = score_deal(rule_set, facts)
            scored.append(result)
            if result.score != facts.cached_score:
                moved.append((facts.id, result.score, facts.contact_id))
    _write_scores(session, moved)
    people = sorted({c for _d, _s, c in moved if c is not None})
    if people:
        mirror_current_deals(session, people)
    return scored


def recompute_scores(
    session: Session, contact_ids: list[int] | None = None, *, now: datetime | None = None
) -> Recomputed:
    """Work out the scores of every deal (or the deals of the given
    contacts), write those that changed in bulk, and bring the contacts'
    copies of their current deal's score in step."""
    now = now or datetime.now(UTC)
    rule_set = current_rules(session)
    if contact_ids is None:
        batches = facts_in_batches(session, now=now, needs=rule_set.needs, batch=BATCH)
        people = None
    else:
        people = list(dict.fromkeys(contact_ids))
        deal_ids = _deals_of(session, people)
        batches = (
            facts_for(
                session, deal_ids[start : start + IDS_PER_QUERY], now=now, needs=rule_set.needs
            )
            for start in range(0, len(deal_ids), IDS_PER_QUERY)
        )
    scored = changed = 0
    touched: set[int] = set()
    for batch in batches:
        moved = []
        for facts in batch:
            score = sum(rule.points_for(facts.values, facts.tags) for rule in rule_set.rules)
            if score != facts.cached_score:
                moved.append((facts.id, score, facts.contact_id))
        _write_scores(session, moved, expire=False)
        touched.update(c for _d, _s, c in moved if c is not None)
        scored, changed = scored + len(batch), changed + len(moved)
    if people is None:
        if changed:
            mirror_current_deals(session, None)
        store_scores_day(session, now)
    else:
        mirror_current_deals(session, people)
    return Recomputed(scored, changed)


def recompute_for_today(session: Session, now: datetime) -> Recomputed | None:
    """The whole-table recompute a stale day calls for (freshness.py), in a
    savepoint. One reader does it: on PostgreSQL a reader that finds another
    already at it (a transaction-scoped advisory lock) serves the cached
    scores, and on SQLite one that cannot take the write lock at this moment
    leaves it to the next reader (None either way)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    if session.get_bind().dialect.name == "postgresql":
        taken = text("SELECT pg_try_advisory_xact_lock(:key)")
        if not session.execute(taken, {"key": DAILY_RECOMPUTE_LOCK}).scalar():
            return None
    try:
        with session.begin_nested():
            return recompute_scores(session, now=now)
    except OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc).lower():
            raise
        return None


def refresh_deal_scores(
    session: Session, deal_ids: list[int], *, now: datetime | None = None
) -> dict[int, int]:
    """Bring these deals' cached scores up to date (and their contacts'
    copies); returns each deal's score."""
    now = now or datetime.now(UTC)
    rule_set = current_rules(session)
    ids = list(dict.fromkeys(deal_ids))
    scores: dict[int, int] = {}
    people: set[int] = set()
    for start in range(0, len(ids), IDS_PER_QUERY):
        moved = []
        for facts in facts_for(session, ids[start : start + IDS_PER_QUERY], now=now,
                               needs=rule_set.needs):  # fmt: skip
            score = sum(rule.points_for(facts.values, facts.tags) for rule in rule_set.rules)
            scores[facts.id] = score
            if facts.contact_id is not None:
                people.add(facts.contact_id)
            if score != facts.cached_score:
                moved.append((facts.id, score, facts.contact_id))
        _write_scores(session, moved)
    if people:
        mirror_current_deals(session, sorted(people))
    return scores


def refresh_score(session: Session, contact_id: int, *, now: datetime | None = None) -> int | None:
    """Rescore every live deal of one contact and bring the contact's copy
    of its current deal's score in step; returns that (None: no deal)."""
    now = now or datetime.now(UTC)
    session.flush()
    deal_ids = list(
        session.execute(
            select(Deal.id).where(Deal.contact_id == contact_id, Deal.deleted_at.is_(None))
        ).scalars()
    )
    if deal_ids:
        rule_set = current_rules(session)
        moved = []
        for start in range(0, len(deal_ids), IDS_PER_QUERY):
            for facts in facts_for(session, deal_ids[start : start + IDS_PER_QUERY], now=now,
                                   needs=rule_set.needs):  # fmt: skip
                score = sum(rule.points_for(facts.values, facts.tags) for rule in rule_set.rules)
                if score != facts.cached_score:
                    moved.append((facts.id, score, contact_id))
        _write_scores(session, moved)
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    mirror_current_deal(session, contact)
    return contact.score


_SET_SCORE = (
    update(Deal.__table__)
    .where(Deal.__table__.c.id == bindparam("deal_id"))
    .values(score=bindparam("new_score"))
)


def _write_scores(
    session: Session, scores: list[tuple[int, int, int | None]], *, expire: bool = True
) -> None:
    """One executemany for a batch of (deal id, score, contact id). The score
    is derived data, so neither updated_at nor the edit version moves (an
    open editor is not outdated)."""
    if not scores:
        return
    session.execute(_SET_SCORE, [{"deal_id": d, "new_score": s} for d, s, _c in scores])
    if not expire:
        return
    # Rows this session already holds must not show (or write back) the old score.
    changed = {deal_id for deal_id, _s, _c in scores}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Deal) and obj.id in changed:
            session.expire(obj, ["score"])


def _deals_of(session: Session, contact_ids: list[int]) -> list[int]:
    """Every deal of these contacts (trashed ones too: a restore finds them current)."""
    found: list[int] = []
    for start in range(0, len(contact_ids), IDS_PER_QUERY):
        chunk = contact_ids[start : start + IDS_PER_QUERY]
        found += session.execute(
            select(Deal.id).where(Deal.contact_id.in_(chunk)).order_by(Deal.id)
        ).scalars()
    return found
