"""Lead scores from the shop owner's rules (SPEC §3).

The rules (rulebook.py) are TOML kept in the `setting` table under
`scoring_rules`. A contact's score is cached in `contact.score` and
refreshed whenever the contact, its interactions, its follow-ups or the
rules change; the figures the rules read come from figures.py.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from minicrm.errors import ValidationError
from minicrm.models import LOST, WON, Contact, Setting
from minicrm.services.figures import FIGURES, ContactFacts, facts_for, facts_in_batches
from minicrm.services.rulebook import DEFAULT_RULES, Rule, RuleSet, parse_rules

__all__ = [  # the rulebook's names are part of this module's interface
    "DEFAULT_RULES", "Rule", "RuleSet", "parse_rules", "ContactFacts", "current_rules",
    "explain", "load_rules", "recompute_scores", "refresh_score", "rules_text",
    "score_contact", "top_scores",
]  # fmt: skip

SETTING_KEY = "scoring_rules"
BATCH = 5000  # contacts per round trip when recomputing
IDS_PER_QUERY = 900  # stays under every database's bound-parameter limit


def rules_text(session: Session) -> str:
    """The rules in force, as the TOML the shop owner wrote (or the defaults)."""
    row = session.get(Setting, SETTING_KEY)
    return row.value if row is not None else DEFAULT_RULES


def current_rules(session: Session) -> RuleSet:
    return parse_rules(rules_text(session))


@dataclass(frozen=True)
class Recomputed:
    scored: int  # contacts looked at
    changed: int  # contacts whose score moved


@dataclass(frozen=True)
class RulesLoaded:
    rules: int
    recomputed: Recomputed


def load_rules(session: Session, text: str, *, now: datetime | None = None) -> RulesLoaded:
    """Replace the rules (after checking them: a broken file changes nothing)
    and recompute every contact's score."""
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
class ScoredContact:
    id: int
    name: str
    stage: str
    score: int
    rules: tuple[RuleHit, ...]
    figures: dict[str, Any]  # value and the derived figures

    def to_json(self, *, figures: bool = False) -> dict[str, Any]:
        """The object of `crm score --json` (SPEC §10); `figures` adds them."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "score": self.score,
            "rules": [hit.to_json() for hit in self.rules],
        }
        if figures:
            data["figures"] = dict(self.figures)
        return data


def score_contact(rule_set: RuleSet, facts: ContactFacts) -> ScoredContact:
    """Apply every rule to one contact: its score and the rules that made it."""
    hits = []
    for rule in rule_set.rules:
        points = rule.points_for(facts.values, facts.tags)
        if points:
            used = {name: facts.values.get(name) for name in sorted(rule.names)}
            tags = sorted(rule.when.tags & facts.tags) if rule.when else []
            hits.append(RuleHit(rule.name, points, used, tuple(tags)))
    return ScoredContact(
        id=facts.id,
        name=facts.name,
        stage=facts.stage,
        score=sum(hit.points for hit in hits),
        rules=tuple(hits),
        figures={n: facts.values.get(n) for n in ("value", *FIGURES) if n in facts.values},
    )


def explain(session: Session, ref: str | int, *, now: datetime | None = None) -> ScoredContact:
    """One contact's score as of `now`, rule by rule; refreshes the cached one."""
    from minicrm.services.contacts import resolve_ref

    contact = resolve_ref(session, ref)
    return _score_and_sync(session, [contact.id], now or datetime.now(UTC))[0]


def top_scores(
    session: Session, *, limit: int = 10, now: datetime | None = None
) -> list[ScoredContact]:
    """The open, live contacts with the highest scores, best first.

    Ranked by the cached score; the shown scores are worked out afresh (the
    figures move with time) and the cache of any that moved is refreshed."""
    if limit < 1:
        raise ValidationError("--top needs a number of contacts, 1 or more")
    ids = (
        session.execute(
            select(Contact.id)
            .where(Contact.deleted_at.is_(None), Contact.stage.not_in((WON, LOST)))
            .order_by(Contact.score.desc(), Contact.name_folded, Contact.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    order = {contact_id: position for position, contact_id in enumerate(ids)}
    scored = _score_and_sync(session, list(ids), now or datetime.now(UTC))
    return sorted(scored, key=lambda s: (-s.score, order[s.id]))


def _score_and_sync(session: Session, ids: list[int], now: datetime) -> list[ScoredContact]:
    rule_set = current_rules(session)
    scored, moved = [], []
    for start in range(0, len(ids), IDS_PER_QUERY):
        for facts in facts_for(session, ids[start : start + IDS_PER_QUERY], now=now):
            result = score_contact(rule_set, facts)
            scored.append(result)
            if result.score != facts.cached_score:
                moved.append((facts.id, result.score))
    _write_scores(session, moved)
    return scored


def recompute_scores(
    session: Session, contact_ids: list[int] | None = None, *, now: datetime | None = None
) -> Recomputed:
    """Work out the scores of the given contacts (default: all of them) and
    write those that changed, in bulk."""
    now = now or datetime.now(UTC)
    rule_set = current_rules(session)
    if contact_ids is None:
        batches = facts_in_batches(session, now=now, needs=rule_set.needs, batch=BATCH)
    else:
        ids = list(dict.fromkeys(contact_ids))
        batches = (
            facts_for(session, ids[start : start + IDS_PER_QUERY], now=now, needs=rule_set.needs)
            for start in range(0, len(ids), IDS_PER_QUERY)
        )
    scored = changed = 0
    for batch in batches:
        moved = []
        for facts in batch:
            score = sum(rule.points_for(facts.values, facts.tags) for rule in rule_set.rules)
            if score != facts.cached_score:
                moved.append((facts.id, score))
        _write_scores(session, moved)
        scored, changed = scored + len(batch), changed + len(moved)
    return Recomputed(scored, changed)


def refresh_score(session: Session, contact_id: int, *, now: datetime | None = None) -> int:
    """Bring one contact's cached score up to date; returns it."""
    now = now or datetime.now(UTC)
    rule_set = current_rules(session)
    found = facts_for(session, [contact_id], now=now, needs=rule_set.needs)
    if not found:
        return 0
    score = sum(rule.points_for(found[0].values, found[0].tags) for rule in rule_set.rules)
    if score != found[0].cached_score:
        _write_scores(session, [(contact_id, score)])
    return score


_SET_SCORE = (
    update(Contact.__table__)
    .where(Contact.__table__.c.id == bindparam("contact_id"))
    .values(score=bindparam("new_score"))
)


def _write_scores(session: Session, scores: list[tuple[int, int]]) -> None:
    """One executemany for a batch. The score is derived data, so neither
    updated_at nor the edit version moves (an open editor is not outdated)."""
    if not scores:
        return
    session.execute(_SET_SCORE, [{"contact_id": i, "new_score": s} for i, s in scores])
    # Rows this session already holds must not show (or write back) the old score.
    changed = {contact_id for contact_id, _score in scores}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Contact) and obj.id in changed:
            session.expire(obj, ["score"])
