"""A parsed scoring condition: the tree rules.py builds, and what it means.

Each node evaluates against `values` (name -> value, None when missing) and
`tags` (the contact's folded tags). Text compares folded; a comparison with
a missing value is false; nothing here can raise on odd data.
"""

import functools
import operator
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from minicrm.text import fold

COMPARE = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


_fold = functools.lru_cache(maxsize=16384)(fold)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Both sides as numbers or as folded text; None when they cannot compare."""
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        return _fold(a), _fold(b)
    try:  # a custom field holds text; '12' compares with 12
        return (float(a), b) if isinstance(a, str) else (a, float(b))
    except (TypeError, ValueError):
        return None


def compare(op: str, a: Any, b: Any) -> bool:
    pair = _comparable(a, b)
    if pair is None:
        return False
    try:
        return bool(COMPARE[op](*pair))
    except TypeError:
        return False


def truthy(value: Any) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Name:
    name: str

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> Any:
        return values.get(self.name)


@dataclass(frozen=True, slots=True)
class HasTag:
    tag: str  # folded

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        return self.tag in tags


@dataclass(frozen=True, slots=True)
class Has:
    name: str

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        value = values.get(self.name)
        return value is not None and not (isinstance(value, str) and not value.strip())


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Any
    right: Any

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        return compare(self.op, self.left.evaluate(values, tags), self.right.evaluate(values, tags))


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True, slots=True)
class NameVersusLiteral:
    """`name OP literal` (the usual shape), with the literal prepared once:
    100,000 contacts times a dozen rules make this the hot path."""

    name: str
    op: str
    literal: Any  # a number, or folded text

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        value = values.get(self.name)
        if value is None:
            return False
        literal = self.literal
        if isinstance(literal, str):
            if isinstance(value, str):
                return COMPARE[self.op](_fold(value), literal)
        elif isinstance(value, int | float):
            return COMPARE[self.op](value, literal)
        return compare(self.op, value, literal)


def comparison_node(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Literal) and isinstance(right, Name):
        left, right, op = right, left, _FLIPPED[op]
    if isinstance(left, Name) and isinstance(right, Literal):
        literal = _fold(right.value) if isinstance(right.value, str) else right.value
        return NameVersusLiteral(left.name, op, literal)
    return Compare(op, left, right)


@dataclass(frozen=True, slots=True)
class In:
    operand: Any
    items: tuple
    negated: bool
    texts: frozenset = frozenset()  # the items that are text, folded
    numbers: frozenset = frozenset()  # the items that are numbers

    @classmethod
    def of(cls, operand: Any, items: tuple, negated: bool) -> "In":
        texts = frozenset(_fold(i) for i in items if isinstance(i, str))
        numbers = frozenset(i for i in items if not isinstance(i, str))
        return cls(operand, items, negated, texts, numbers)

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        value = self.operand.evaluate(values, tags)
        if value is None:
            return False
        if isinstance(value, str) and not self.numbers:
            found = _fold(value) in self.texts
        elif isinstance(value, int | float) and not self.texts:
            found = value in self.numbers
        else:
            found = any(compare("==", value, item) for item in self.items)
        return found != self.negated


@dataclass(frozen=True, slots=True)
class Not:
    operand: Any

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        return not truthy(self.operand.evaluate(values, tags))


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        return all(truthy(o.evaluate(values, tags)) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple

    def evaluate(self, values: Mapping[str, Any], tags: Collection[str]) -> bool:
        return any(truthy(o.evaluate(values, tags)) for o in self.operands)


@dataclass(frozen=True)
class Expression:
    """A parsed condition: `matches()` says whether a contact satisfies it."""

    text: str
    tree: Any
    names: frozenset[str]  # every field or figure it reads
    tags: frozenset[str]  # every tag it asks about

    def matches(self, values: Mapping[str, Any], tags: Collection[str] = ()) -> bool:
        return truthy(self.tree.evaluate(values, tags))
