"""Whether two names that look alike can be one person's: their family
names must agree too.

A whole-name ratio forgives a changed letter or two anywhere, so "امیر
رحیمی" and "امیر کریمی" (Amir Rahimi and Amir Karimi: one given name, two
families) score 90. For names of two words or more, each name's family name
(its last word; nameparser's last name when a comma, a period or a suffix
is in the way) must also be at most one typo away from a word of the other
name: one letter added, dropped or changed, or two neighbours swapped
(optimal string alignment distance <= 1). So "Rodriguez"/"Rodrigues" and
"Rawlings"/"Rawilngs" agree, رحیمی/کریمی (two letters changed) do not. "A
word of the other name", not "the other's family name", because the
finders ignore word order ("Lopez Maria" ~ "Maria Lopez").

Why one typo and not a ratio: on the Febrl data sets
(benchmarks/dedupe_accuracy.py) a surname ratio of 90 dropped a tenth of the
true pairs (a typo in a surname of five to eight letters scores 80-89) and
removed no more wrong ones than this rule, which costs about one true pair
in a hundred. Used by `crm dedupe` (services/dedupe/contacts.py) and the
likely-duplicate check of `crm add` (likely_duplicates.py), after their
rapidfuzz blocking, on the few candidate pairs left.
"""

from functools import lru_cache

SURNAME_TYPOS = 1
_EDGE_PUNCTUATION = ".,;:()\"'"


def surnames_agree(name: str, other: str) -> bool:
    """True unless both folded names have several words and either one's
    family name is more than one typo from every word of the other.
    Single-word names are left to the whole-name score."""
    words, other_words = _words(name), _words(other)
    if len(words) < 2 or len(other_words) < 2:
        return True
    return _near_one_of(family_word(name), other_words) and _near_one_of(family_word(other), words)


def family_word(name: str) -> str:
    """The word of a folded name that carries the family: its last word,
    unless a comma, a period or a suffix at the end asks nameparser, which
    knows "lopez, maria", "john smith jr" and "dr. ann lee" (at ~0.4 ms a
    name, too slow for every name of a big dedupe)."""
    words = name.split()
    if words and "," not in name and "." not in name and not _is_suffix(words[-1]):
        return words[-1].strip(_EDGE_PUNCTUATION)
    family = _parsed_last(" ".join(words)).split()
    return family[-1].strip(_EDGE_PUNCTUATION) if family else ""


def _near_one_of(word: str, words: list[str]) -> bool:
    from rapidfuzz.distance import OSA

    if not word:
        return True  # nameparser found no family name: nothing to hold against the pair
    return any(OSA.distance(word, w, score_cutoff=SURNAME_TYPOS) <= SURNAME_TYPOS for w in words)


def _words(name: str) -> list[str]:
    stripped = (w.strip(_EDGE_PUNCTUATION) for w in name.split())
    return [w for w in stripped if w]


@lru_cache(maxsize=50_000)
def _parsed_last(name: str) -> str:
    from nameparser import HumanName

    return HumanName(name).last


def _is_suffix(word: str) -> bool:
    from nameparser.config import CONSTANTS

    return word in CONSTANTS.suffix_acronyms or word in CONSTANTS.suffix_not_acronyms
