"""text.fold / text.tokens: the matching key behind search, REF and dedupe."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicrm.text import fold, tokens

ZWNJ = "\u200c"

# Letters of the scripts the spec names. Turkish dotless ı is left out on
# purpose: its upper case is the plain I, so no case-insensitive key can
# map both back to ı.
LATIN = "abcdefghijklmnopqrstuvwxyzàáâäçèéêëìíîïñòóôöùúûüýÿßøåæœ"
GREEK = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋΐΰς"
PERSIAN = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیئ"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"

words = st.sampled_from([LATIN, GREEK, PERSIAN, CYRILLIC]).flatmap(
    lambda alphabet: st.text(alphabet=alphabet, min_size=1, max_size=12)
)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


# ------------------------------------------------------------ properties


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_ignores_lower_and_case_folding_of_any_text(text):
    assert fold(text.lower()) == fold(text)
    assert fold(text.casefold()) == fold(text)


@given(words)
def test_fold_ignores_case_of_latin_greek_persian_and_cyrillic_words(word):
    assert fold(word.upper()) == fold(word)
    assert fold(word.swapcase()) == fold(word)
    assert fold(word.title()) == fold(word)


@given(st.text())
def test_fold_is_the_same_for_composed_and_decomposed_text(text):
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)
    assert fold(unicodedata.normalize("NFKC", text)) == fold(text)


@given(st.text(), st.text())
def test_fold_ignores_a_zero_width_non_joiner_anywhere(before, after):
    assert fold(before + ZWNJ + after) == fold(before + after)


@given(st.text())
def test_fold_output_has_single_spaces_and_no_edges(text):
    folded = fold(text)
    assert folded == folded.strip()
    assert "  " not in folded
    assert all(ch == " " or not ch.isspace() for ch in folded)


@given(words)
def test_fold_ignores_accents_typed_or_not(word):
    assert fold(strip_accents(word)) == fold(word)


@given(st.text())
def test_tokens_are_folded_non_empty_words_without_spaces(text):
    for token in tokens(text):
        assert token
        assert fold(token) == token
        assert " " not in token


# ------------------------------------------------------------ examples


@pytest.mark.parametrize(
    ("arabic", "persian"),
    [
        ("علي", "علی"),  # ARABIC YEH / FARSI YEH
        ("كريم", "کریم"),  # ARABIC KAF / KEHEH
        ("فاطمة", "فاطمه"),  # TEH MARBUTA / HEH
        ("موسى", "موسی"),  # ALEF MAKSURA / FARSI YEH
        ("ﻋﻠﻲ", "علی"),  # presentation forms (as some old PDFs store them)
        ("محـــمد", "محمد"),  # TATWEEL stretching
    ],
)
def test_arabic_and_persian_spellings_fold_to_the_same_key(arabic, persian):
    assert fold(arabic) == fold(persian)


def test_persian_variants_are_unified_letter_by_letter():
    assert fold("\u064a") == fold("\u06cc") == "\u06cc"
    assert fold("\u0643") == fold("\u06a9") == "\u06a9"
    assert fold("\u0629") == fold("\u0647") == "\u0647"


def test_persian_words_match_with_or_without_zero_width_non_joiner():
    assert fold("می\u200cخواهم") == fold("میخواهم")
    assert fold("علی\u200cرضا") == "علیرضا"


@pytest.mark.parametrize(
    ("accented", "plain"),
    [
        ("Γιώργος", "γιωργος"),
        ("ΆΝΝΑ", "αννα"),
        ("Ελένη Παπαδοπούλου", "ελενη παπαδοπουλου"),
        ("José Müller", "jose muller"),
    ],
)
def test_accents_and_case_do_not_matter(accented, plain):
    assert fold(accented) == fold(plain)


def test_greek_final_sigma_matches_the_medial_one():
    assert fold("Γιώργος") == fold("ΓΙΩΡΓΟΣ") == "γιωργοσ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ﬁsh", "fish"),  # ligature
        ("Ｍａｒｉａ", "maria"),  # full-width letters
        ("①", "1"),
        ("Straße", "strasse"),
    ],
)
def test_compatibility_forms_are_normalised(text, expected):
    assert fold(text) == expected


def test_whitespace_is_collapsed_and_trimmed():
    assert fold("  Maria \t\n  Lopez\u00a0 ") == "maria lopez"


@pytest.mark.parametrize("empty", [None, "", "   ", "\u200c"])
def test_fold_of_nothing_is_the_empty_string(empty):
    assert fold(empty) == ""


def test_tokens_split_on_punctuation_and_fold_each_word():
    assert tokens("Maria.Lopez@Example.COM, (Acme) ΓΙΏΡΓΟΣ") == [
        "maria",
        "lopez",
        "example",
        "com",
        "acme",
        "γιωργοσ",
    ]


def test_tokens_keep_persian_words_whole_and_drop_operators():
    assert tokens('"علي\u200cرضا" AND * OR') == ["علیرضا", "and", "or"]


@pytest.mark.parametrize("nothing", [None, "", "  ", '"*() -', "\u0301"])
def test_tokens_of_punctuation_or_nothing_are_empty(nothing):
    assert tokens(nothing) == []


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_the_ascii_shortcut_folds_exactly_as_the_full_path(text):
    from minicrm.text import _fold_unicode

    assert fold(text) == (_fold_unicode.__wrapped__(text) if text else "")
