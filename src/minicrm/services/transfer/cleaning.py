"""The per-row validation of an import, made cheap enough for 100,000 rows.

The rules are exactly those of `crm add` (services/records/validation.py and
text.py); only the work is shared. At 100k rows, email-validator spent most
of its time re-checking the same few thousand domains, phonenumbers the same
numbers, and text.fold Unicode-normalising plain ASCII names. So:

- an email whose part before the @ is a plain dot-atom (the form
  email-validator accepts as is) reuses its domain's verdict; anything
  else, and every error, goes through normalize_email itself;
- phones and tags are normalised once per distinct value (a big file's
  phones one chunk ahead, in a second process: phones_ahead.py);
- ASCII text is folded by lowercasing and collapsing whitespace, which is
  what fold() does to ASCII (NFKC, NFD and the Arabic table leave it alone).

tests/services/test_import_csv.py checks each shortcut against the full
function on generated input.
"""

import re
from typing import Any

from minicrm.errors import ValidationError
from minicrm.services.records.validation import (
    clean_text,
    normalize_email,
    normalize_phone,
    normalize_tag,
)
from minicrm.text import fold

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_EMAIL = re.compile(rf"^({_ATEXT}(?:\.{_ATEXT})*)@([A-Za-z0-9.-]+)$")
_PLAIN_EMAIL_MAX = 200  # longer ones take the full path (email-validator checks 254)
_WORDS = re.compile(r"[^\w]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Cleaner:
    """Caches of one import's normalised emails (by domain), phones and tags."""

    def __init__(self, default_region: str | None):
        self.region = default_region
        self._domains: dict[str, str | None] = {}
        self._phones: dict[str, Any] = {}
        self._tags: dict[str, Any] = {}

    def email(self, value: Any) -> str | None:
        text = clean_text(value)
        if text is None:
            return None
        match = _PLAIN_EMAIL.match(text) if len(text) <= _PLAIN_EMAIL_MAX else None
        if match:
            domain = match.group(2)
            if domain not in self._domains:
                self._domains[domain] = _normalized_domain(domain)
            normalized = self._domains[domain]
            if normalized is not None:
                return f"{match.group(1)}@{normalized}"
        return normalize_email(text)  # the exact result, or the exact error

    def phone(self, value: Any) -> str | None:
        text = clean_text(value)
        if text is None:
            return None
        found = self._phones.get(text)
        if isinstance(found, str):
            return found
        return _cached(self._phones, text, lambda: normalize_phone(text, self.region))

    def knows_phone(self, text: str) -> bool:
        return text in self._phones

    def learn_phones(self, texts: list[str], answers: list[Any]) -> None:
        """Take normalize_phone's answers for `texts` (phones_ahead.py's
        worker), a refusal given as ("error", message, field)."""
        for text, answer in zip(texts, answers, strict=True):
            if isinstance(answer, tuple):
                answer = ValidationError(answer[1], field=answer[2])
            self._phones.setdefault(text, answer)

    def tag(self, value: Any) -> str:
        key = str(value)
        return _cached(self._tags, key, lambda: normalize_tag(key))


def _normalized_domain(domain: str) -> str | None:
    """The domain as email-validator writes it, or None when it refuses it
    (the caller then gets the full error from normalize_email)."""
    try:
        return normalize_email(f"a@{domain}").rpartition("@")[2]
    except ValidationError:
        return None


def _cached(cache: dict[str, Any], key: str, compute) -> Any:
    found = cache.get(key)
    if found is None:
        try:
            found = compute()
        except ValidationError as exc:
            found = exc
        cache[key] = found
    if isinstance(found, ValidationError):
        raise ValidationError(found.message, field=found.field)
    return found


class Folder:
    """fold() and search_text() for many rows: ASCII by the shortcut, other
    text remembered (companies, cities and notes repeat from row to row)."""

    def __init__(self, limit: int = 50_000):
        self._folded: dict[str, str] = {}
        self._limit = limit

    def fold(self, text: str | None) -> str:
        if not text:
            return ""
        if text.isascii():
            return " ".join(text.lower().split())
        found = self._folded.get(text)
        if found is None:
            found = fold(text)
            if len(self._folded) < self._limit:
                self._folded[text] = found
        return found

    def folded_row(self, row: dict) -> tuple[str, str]:
        """name_folded and search_text of a contact row, as services.contacts.editing
        computes them (fold(name), search_text_of(contact))."""
        name_folded = self.fold(row["name"])
        parts = (row["email"], row["phone"], row["company"], row["notes"])
        return name_folded, self.search_text(name_folded, *parts)

    def search_text(self, name_folded: str, *others: str | None) -> str:
        """text.search_text(name, *others), given fold(name). Folding the parts
        one by one gives the same words as folding them joined by spaces: no
        fold step reaches across a space."""
        words = _words(name_folded)
        for part in others:
            if part:
                # fold() of ASCII only lowercases and collapses spaces, which
                # the split into words does anyway.
                more = _words(part.lower() if part.isascii() else self.fold(part))
                if more:
                    words = f"{words} {more}" if words else more
        return words


def _words(text: str) -> str:
    """The words of `text` joined by single spaces: what joining the
    non-empty pieces of _WORDS.split(text) gives (no space is a word character)."""
    return _WORDS.sub(" ", text).strip()


def email_key(email: str, dialect: str) -> str:
    """An email as the database's lower() sees it: SQLite lowercases ASCII
    only, PostgreSQL every letter."""
    if email.isascii() or dialect != "sqlite":
        return email.lower()
    return email.translate(_ASCII_LOWER)
