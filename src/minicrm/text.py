"""Unicode folding shared by search, REF matching and dedupe.

A shop owner types on whatever keyboard is at hand: Persian or Arabic, with
or without Greek accents, in any case. Folding maps all of those spellings to
one key so the same customer is found either way.
"""

import re
import unicodedata
from functools import lru_cache

# Arabic code points and the Persian letters a Persian keyboard types instead.
_ARABIC_TO_PERSIAN = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي ARABIC YEH -> ی FARSI YEH
        "\u0649": "\u06cc",  # ى ALEF MAKSURA -> ی
        "\u0643": "\u06a9",  # ك ARABIC KAF -> ک KEHEH
        "\u0629": "\u0647",  # ة TEH MARBUTA -> ه HEH
        "\u06c0": "\u0647",  # ۀ HEH WITH YEH ABOVE -> ه
        "\u200c": None,  # ZERO WIDTH NON-JOINER: invisible, typed or not
        "\u200d": None,  # ZERO WIDTH JOINER
        "\u200e": None,  # LEFT-TO-RIGHT MARK
        "\u200f": None,  # RIGHT-TO-LEFT MARK
        "\u0640": None,  # TATWEEL (kashida), decorative stretching
        "\ufeff": None,  # BYTE ORDER MARK / zero width no-break space
    }
)

_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """The matching key of `text`: NFKC, case-folded, accents and Arabic
    variants unified, invisible joiners dropped, whitespace collapsed.

    fold(fold(x)) == fold(x) for every string (a property test checks it)."""
    if not text:
        return ""
    if text.isascii():
        # ASCII has no compatibility forms, accents or Arabic letters, and
        # casefold is lower: the full path would return exactly this.
        return _SPACES.sub(" ", text.lower()).strip()
    return _fold_unicode(text)


# Names and companies repeat (an import, the demo, a dedupe pass): the full
# Unicode path costs ~35 µs a string, a cache hit well under one.
@lru_cache(maxsize=1 << 16)
def _fold_unicode(text: str) -> str:
    result = _fold_once(text)
    # Recomposing can expose new compatibility forms or case pairs; a couple of
    # passes settle every string Unicode has.
    for _ in range(4):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result


def _fold_once(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_ARABIC_TO_PERSIAN)
    # Drop combining marks (Greek tonos, Latin accents, Arabic harakat): people
    # rarely type them when searching, and they never change who is meant.
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", stripped)).strip()


def search_text(*parts: str | None) -> str:
    """What full-text search sees for a row: folded words joined by single
    spaces, so a LIKE fallback can match word starts as FTS5 does."""
    return " ".join(tokens(" ".join(p for p in parts if p)))


def tokens(text: str | None) -> list[str]:
    """Folded words of `text`, for building full-text queries."""
    return [t for t in re.split(r"[^\w]+", fold(text)) if t]
