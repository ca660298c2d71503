"""Duplicates: find groups of live contacts that are likely one person
(merging.py merges a group into one contact).

Finding scales to 100,000 contacts without comparing every pair:

- same email and same phone come from SQL (GROUP BY … HAVING count(*) > 1);
  phones kept as typed (not E.164) are also compared by their digits;
- similar names are compared between *distinct* folded names only, within
  blocks of names that share the first three letters of a word, and only
  where the lengths allow the threshold (rapidfuzz in C does the scoring).
  A pair of names that differ in the first three letters of every word is
  therefore never proposed; that is the price of not comparing all pairs.
  The few pairs left must then have family names that agree as well
  (contacts/name_match.py): "امیر رحیمی" and "امیر کریمی" are two people.

Groups are connected components (union-find): A~B and B~C make one group.
"""

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    Contact,
    ContactRead,
)
from minicrm.services.records.contacts import read_contacts
from minicrm.text import fold

SAME_EMAIL = "same email"
SAME_PHONE = "same phone"
SIMILAR_NAME = "similar name and company"
REASON_ORDER = (SAME_EMAIL, SAME_PHONE, SIMILAR_NAME)
COMPANY_THRESHOLD = 85  # token_set_ratio: "Davis & Sons" ~ "Davis and Sons"
MIN_PHONE_DIGITS = 7  # shorter digit strings are extensions or junk, not a person
BLOCK_PREFIX = 3
IDS_PER_QUERY = 900  # stays under every database's bound-parameter limit
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_NON_DIGITS = re.compile(r"\D")


@dataclass
class DuplicateGroup:
    contacts: list[ContactRead]
    reasons: list[str]
    similarity: int  # the weakest link's score; 100 for exact matches

    def to_json(self) -> dict[str, Any]:
        return {
            "contacts": [c.to_json() for c in self.contacts],
            "reasons": list(self.reasons),
            "similarity": self.similarity,
        }


class Components:
    """Union-find over row ids (contacts, companies), remembering why each
    link was made; reasons are reported in `reason_order`."""

    def __init__(self, reason_order=None) -> None:
        self.parent: dict[int, int] = {}
        self.links: list[tuple[int, str, int]] = []  # (a row, reason, score)
        self.reason_order = tuple(reason_order or REASON_ORDER)

    def find(self, item: int) -> int:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grandparent = self.parent[parent]
            self.parent[item] = grandparent  # path halving keeps the trees flat
            item, parent = parent, self.parent[grandparent]
        return item

    def link(self, a: int, b: int, reason: str, score: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)
        self.links.append((a, reason, score))

    def link_all(self, ids: list[int], reason: str) -> None:
        for other in ids[1:]:
            self.link(ids[0], other, reason, 100)

    def groups(self) -> list[tuple[list[int], list[str], int]]:
        members: dict[int, list[int]] = {}
        for item in self.parent:
            members.setdefault(self.find(item), []).append(item)
        reasons: dict[int, set[str]] = {}
        weakest: dict[int, int] = {}
        for item, reason, score in self.links:
            root = self.find(item)
            reasons.setdefault(root, set()).add(reason)
            weakest[root] = min(score, weakest.get(root, 100))
        return [
            (sorted(ids), [r for r in self.reason_order if r in reasons[root]], weakest[root])
            for root, ids in sorted(members.items())
            if len(ids) > 1
        ]


def find_duplicate_groups(session: Session, *, threshold: int = 90) -> list[DuplicateGroup]:
    """Groups of live contacts that are likely the same person, oldest
    (lowest id) first; each with its reasons and its weakest similarity."""
    return list(iter_duplicate_groups(session, threshold=threshold))


def iter_duplicate_groups(session: Session, *, threshold: int = 90) -> Iterator[DuplicateGroup]:
    """find_duplicate_groups, streamed: members are read a batch of groups at
    a time, so a database full of namesakes never holds them all at once."""
    if not 1 <= threshold <= 100:  # checked now, not when the first group is asked for
        raise UserError(f"--threshold must be between 1 and 100, not {threshold}")
    return _groups(session, threshold)


def _groups(session: Session, threshold: int) -> Iterator[DuplicateGroup]:
    components = Components()
    _link_shared(session, components, func.lower(Contact.email), SAME_EMAIL)
    _link_shared(session, components, Contact.phone, SAME_PHONE)
    typed_phones = _link_names_and_collect_phones(session, components, threshold)
    _link_typed_phones(session, components, typed_phones)
    batch, size = [], 0
    for group in components.groups():
        batch.append(group)
        size += len(group[0])
        if size >= IDS_PER_QUERY:
            yield from _read_groups(session, batch)
            batch, size = [], 0
    yield from _read_groups(session, batch)


def _alive():
    return Contact.deleted_at.is_(None)


def _link_shared(session: Session, components: Components, key, reason: str) -> None:
    """Link live contacts whose `key` (an SQL expression) is equal and set."""
    shared = (
        select(key.label("key"))
        .where(_alive(), key.is_not(None), key != "")
        .group_by(key)
        .having(func.count() > 1)
        .subquery()
    )
    rows = session.execute(
        select(Contact.id, shared.c.key).join(shared, shared.c.key == key).where(_alive())
    )
    by_key: dict[str, list[int]] = {}
    for contact_id, value in rows:
        by_key.setdefault(value, []).append(contact_id)
    for ids in by_key.values():
        components.link_all(sorted(ids), reason)


def _link_typed_phones(
    session: Session, components: Components, typed: dict[str, list[int]]
) -> None:
    """Phones kept as typed whose digits equal another typed one's, or an
    E.164 number's (+ and the same digits)."""
    for ids in typed.values():
        components.link_all(ids, SAME_PHONE)
    keys = list(typed)
    for start in range(0, len(keys), IDS_PER_QUERY):
        wanted = ["+" + digits for digits in keys[start : start + IDS_PER_QUERY]]
        for contact_id, phone in session.execute(
            select(Contact.id, Contact.phone).where(_alive(), Contact.phone.in_(wanted))
        ):
            components.link(typed[phone[1:]][0], contact_id, SAME_PHONE, 100)


def _phone_digits(phone: str | None) -> str | None:
    """The digits of a phone kept as typed (international 00 read as +);
    None for E.164 numbers, which SQL already compares exactly."""
    if not phone or _E164.match(phone):
        return None
    digits = _NON_DIGITS.sub("", phone)
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def _link_names_and_collect_phones(
    session: Session, components: Components, threshold: int
) -> dict[str, list[int]]:
    """One pass over live contacts: link similar names at similar companies,
    and return the typed phones by their digits for _link_typed_phones."""
    # (sorted name words, folded company) -> ids. token_sort_ratio is the ratio
    # of the sorted words, so sorting once here lets plain ratio do the rest.
    by_key: dict[tuple[str, str], list[int]] = {}
    typed_phones: dict[str, list[int]] = {}
    sorted_names: dict[str, str] = {}
    folded_companies: dict[str | None, str] = {}
    rows = session.execute(
        select(Contact.id, Contact.name_folded, Contact.company, Contact.phone)
        .where(_alive())
        .order_by(Contact.id)
        .execution_options(yield_per=5000)
    )
    for contact_id, name_folded, company, phone in rows:
        name = sorted_names.get(name_folded)
        if name is None:
            name = sorted_names[name_folded] = " ".join(sorted(name_folded.split()))
        company_key = folded_companies.get(company)
        if company_key is None:
            company_key = folded_companies[company] = fold(company)
        by_key.setdefault((name, company_key), []).append(contact_id)
        digits = _phone_digits(phone)
        if digits:
            typed_phones.setdefault(digits, []).append(contact_id)
    if not by_key:
        return typed_phones

    companies_of: dict[str, dict[str, int]] = {}  # name -> company -> first id
    for (name, company), ids in by_key.items():
        components.link_all(ids, SIMILAR_NAME)  # same words at the same company
        companies_of.setdefault(name, {})[company] = ids[0]

    for companies in companies_of.values():
        _link_companies(components, companies, companies, 100)
    pairs = _similar_name_pairs(list(companies_of), threshold)
    for name_a, name_b, score in _with_agreeing_surnames(pairs, sorted_names):
        _link_companies(components, companies_of[name_a], companies_of[name_b], score)
    return typed_phones


def _with_agreeing_surnames(
    pairs: list[tuple[str, str, int]], sorted_names: dict[str, str]
) -> Iterator[tuple[str, str, int]]:
    """The pairs whose family names agree too (contacts/name_match.py), in
    some spelling of each: a key of sorted words stands for every order of
    them, and the family is read from the order the contact was typed in."""
    from minicrm.services.contacts.name_match import surnames_agree

    wanted = {name for a, b, _ in pairs for name in (a, b)}
    typed_as: dict[str, list[str]] = {}
    for folded, key in sorted_names.items():
        if key in wanted:
            typed_as.setdefault(key, []).append(folded)
    for name_a, name_b, score in pairs:
        if any(surnames_agree(a, b) for a in typed_as[name_a] for b in typed_as[name_b]):
            yield name_a, name_b, score


def _link_companies(
    components: Components, left: dict[str, int], right: dict[str, int], score: int
) -> None:
    """Link contacts of two names (or of one name) whose companies are
    similar; both empty counts as similar, one empty does not. The link's
    score is the lower of the name's and the company's."""
    from rapidfuzz import fuzz, process

    same_name = left is right
    if same_name and len(left) < 2:
        return
    if not same_name and "" in left and "" in right:
        components.link(left[""], right[""], SIMILAR_NAME, score)
    choices = [c for c in right if c]
    if not choices:
        return
    for company, contact_id in left.items():
        if not company:
            continue
        for other, company_score, _ in process.extract(
            company, choices, scorer=fuzz.token_set_ratio,
            score_cutoff=COMPANY_THRESHOLD, limit=None,
        ):  # fmt: skip
            if not (same_name and other == company):
                link_score = min(score, round(company_score))
                components.link(contact_id, right[other], SIMILAR_NAME, link_score)


def _similar_name_pairs(names: list[str], threshold: int) -> list[tuple[str, str, int]]:
    """Pairs of distinct names with ratio >= threshold, compared only within
    blocks sharing a word's first letters and a compatible length."""
    from rapidfuzz import fuzz, process

    blocks: dict[str, list[str]] = {}
    for name in names:
        for prefix in {word[:BLOCK_PREFIX] for word in name.split(" ") if word}:
            blocks.setdefault(prefix, []).append(name)
    # ratio = 200·matches / (len a + len b) <= 200·len a / (len a + len b), so
    # a name longer than len a · (200 - threshold) / threshold never reaches it.
    pairs: dict[tuple[str, str], int] = {}
    for block in blocks.values():
        if len(block) < 2:
            continue
        block.sort(key=len)
        lengths = [len(name) for name in block]
        for position, name in enumerate(block):
            end = bisect_right(lengths, lengths[position] * (200 - threshold) // threshold)
            if end <= position + 1:
                continue
            for other, score, _ in process.extract(
                name, block[position + 1 : end], scorer=fuzz.ratio,
                score_cutoff=threshold, limit=None,
            ):  # fmt: skip
                pairs[(name, other) if name < other else (other, name)] = round(score)
    return [(a, b, score) for (a, b), score in pairs.items()]


def _read_groups(session: Session, groups: list) -> Iterator[DuplicateGroup]:
    """Read models for a batch of groups. Plain rows (not ORM objects) are
    all read_contacts needs, at a third of the cost for tens of thousands."""
    table = Contact.__table__
    ids = [i for members, _, _ in groups for i in members]
    contacts: dict[int, ContactRead] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):  # one group may be huge
        batch = ids[start : start + IDS_PER_QUERY]
        rows = session.execute(select(table).where(table.c.id.in_(batch))).all()
        contacts.update((c.id, c) for c in read_contacts(session, rows))
    for members, reasons, similarity in groups:
        yield DuplicateGroup([contacts[i] for i in members], reasons, similarity)
