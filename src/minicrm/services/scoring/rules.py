"""The scoring rules' expression language: a tokenizer and a recursive-descent
parser that build the tree of rule_tree.py, which evaluates it. Expressions
are data, never Python: nothing calls eval, exec or compile, and a name can
only ever look up a value.

Grammar (lowest precedence first)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [(OP operand) | ["not"] "in" list]
    operand    := NUMBER | "-" NUMBER | STRING | NAME | call | "(" expr ")"
    call       := "tag" "(" STRING ")" | "has" "(" NAME ")"
    list       := ("(" | "[") literal ("," literal)* [","] (")" | "]")
    OP         := "==" | "!=" | "<" | "<=" | ">" | ">="

Text compares folded (case, accents and Persian/Arabic letter variants do not
matter); a comparison with a missing value is false, never an error.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minicrm.errors import ValidationError
from minicrm.services.scoring.rule_tree import (
    And,
    Expression,
    Has,
    HasTag,
    In,
    Literal,
    Name,
    Not,
    Or,
    comparison_node,
    is_number,
)

MAX_LENGTH = 1000
MAX_DEPTH = 32
KEYWORDS = ("and", "or", "not", "in")
FUNCTIONS = ("tag", "has")
EXTRA_PREFIX = "extra."
# A name's kind, for catching `value > 'big'` while the rules are checked.
NUMBER, TEXT, ANY = "number", "text", "any"

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_DIGITS = "0123456789"


class RuleError(ValidationError):
    """A rule that cannot be used, with where the problem is (1-based column
    in the rule's expression; None when the rule as a whole is wrong)."""

    def __init__(self, detail: str, column: int | None = None, rule: str | None = None):
        where = f" at column {column}" if column is not None else ""
        prefix = f"rule {rule!r}: " if rule is not None else ""
        super().__init__(f"{prefix}{detail}{where}", field="scoring_rules")
        self.detail, self.column, self.rule = detail, column, rule


# ------------------------------------------------------------------ tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, name, op, ( ) [ ] , - end
    value: Any
    column: int
    text: str


def tokenize(source: str, rule: str | None = None) -> list[Token]:
    def fail(detail: str, index: int):
        raise RuleError(detail, index + 1, rule)

    if len(source) > MAX_LENGTH:
        fail(f"expression is too long ({len(source)} characters; at most {MAX_LENGTH})", 0)
    tokens: list[Token] = []
    i, size = 0, len(source)
    while i < size:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in _DIGITS:
            start = i
            while i < size and source[i] in _DIGITS:
                i += 1
            if i + 1 < size and source[i] == "." and source[i + 1] in _DIGITS:
                i += 1
                while i < size and source[i] in _DIGITS:
                    i += 1
                value: Any = float(source[start:i])
            else:
                value = int(source[start:i])
            tokens.append(Token("number", value, start + 1, source[start:i]))
        elif ch in "'\"":
            value, end = _read_string(source, i, rule)
            tokens.append(Token("string", value, i + 1, source[i:end]))
            i = end
        elif ch.isalpha() or ch == "_":
            start = i
            while i < size and (
                source[i].isalnum()
                or source[i] == "_"
                or (source[i] == "." and i + 1 < size and _name_char(source[i + 1]))
            ):
                i += 1
            word = source[start:i]
            tokens.append(Token("name", word, start + 1, word))
        elif source.startswith(("==", "!=", "<=", ">="), i):
            tokens.append(Token("op", source[i : i + 2], i + 1, source[i : i + 2]))
            i += 2
        elif ch in "<>":
            tokens.append(Token("op", ch, i + 1, ch))
            i += 1
        elif ch in "()[],-":
            tokens.append(Token(ch, ch, i + 1, ch))
            i += 1
        elif ch == "=":
            fail("unexpected '=' (compare with '==')", i)
        elif ch == "!":
            fail("unexpected '!' (negate with 'not', compare with '!=')", i)
        else:
            fail(f"unexpected {ch!r}", i)
    tokens.append(Token("end", None, size + 1, ""))
    return tokens


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _read_string(source: str, start: int, rule: str | None) -> tuple[str, int]:
    quote, i, chars = source[start], start + 1, []
    while i < len(source):
        ch = source[i]
        if ch == quote:
            return "".join(chars), i + 1
        if ch == "\\":
            if i + 1 >= len(source):
                break
            escaped = source[i + 1]
            if escaped not in _ESCAPES:
                raise RuleError(
                    f"unknown escape '\\{escaped}' (use \\\\, \\', \\\", \\n or \\t)", i + 1, rule
                )
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        chars.append(ch)
        i += 1
    raise RuleError("unterminated string", start + 1, rule)


# ----------------------------------------------------------------- parser


@dataclass(frozen=True)
class Vocabulary:
    """The names a condition may use, each NUMBER, TEXT or ANY; with
    `extra`, every `extra.KEY` (a custom field, compared as found)."""

    kinds: Mapping[str, str]
    extra: bool = True

    def kind_of(self, name: str) -> str | None:
        if self.extra and name.startswith(EXTRA_PREFIX) and len(name) > len(EXTRA_PREFIX):
            return ANY
        return self.kinds.get(name)


class _AnyName(Vocabulary):
    def kind_of(self, name: str) -> str | None:
        return ANY


def parse_expression(
    source: str, *, vocabulary: Vocabulary | None = None, rule: str | None = None
) -> Expression:
    """Parse `source`; RuleError (with the column) when it is not a valid
    expression. `vocabulary` says which names exist (default: any name)."""
    if not isinstance(source, str):
        raise RuleError("the condition must be a string", None, rule)
    if not source.strip():
        raise RuleError("the condition is empty", None, rule)
    parser = _Parser(tokenize(source, rule), vocabulary or _AnyName({}), rule)
    tree = parser.parse()
    return Expression(source, tree, frozenset(parser.names), frozenset(parser.tags))


class _Parser:
    def __init__(self, tokens: list[Token], vocabulary: Vocabulary, rule: str | None):
        self.tokens, self.pos, self.depth = tokens, 0, 0
        self.vocabulary, self.rule = vocabulary, rule
        self.names: set[str] = set()
        self.tags: set[str] = set()

    # -- helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.pos + offset, len(self.tokens) - 1)]
        return token.kind == "name" and token.value == word

    def fail(self, detail: str, token: Token | None = None):
        token = token or self.current
        raise RuleError(detail, token.column, self.rule)

    def unexpected(self, token: Token | None = None):
        token = token or self.current
        if token.kind == "end":
            self.fail("unexpected end of the condition", token)
        self.fail(f"unexpected {token.text!r}", token)

    def expect(self, kind: str) -> Token:
        if self.current.kind != kind:
            if self.current.kind == "end":
                self.fail(f"expected {kind!r} before the end of the condition")
            self.fail(f"expected {kind!r}, found {self.current.text!r}")
        return self.advance()

    def nested(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"the condition is nested too deeply (at most {MAX_DEPTH} levels)", token)

    # -- grammar
    def parse(self):
        tree = self.or_expr()
        if self.current.kind != "end":
            self.unexpected()
        return tree

    def or_expr(self):
        operands = [self.and_expr()]
        while self.is_word("or"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self):
        operands = [self.not_expr()]
        while self.is_word("and"):
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self):
        if self.is_word("not"):
            self.nested(self.advance())
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand)
        return self.comparison()

    def comparison(self):
        left_token = self.current
        left = self.operand()
        if self.current.kind == "op":
            op_token = self.advance()
            right_token = self.current
            right = self.operand()
            self.check_kinds(left, left_token, right, right_token)
            return comparison_node(op_token.value, left, right)
        negated = self.is_word("not") and self.is_word("in", 1)
        if negated or self.is_word("in"):
            if negated:
                self.advance()
            self.advance()
            items, items_token = self.literal_list()
            for item in items:
                self.check_kinds(left, left_token, Literal(item), items_token)
            return In.of(left, items, negated)
        return left

    def operand(self):
        token = self.current
        if token.kind in ("number", "string"):
            self.advance()
            return Literal(token.value)
        if token.kind == "-":
            self.advance()
            number = self.expect("number")
            return Literal(-number.value)
        if token.kind == "(":
            self.nested(self.advance())
            inner = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return inner
        if token.kind == "name" and token.value not in KEYWORDS:
            self.advance()
            if self.current.kind == "(":
                return self.call(token)
            return Name(self.known_name(token))
        self.unexpected(token)

    def call(self, function: Token):
        if function.value not in FUNCTIONS:
            self.fail(f"unknown function {function.value!r} (use tag('…') or has(field))", function)
        self.advance()  # (
        if function.value == "tag":
            from minicrm.services.records.validation import normalize_tag

            argument = self.expect("string")
            try:
                tag = normalize_tag(argument.value)
            except ValidationError:
                self.fail(f"invalid tag {argument.value!r}", argument)
            self.tags.add(tag)
            node: Any = HasTag(tag)
        else:
            argument = self.current
            if argument.kind != "name" or argument.value in KEYWORDS:
                self.fail("has() takes a field name, e.g. has(email)", argument)
            self.advance()
            node = Has(self.known_name(argument))
        self.expect(")")
        return node

    def literal_list(self) -> tuple[tuple, Token]:
        opening = self.current
        if opening.kind not in ("(", "["):
            self.fail("'in' needs a list, e.g. source in ('referral', 'walk-in')")
        self.advance()
        closing = ")" if opening.kind == "(" else "]"
        items = []
        while True:
            token = self.current
            if token.kind == closing:
                if not items:
                    self.fail("the list is empty", token)
                break
            if token.kind in ("number", "string"):
                items.append(self.advance().value)
            elif token.kind == "-":
                self.advance()
                items.append(-self.expect("number").value)
            else:
                self.fail("the list may hold only numbers and quoted text", token)
            if self.current.kind == ",":
                self.advance()
            elif self.current.kind != closing:
                self.expect(closing)
        self.advance()
        return tuple(items), opening

    def known_name(self, token: Token) -> str:
        name = token.value
        if self.vocabulary.kind_of(name) is None:
            hint = self.suggestion(name)
            self.fail(f"unknown name {name!r}{hint}", token)
        self.names.add(name)
        return name

    def suggestion(self, name: str) -> str:
        import difflib

        close = difflib.get_close_matches(name, list(self.vocabulary.kinds), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def check_kinds(self, left, left_token: Token, right, right_token: Token) -> None:
        """`value > 'big'` or `source == 3` can never be true: say so now."""
        for name_node, other, token in ((left, right, right_token), (right, left, left_token)):
            if isinstance(name_node, Name) and isinstance(other, Literal):
                kind = self.vocabulary.kind_of(name_node.name)
                if kind == NUMBER and isinstance(other.value, str):
                    self.fail(f"{name_node.name} is a number; compare it with a number", token)
                if kind == TEXT and is_number(other.value):
                    self.fail(f"{name_node.name} is text; quote what you compare it with", token)
