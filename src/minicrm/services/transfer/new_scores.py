"""Scores of the contacts an import creates, worked out from the rows alone.

A new contact has no interactions or follow-ups yet, so the facts
scoring/figures.py would gather for it are its own fields and a few dates.
At 100,000 rows a dozen rules evaluated per row cost seconds, while each
rule reads only a few values that repeat from row to row (a source, a
stage, whether there is an email): so each rule's points are remembered by
exactly what it reads. (A test checks the scores against a full
recompute_scores, another the memo against the rules themselves.)
"""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from minicrm.models import cents_to_major
from minicrm.services.contacts.editing import dump_extra
from minicrm.services.scoring.rule_tree import (
    And,
    Compare,
    Has,
    HasTag,
    In,
    Literal,
    Name,
    NameVersusLiteral,
    Not,
    Or,
)
from minicrm.services.scoring.rules import EXTRA_PREFIX

NO_ACTIVITY = {
    "interactions_30d": 0, "interactions_90d": 0, "days_since_last_interaction": None,
    "purchases_total": 0, "purchases_count": 0, "open_followups": 0, "overdue_followups": 0,
}  # fmt: skip
MEMO_LIMIT = 20_000  # verdicts kept per rule (a rule on a value that never repeats gains nothing)


class NewContactScorer:
    """Scores of contacts that have just been made, from the row itself: the
    facts figures.py would gather for them, with no interactions or
    follow-ups yet."""

    def __init__(self, session: Session, now: datetime):
        from minicrm.services.scoring.figures import TEXT_FIELDS, extra_values, whole_days
        from minicrm.services.scoring.scores import current_rules

        self.now, self.days, self.extra_values = now, whole_days, extra_values
        rule_set = current_rules(session)
        self.with_extra = rule_set.needs.extra
        self.base = {**dict.fromkeys(TEXT_FIELDS), **NO_ACTIVITY}
        # A rule that reads only activity figures (interactions, follow-ups)
        # gives every new contact the same points: counted once.
        fixed = [r for r in rule_set.rules if r.names <= NO_ACTIVITY.keys()
                 and not (r.when and r.when.tags)]  # fmt: skip
        self.offset = sum(r.points_for(self.base, frozenset()) for r in fixed)
        self.rules = [_Remembered(r) for r in rule_set.rules if r not in fixed]
        self._days: dict[tuple[datetime, int], int | None] = {}

    def scores(self, planned: list) -> list[int]:
        """The score of each row of `planned`, rule by rule over the chunk."""
        if not self.rules:
            return [self.offset] * len(planned)
        chunk = _Chunk(self, planned)
        columns = [rule.points(chunk) for rule in self.rules]
        offset = self.offset
        return [offset + sum(points) for points in zip(*columns, strict=True)]

    def values(self, p) -> dict[str, Any]:
        """What the rules read of a new contact (_Chunk.column reads the same)."""
        values = {**self.base, **p.values}  # (value_cents rides along; no rule can name it)
        values["value"] = cents_to_major(p.values.get("value_cents"))
        values["days_in_stage"] = self._days_since(p.entered_at)
        values["days_since_created"] = self._days_since(p.created_at)
        if self.with_extra and p.extra:
            values.update(self.extra_values(dump_extra(p.extra)))  # only extra.* names
        return values

    def _days_since(self, at: datetime) -> int | None:
        key = (at, at.fold)  # (times a clock shows twice compare equal in their zone)
        days = self._days.get(key)
        if days is None:
            days = self.days(self.now, at)
            if len(self._days) < MEMO_LIMIT:
                self._days[key] = days
        return days


class _Chunk:
    """A chunk of new contacts as the rules see them, a column (one name's
    values) at a time, with no dict per row: column(name)[i] is
    scorer.values(planned[i]).get(name)."""

    def __init__(self, scorer: NewContactScorer, planned: list):
        self.scorer, self.planned = scorer, planned
        self.tags = [frozenset(p.tags) for p in planned]
        self._columns: dict[str, list] = {}
        self._rows: list[dict[str, Any]] | None = None

    def column(self, name: str) -> list:
        found = self._columns.get(name)
        if found is None:
            found = self._columns[name] = self._column(name)
        return found

    def _column(self, name: str) -> list:
        planned, scorer = self.planned, self.scorer
        if name == "value":
            return [cents_to_major(p.values.get("value_cents")) for p in planned]
        if name == "days_in_stage":
            return [scorer._days_since(p.entered_at) for p in planned]
        if name == "days_since_created":
            return [scorer._days_since(p.created_at) for p in planned]
        if name.startswith(EXTRA_PREFIX):
            return [values.get(name) for values in self.rows()]
        default = scorer.base.get(name)
        return [p.values.get(name, default) for p in planned]

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [self.scorer.values(p) for p in self.planned]
        return self._rows


class _Remembered:
    """One rule's points for many rows, remembered by what the rule reads:
    each value it reads (with its type, so 1, 1.0 and True stay apart), or
    for a name read only by has(), whether it is there; and which of its
    tags the row has. Such a rule reads nothing else, so it is worked out
    on just those values. A condition holding a node _reads does not know
    is worked out row by row on everything."""

    def __init__(self, rule):
        self.rule = rule
        reads = _reads(rule.when.tree) if rule.when is not None else (set(), set())
        self.known = reads is not None
        valued, present = reads or (set(), set())
        if rule.per:
            valued.add(rule.per)
        self.valued = tuple(sorted(valued))
        self.present = tuple(sorted(present - valued))
        self.asked = tuple(sorted(rule.when.tags)) if rule.when is not None else ()
        self.memo: dict[Any, int] = {}

    def points(self, chunk: _Chunk) -> list[int]:
        compute, tags = self.rule.points_for, chunk.tags
        if not self.known:
            return [compute(v, t) for v, t in zip(chunk.rows(), tags, strict=True)]
        read = {name: chunk.column(name) for name in (*self.valued, *self.present)}
        parts: list = []
        for name in self.valued:
            parts += (read[name], map(type, read[name]))
        for name in self.present:
            parts.append([_present(value) for value in read[name]])
        for tag in self.asked:
            parts.append([tag in own for own in tags])
        keys = list(zip(*parts, strict=True)) if parts else [()] * len(tags)
        memo = self.memo
        try:
            firsts = dict(zip(keys, range(len(keys)), strict=True))  # a row of each key
        except TypeError:  # an unhashable value: row by row
            return [compute(v, t) for v, t in zip(chunk.rows(), tags, strict=True)]
        if len(memo) + len(firsts) > MEMO_LIMIT:
            memo.clear()
        for key, index in firsts.items():
            if key not in memo:
                memo[key] = compute({n: column[index] for n, column in read.items()}, tags[index])
        return list(map(memo.__getitem__, keys))


def _present(value: Any) -> bool:
    """What has(name) sees (rule_tree.Has)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _reads(node: Any) -> tuple[set[str], set[str]] | None:
    """(names whose value the condition reads, names it reads only through
    has()), or None when it holds a kind of node not listed here."""
    valued: set[str] = set()
    present: set[str] = set()
    stack = [node]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is Name or kind is NameVersusLiteral:
            valued.add(node.name)
        elif kind is Has:
            present.add(node.name)
        elif kind is Compare:
            stack += (node.left, node.right)
        elif kind is In or kind is Not:
            stack.append(node.operand)
        elif kind is And or kind is Or:
            stack += node.operands
        elif kind is not Literal and kind is not HasTag:
            return None
    return valued, present
