"""The scoring rules' expression language: grammar, semantics, errors, safety."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.errors import ValidationError
from minicrm.services.scoring.figures import VOCABULARY
from minicrm.services.scoring.rules import MAX_DEPTH, MAX_LENGTH, RuleError, parse_expression


def matches(text: str, tags=(), **values) -> bool:
    return parse_expression(text, vocabulary=VOCABULARY).matches(values, frozenset(tags))


def error_of(text: str, rule: str | None = None) -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse_expression(text, vocabulary=VOCABULARY, rule=rule)
    return caught.value


# ------------------------------------------------------------- semantics


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("value == 100", {"value": 100}, True),
        ("value == 100", {"value": 100.0}, True),
        ("value != 100", {"value": 99}, True),
        ("value < 100", {"value": 99.5}, True),
        ("value <= 100", {"value": 100}, True),
        ("value > 100", {"value": 100}, False),
        ("value >= 100", {"value": 100}, True),
        ("100 < value", {"value": 150}, True),  # literal on the left
        ("100 >= value", {"value": 150}, False),
        ("value > -5", {"value": -4}, True),
        ("source == 'referral'", {"source": "Referral"}, True),  # case-folded
        ("name == 'maria lopez'", {"name": "MARÍA  López"}, True),  # accents, spaces
        ("name == 'علي'", {"name": "علی"}, True),  # Arabic yeh typed as Persian yeh
        ("source < 'b'", {"source": "Apple"}, True),
        ('city == "Köln"', {"city": "köln"}, True),
    ],
)
def test_comparisons(text, values, expected):
    assert matches(text, **values) is expected


@pytest.mark.parametrize(
    "text",
    ["source == 'x'", "source != 'x'", "value > 1", "value < 1", "value != 0", "1 < value"],
)
def test_a_comparison_with_a_missing_value_is_false(text):
    assert matches(text) is False
    assert matches(text, source=None, value=None) is False


def test_precedence_is_not_then_and_then_or():
    # not binds tighter than and: (not has(email)) and has(phone)
    assert matches("not has(email) and has(phone)") is False
    assert matches("not (has(email) and has(phone))") is True
    # and binds tighter than or: has(email) or (has(phone) and has(city))
    assert matches("has(email) or has(phone) and has(city)", email="a@b.c") is True
    assert matches("(has(email) or has(phone)) and has(city)", email="a@b.c") is False
    # not applies to its comparison, not to the whole or
    assert matches("not has(email) or has(phone)", email="a@b.c", phone="1") is True
    assert matches("not (has(email) or has(phone))", email="a@b.c", phone="1") is False
    assert matches("not value > 5", value=3) is True
    assert matches("not not has(email)", email="a@b.c") is True


def test_in_with_a_list_literal():
    assert matches("source in ('referral', 'walk-in')", source="Walk-In") is True
    assert matches("source in ['referral', 'walk-in',]", source="web") is False
    assert matches("source not in ('referral', 'walk-in')", source="web") is True
    assert matches("source not in ('referral')", source="referral") is False
    assert matches("source in ('referral')") is False  # missing: never in
    assert matches("source not in ('referral')") is False  # …nor out
    assert matches("value in (1, 2.5, -3)", value=2.5) is True
    assert matches("value in (1, 2.5, -3)", value=-3) is True
    assert matches("value in (1, 2.5)", value=2) is False
    assert matches("extra.size in ('10', 20)", **{"extra.size": "20"}) is True


def test_tag_and_has():
    assert matches("tag('vip')", tags={"vip"}) is True
    assert matches("tag('VIP')", tags={"vip"}) is True  # tags are folded like stored ones
    assert matches("tag('#vip')", tags={"vip"}) is True
    assert matches("tag('vip')", tags={"cold"}) is False
    assert matches("has(email)", email="a@b.c") is True
    assert matches("has(email)", email="") is False
    assert matches("has(email)", email="   ") is False
    assert matches("has(email)") is False
    assert matches("has(value)", value=0) is True  # zero is a value, not a missing one
    assert matches("has(days_since_last_interaction)", days_since_last_interaction=None) is False
    assert matches("has(extra.birthday)", **{"extra.birthday": "1990-01-01"}) is True


def test_a_bare_name_is_true_when_it_holds_something():
    assert matches("open_followups", open_followups=2) is True
    assert matches("open_followups", open_followups=0) is False
    assert matches("company", company="Acme") is True
    assert matches("company") is False


def test_custom_fields_compare_as_numbers_when_they_look_like_numbers():
    assert matches("extra.employees > 10", **{"extra.employees": "12"}) is True
    assert matches("extra.employees > 10", **{"extra.employees": "many"}) is False
    assert matches("extra.plan == 'gold'", **{"extra.plan": "Gold"}) is True
    assert matches("extra.plan == 'gold'") is False


def test_string_escapes():
    assert matches(r"name == 'it\'s'", name="It's") is True
    assert matches(r'name == "say \"hi\""', name='say "hi"') is True
    assert parse_expression(r"'a\\b' == 'x'").tree is not None
    assert matches(r"name == 'back\\slash'", name="back\\slash") is True
    assert matches(r"name == 'two\nlines'", name="two lines") is True  # folded whitespace
    assert matches(r"name == 'tab\there'", name="tab here") is True


def test_names_and_tags_used_are_reported():
    expression = parse_expression(
        "source == 'x' and (tag('VIP') or value > 3) and not has(email)", vocabulary=VOCABULARY
    )
    assert expression.names == {"source", "value", "email"}
    assert expression.tags == {"vip"}


# ---------------------------------------------------------------- errors


def test_an_error_names_the_rule_and_the_column():
    error = error_of("source == 'refe')", rule="came by referral")
    assert error.message == "rule 'came by referral': unexpected ')' at column 17"
    assert (error.column, error.rule) == (17, "came by referral")
    assert isinstance(error, ValidationError)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("value > ", 9, "unexpected end"),
        ("value = 3", 7, "'=='"),
        ("!has(email)", 1, "'not'"),
        ("source == 'referral", 11, "unterminated string"),
        (r"source == 'a\q'", 13, "unknown escape"),
        ("sorce == 'x'", 1, "unknown name 'sorce' (did you mean 'source'?)"),
        ("value > 3 and", 14, "unexpected end"),
        ("value > 3 3", 11, "unexpected '3'"),
        ("(value > 3", 11, "expected ')'"),
        ("source in ()", 12, "the list is empty"),
        ("source in (email)", 12, "only numbers and quoted text"),
        ("source in 'a'", 11, "needs a list"),
        ("tag(vip)", 5, "expected 'string'"),
        ("tag('')", 5, "invalid tag"),
        ("has('email')", 5, "has() takes a field name"),
        ("open('x')", 1, "unknown function 'open'"),
        ("value > 'big'", 9, "value is a number"),
        ("'big' < value", 1, "value is a number"),
        ("source == 3", 11, "source is text"),
        ("stage in ('won', 2)", 10, "stage is text"),
        ("value > 1 and and", 15, "unexpected 'and'"),
        ("value > 1.2.3", 12, "unexpected '.'"),
        ("value @ 1", 7, "unexpected '@'"),
        ("value > 1 \x00", 11, "unexpected '\\x00'"),
    ],
)
def test_error_positions(text, column, fragment):
    error = error_of(text)
    assert error.column == column, error.message
    assert fragment in error.message
    assert error.message.endswith(f"at column {column}")
    assert "\n" not in error.message


def test_empty_or_non_text_conditions_are_refused():
    assert "empty" in error_of("   ").message
    with pytest.raises(RuleError, match="must be a string"):
        parse_expression(42)  # type: ignore[arg-type]


def test_nesting_and_length_are_bounded():
    deep = "(" * (MAX_DEPTH + 1) + "has(email)" + ")" * (MAX_DEPTH + 1)
    assert "nested too deeply" in error_of(deep).message
    assert "nested too deeply" in error_of("not " * (MAX_DEPTH + 1) + "has(email)").message
    fine = "(" * MAX_DEPTH + "has(email)" + ")" * MAX_DEPTH
    assert parse_expression(fine).matches({"email": "a@b.c"})
    long = " or ".join(["has(email)"] * 100)
    assert len(long) > MAX_LENGTH
    assert "too long" in error_of(long).message


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {target}')",
        '__import__("os").system("touch {target}")',
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('{target}', 'w')",
        "exec(\"open('{target}', 'w')\")",
        "eval('1')",
        "tag(__import__('os').system('touch {target}'))",
        "has(__import__('os'))",
        "value.__class__",
        "[x for x in ()]",
        "lambda: open('{target}', 'w')",
        "source == 'a' ; import os",
    ],
)
def test_python_code_is_rejected_and_never_run(tmp_path, template):
    target = tmp_path / "pwned"
    with pytest.raises(RuleError):
        parse_expression(template.format(target=target), vocabulary=VOCABULARY)
    assert not target.exists()


def test_a_custom_field_name_is_only_ever_a_lookup():
    """`extra.__class__` names a custom field called "__class__", nothing more."""
    expression = parse_expression("extra.__class__ == 'x' or has(extra.__dict__)")
    assert expression.matches({}) is False
    assert expression.matches({"extra.__class__": "X"}) is True


# ------------------------------------------------------------ properties

NAMES = sorted(VOCABULARY.kinds) + ["extra.plan", "extra.__class__"]
TOKENS = [
    "(", ")", "[", "]", ",", "-", "==", "!=", "<", "<=", ">", ">=", "=", "!", ".", "'", '"',
    "and", "or", "not", "in", "tag", "has", "tag('vip')", "has(email)", "'a'", '"b\\""',
    "'\\q'", "1", "2.5", "-3", "0", "__import__", "os", "system", "lambda", "\\", "#", ";",
    *NAMES,
]  # fmt: skip
VALUES = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["12", "1e3", "nan", "inf", "-0", " 7 "]),
)
FACTS = st.fixed_dictionaries({}, optional=dict.fromkeys(NAMES, VALUES))
TAGS = st.frozensets(st.sampled_from(["vip", "cold", "a"]), max_size=3)


def _try_parse(text: str):
    try:
        return parse_expression(text, vocabulary=VOCABULARY)
    except ValidationError as exc:  # the only thing a parser may raise
        assert isinstance(exc, RuleError)
        assert "\n" not in exc.message
        return None


@settings(max_examples=400)
@given(st.text(max_size=60))
def test_random_text_only_ever_raises_rule_errors(text):
    _try_parse(text)


@settings(max_examples=400)
@given(st.lists(st.sampled_from(TOKENS), max_size=14), FACTS, TAGS)
def test_random_token_sequences_parse_or_fail_cleanly_and_evaluate(tokens, facts, tags):
    expression = _try_parse(" ".join(tokens))
    if expression is not None:
        assert expression.matches(facts, tags) in (True, False)


# Valid expressions built from the grammar, each with what it should give.
NUMBER_NAMES = sorted(n for n, k in VOCABULARY.kinds.items() if k == "number")
TEXT_NAMES = sorted(n for n, k in VOCABULARY.kinds.items() if k == "text")
OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip
WORDS = st.sampled_from(["ref", "REF", "web", "walk-in", "Web", ""])


@st.composite
def atoms(draw):
    kind = draw(st.sampled_from(["number", "text", "in", "tag", "has"]))
    if kind == "number":
        name, op, number = (
            draw(st.sampled_from(NUMBER_NAMES)),
            draw(st.sampled_from(sorted(OPS))),
            draw(st.integers(-50, 50)),
        )
        return (
            f"{name} {op} {number}",
            lambda v, t: v.get(name) is not None and OPS[op](v[name], number),
        )
    if kind == "text":
        name, op, word = (
            draw(st.sampled_from(TEXT_NAMES)),
            draw(st.sampled_from(sorted(OPS))),
            draw(WORDS),
        )
        return (
            f"{name} {op} '{word}'",
            lambda v, t: v.get(name) is not None and OPS[op](v[name].lower(), word.lower()),
        )
    if kind == "in":
        name, words = (
            draw(st.sampled_from(TEXT_NAMES)),
            draw(st.lists(WORDS, min_size=1, max_size=4)),
        )
        listed = ", ".join(f"'{w}'" for w in words)
        return (
            f"{name} in ({listed})",
            lambda v, t: v.get(name) is not None and v[name].lower() in {w.lower() for w in words},
        )
    if kind == "tag":
        tag = draw(st.sampled_from(["vip", "cold"]))
        return f"tag('{tag}')", lambda v, t: tag in t
    name = draw(st.sampled_from(NUMBER_NAMES + TEXT_NAMES))
    return f"has({name})", lambda v, t: v.get(name) is not None and v.get(name) != ""


@st.composite
def flat_expressions(draw):
    """atom (and|or atom)*, each maybe negated, no parentheses: only the
    precedence rules decide how it groups."""
    terms = draw(st.lists(st.tuples(st.booleans(), atoms()), min_size=1, max_size=6))
    joins = draw(st.lists(st.sampled_from(["and", "or"]), min_size=len(terms) - 1,
                          max_size=len(terms) - 1))  # fmt: skip
    text = ""
    for index, (negated, (atom_text, _)) in enumerate(terms):
        if index:
            text += f" {joins[index - 1]} "
        text += ("not " if negated else "") + atom_text

    def expected(values, tags) -> bool:
        groups, current = [], []
        for index, (negated, (_, atom)) in enumerate(terms):
            if index and joins[index - 1] == "or":
                groups.append(current)
                current = []
            current.append(atom(values, tags) != negated)
        groups.append(current)
        return any(all(group) for group in groups)

    return text, expected


FACT_VALUES = st.fixed_dictionaries(
    {},
    optional={
        **{n: st.one_of(st.none(), st.integers(-60, 60)) for n in NUMBER_NAMES},
        **{n: st.one_of(st.none(), WORDS) for n in TEXT_NAMES},
    },
)


@settings(max_examples=500)
@given(flat_expressions(), FACT_VALUES, TAGS)
def test_random_valid_expressions_evaluate_as_the_grammar_says(case, values, tags):
    text, expected = case
    expression = parse_expression(text, vocabulary=VOCABULARY)
    assert expression.matches(values, tags) is expected(values, tags), text


@settings(max_examples=200)
@given(flat_expressions(), flat_expressions(), FACT_VALUES, TAGS)
def test_parentheses_group_as_written(left, right, values, tags):
    text = f"not ({left[0]}) or ({right[0]})"
    wanted = (not left[1](values, tags)) or right[1](values, tags)
    assert parse_expression(text, vocabulary=VOCABULARY).matches(values, tags) is wanted
