"""A contact's name in parts (family, given, middle, prefix, suffix), for
the N property of the vCards we write.

minicrm keeps one name as the person wrote it. Its parts come from the
file it was imported from when that file had them and they say something
the name alone would not (a Korean family name first, "van der" belonging
to the family name, a Spanish double surname), kept as extra.name_family,
name_given…, or from `crm add/edit --given … --family …` (always kept,
services/contacts/editing.py); else from nameparser, which knows
"Mustermann, Heiko" and "Dr. John Q. Public, III". Parts a file gave that
nameparser would guess the same are not stored: the export is the same,
and an Outlook or Google file does not put them on every contact.
nameparser costs ~0.2 ms a name, so the common "Given Family" pair is
split here and every other name is parsed once (remembered).
"""

from dataclasses import dataclass
from functools import lru_cache

from minicrm.services.contacts.editing import NAME_PART_KEYS as PART_KEYS


@dataclass(frozen=True)
class NameParts:
    family: str = ""
    given: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""

    def as_tuple(self) -> tuple[str, str, str, str, str]:
        return (self.family, self.given, self.middle, self.prefix, self.suffix)


def parts_of(name: str) -> NameParts:
    words = name.split()
    if len(words) == 2 and not any(ch in name for ch in ",.") and not _special(*words):
        return NameParts(family=words[1], given=words[0])
    return _parsed(" ".join(words))


def parts_for_export(name: str, extra: dict) -> NameParts:
    """The parts the import kept, while the name still holds them (a renamed
    contact's old parts no longer apply), else the name's parts."""
    kept = [str(extra.get(key) or "") for key in PART_KEYS]
    if any(kept) and all(part in name for part in kept if part):
        return NameParts(*kept)
    return parts_of(name)


def kept_parts(name: str, source: NameParts) -> dict[str, str]:
    """extra entries keeping the file's own parts of `name`, when they differ
    from what parts_of(name) would say (so most contacts get none)."""
    if not (source.family or source.given) or parts_of(name) == source:
        return {}
    return {key: part for key, part in zip(PART_KEYS, source.as_tuple(), strict=True) if part}


@lru_cache(maxsize=50_000)
def _parsed(name: str) -> NameParts:
    from nameparser import HumanName

    human = HumanName(name)
    return NameParts(human.last, human.first, human.middle, human.title, human.suffix)


def _special(*words: str) -> bool:
    """Whether a word is a title (Dr), a suffix (Jr) or a family-name
    particle (van, de), which only nameparser places right."""
    constants = _constants()
    return any(
        word.casefold() in constants.titles
        or word.casefold() in constants.suffix_acronyms
        or word.casefold() in constants.suffix_not_acronyms
        or word.casefold() in constants.prefixes
        for word in words
    )


@lru_cache(maxsize=1)
def _constants():
    from nameparser.config import CONSTANTS

    return CONSTANTS
