"""The rules file: TOML in, a checked RuleSet out, and the default rules.

Every `[[rule]]` has a name, points, and a `when` condition (rules.py
grammar) and/or a `per` figure that earns the points once per unit, capped
by `max`. Checking is all-or-nothing: the first mistake is reported with its
rule's name (and, inside a condition, the column).
"""

import functools
import math
import tomllib
from dataclasses import dataclass
from typing import Any

from minicrm.errors import ValidationError
from minicrm.services.scoring.figures import NUMERIC_NAMES, VOCABULARY, Needs
from minicrm.services.scoring.rules import TEXT, Expression, RuleError, parse_expression

RULE_KEYS = ("name", "when", "per", "points", "max")

DEFAULT_RULES = """\
# Lead scoring rules. Each [[rule]] adds its points (or takes them away, when
# negative) to every contact it matches:
#   when   = a condition, e.g. "source == 'referral' and value >= 500"
#   per    = a figure that earns the points once per unit (with an optional
#            `max` on the points), e.g. per = "interactions_30d"
# Change them with `crm score rules --edit`; `crm score rules --help` lists
# the figures and the grammar.

[[rule]]
name = "came by referral"
when = "source == 'referral'"
points = 25

[[rule]]
name = "walked in"
when = "source == 'walk-in'"
points = 15

[[rule]]
name = "engaged lately"
per = "interactions_30d"
points = 3
max = 30

[[rule]]
name = "gone quiet"
when = "days_since_last_interaction > 60"
points = -15

[[rule]]
name = "repeat customer"
per = "purchases_count"
points = 5
max = 20

[[rule]]
name = "big spender"
when = "purchases_total >= 1000"
points = 15

[[rule]]
name = "worth a lot"
when = "value >= 1000"
points = 10

[[rule]]
name = "close to deciding"
when = "stage in ('decision', 'action')"
points = 15

[[rule]]
name = "stuck in stage"
when = "days_in_stage > 90 and stage not in ('won', 'lost')"
points = -10

[[rule]]
name = "next step planned"
when = "open_followups > 0"
points = 5

[[rule]]
name = "follow-up overdue"
when = "overdue_followups > 0"
points = -10

[[rule]]
name = "vip"
when = "tag('vip')"
points = 20

[[rule]]
name = "no budget"
when = "tag('no-budget') or lost_reason == 'no budget'"
points = -40

[[rule]]
name = "no way to reach"
when = "not has(email) and not has(phone)"
points = -10
"""


@dataclass(frozen=True)
class Rule:
    name: str
    points: int | float
    when: Expression | None = None
    per: str | None = None
    max: int | float | None = None

    @functools.cached_property
    def whole_points(self) -> int:
        return _whole(self.points)

    @property
    def names(self) -> frozenset[str]:
        used = set(self.when.names) if self.when else set()
        if self.per:
            used.add(self.per)
        return frozenset(used)

    def points_for(self, values: dict[str, Any], tags: frozenset[str]) -> int:
        """What this rule gives a contact: 0 when it does not match."""
        if self.when is not None and not self.when.matches(values, tags):
            return 0
        if self.per is None:
            return self.whole_points
        earned = self.points * _units(values.get(self.per))
        if self.max is not None:
            earned = max(-self.max, min(self.max, earned))
        return _whole(earned)


def _units(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0
    if not isinstance(value, int | float) or math.isnan(value) or value < 0:
        return 0
    return value


def _whole(points: float) -> int:
    """Points rounded half away from zero (2.5 → 3, -2.5 → -3)."""
    if math.isinf(points):
        return 0
    return int(math.copysign(math.floor(abs(points) + 0.5), points))


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    text: str

    def __len__(self) -> int:
        return len(self.rules)

    @functools.cached_property
    def needs(self) -> Needs:
        names = frozenset().union(*(r.names for r in self.rules))
        return Needs(names, tags=any(r.when and r.when.tags for r in self.rules))


@functools.lru_cache(maxsize=8)
def parse_rules(text: str) -> RuleSet:
    """Check a rules file; ValidationError (RuleError with the rule's name and
    the column) for the first thing wrong in it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"the scoring rules are not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise ValidationError(
            f"unknown top-level key {unknown[0]!r} in the scoring rules; "
            "write each rule as a [[rule]] table"
        )
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValidationError("write each scoring rule as a [[rule]] table")
    rules: list[Rule] = []
    for position, table in enumerate(tables, start=1):
        rule = _parse_rule(table, position)
        if any(r.name == rule.name for r in rules):
            raise RuleError("two rules have this name; give each its own", rule=rule.name)
        rules.append(rule)
    return RuleSet(tuple(rules), text)


def _parse_rule(table: dict[str, Any], position: int) -> Rule:
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f'rule #{position} needs a name, e.g. name = "came by referral"')
    name = name.strip()
    unknown = sorted(set(table) - set(RULE_KEYS))
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} (keys: {', '.join(RULE_KEYS)})", rule=name)
    points = table.get("points")
    if not _is_number(points):
        raise RuleError("points must be a number, e.g. points = 10 or points = -5", rule=name)
    when, per, cap = table.get("when"), table.get("per"), table.get("max")
    if when is None and per is None:
        raise RuleError('give a condition (when = "...") or a figure (per = "...")', rule=name)
    if cap is not None and per is None:
        raise RuleError("max only goes with per", rule=name)
    if cap is not None and (not _is_number(cap) or cap <= 0):
        raise RuleError("max must be a positive number of points", rule=name)
    if per is not None:
        per = _check_per(per, name)
    expression = None
    if when is not None:
        if not isinstance(when, str):
            raise RuleError('when must be a quoted condition, e.g. when = "value > 100"', rule=name)
        expression = parse_expression(when, vocabulary=VOCABULARY, rule=name)
    return Rule(name=name, points=points, when=expression, per=per, max=cap)


def _check_per(per: Any, rule: str) -> str:
    figures = ", ".join(sorted(NUMERIC_NAMES))
    if not isinstance(per, str):
        raise RuleError(f"per must name a figure: {figures}", rule=rule)
    per = per.strip()
    kind = VOCABULARY.kind_of(per)
    if kind is None:
        raise RuleError(f"per names an unknown figure {per!r}; figures: {figures}", rule=rule)
    if kind == TEXT:
        raise RuleError(f"per needs a number, and {per} is text; figures: {figures}", rule=rule)
    return per


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
