"""Duplicates: find groups of live contacts that are likely one person, and
merge a group into one contact.

Finding scales to 100,000 contacts without comparing every pair:

- same email and same phone come from SQL (GROUP BY … HAVING count(*) > 1);
  phones kept as typed (not E.164) are also compared by their digits;
- similar names are compared between *distinct* folded names only, within
  blocks of names that share the first three letters of a word, and only
  where the lengths allow the threshold (rapidfuzz in C does the scoring).
  A pair of names that differ in the first three letters of every word is
  therefore never proposed; that is the price of not comparing all pairs.

Groups are connected components (union-find): A~B and B~C make one group.
"""

import importlib.util
import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from minicrm.errors import NotFoundError, UserError
from minicrm.models import (
    Cadence,
    Contact,
    ContactRead,
    ContactTag,
    Deal,
    FollowUp,
    Interaction,
    StageChange,
)
from minicrm.services.contacts import read_contacts, resolve_ref, search_text_of
from minicrm.services.deals.records import mirror_current_deal
from minicrm.settings import current_user
from minicrm.text import fold, search_text

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
    for name_a, name_b, score in _similar_name_pairs(list(companies_of), threshold):
        _link_companies(components, companies_of[name_a], companies_of[name_b], score)
    return typed_phones


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


# ------------------------------------------------------------------- merge

# Fields a merge may fill on KEEP. Not stage, value, lost_reason or score:
# those are KEEP's copy of its current deal (SPEC §1a), refreshed after the
# others' deals have moved to KEEP.
FILLABLE = (
    "email", "phone", "company", "title", "city", "region", "country", "industry", "source",
    "owner", "notes",
)  # fmt: skip


@dataclass
class MergeResult:
    contact: ContactRead  # KEEP, after the merge
    merged: list[ContactRead]  # the others, as they were before they went
    moved: dict[str, int] = field(default_factory=dict)  # rows per kind, to KEEP
    filled: list[str] = field(default_factory=list)  # KEEP's empty fields now set

    def to_json(self) -> dict[str, Any]:
        return {
            "contact": self.contact.to_json(),
            "merged": [c.to_json() for c in self.merged],
            "moved": dict(self.moved),
            "filled": list(self.filled),
        }


def merge_contacts(
    session: Session, keep_ref: str | int, other_refs: list, *, now: datetime | None = None
) -> MergeResult:
    """Merge OTHERs into KEEP and delete them for good.

    KEEP takes their deals, interactions, follow-ups, stage history, tags (union),
    a cadence if it has none, and every field it has empty (first non-empty
    value in the order given; extra keys it lacks). Each merge is written in
    KEEP's timeline as a note by the current user. The caller's transaction
    makes it all or nothing.

    Stage history moves row for row, unchanged: nothing the other record went
    through is lost, and the funnel's reached/won/lost stay true of the
    person. The price: where both records were in the funnel at once their
    moves interleave (days-in-stage can be off, and KEEP's timeline shows a
    second "created in …"). Their deals become KEEP's (they would otherwise
    go with them), so KEEP's stage, value and score are then those of its
    current deal: its newest open one, else its most recent."""
    now = now or datetime.now(UTC)
    keep = _mergeable(session, keep_ref)
    others: dict[int, Contact] = {}
    for ref in other_refs:
        other = _mergeable(session, ref)
        if other.id == keep.id:
            raise UserError(f"#{keep.id} {keep.name} is the contact to keep; leave it out of OTHER")
        others.setdefault(other.id, other)
    if not others:
        raise UserError("name at least one contact to merge into KEEP")
    before = read_contacts(session, list(others.values()))
    other_ids = list(others)
    moved = _move_rows(session, keep.id, other_ids)
    filled = _fill_fields(keep, list(others.values()))
    for other in before:
        _note_merge(session, keep.id, other, now)
    session.execute(delete(Contact).where(Contact.id.in_(other_ids)))
    keep.search_text = search_text_of(keep)
    keep.updated_at = now
    keep.version += 1
    session.flush()
    mirror_current_deal(session, keep)
    session.flush()
    _refresh_score(session, keep.id, now)
    session.flush()  # the score refresh sets KEEP's copy of its deal's score
    session.refresh(keep)
    return MergeResult(read_contacts(session, [keep])[0], before, moved, filled)


def _mergeable(session: Session, ref: str | int) -> Contact:
    """The live contact REF names; a trashed one is refused with a way out."""
    try:
        return resolve_ref(session, ref)
    except NotFoundError as missing:
        try:
            trashed = resolve_ref(session, ref, deleted=True)
        except UserError:
            raise missing from None
        raise UserError(
            f"#{trashed.id} {trashed.name} is in the trash; "
            f"`crm restore {trashed.id}` first to merge it"
        ) from None


def _move_rows(session: Session, keep_id: int, other_ids: list[int]) -> dict[str, int]:
    """Re-point the others' rows at KEEP. Deals first: deal.contact_id
    cascades, so a deal left behind would take its stage history with it."""
    moved = {}
    for name, table in (
        ("deals", Deal), ("interactions", Interaction), ("followups", FollowUp),
        ("stage_changes", StageChange),
    ):  # fmt: skip
        result = session.execute(
            update(table)
            .where(table.contact_id.in_(other_ids))
            .values(contact_id=keep_id)
            .execution_options(synchronize_session=False)
        )
        moved[name] = result.rowcount
    has_tag = select(ContactTag.tag_id).where(ContactTag.contact_id == keep_id)
    new_tags = (
        select(ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(other_ids), ContactTag.tag_id.not_in(has_tag))
        .distinct()
    )
    tag_ids = session.execute(new_tags).scalars().all()
    for tag_id in tag_ids:
        session.add(ContactTag(contact_id=keep_id, tag_id=tag_id))
    moved["tags"] = len(tag_ids)
    moved["cadence"] = 0
    if session.execute(select(Cadence.id).where(Cadence.contact_id == keep_id)).first() is None:
        # contact_id is unique: KEEP takes the first OTHER's cadence (in the
        # order given); the rest are deleted with their contacts.
        theirs = session.execute(select(Cadence).where(Cadence.contact_id.in_(other_ids)))
        by_contact = {c.contact_id: c for c in theirs.scalars()}
        first = next((by_contact[i] for i in other_ids if i in by_contact), None)
        if first is not None:
            first.contact_id, moved["cadence"] = keep_id, 1
    session.flush()
    return moved


def _fill_fields(keep: Contact, others: list[Contact]) -> list[str]:
    filled = []
    for name in FILLABLE:
        if getattr(keep, name) not in (None, ""):
            continue
        value = next((getattr(o, name) for o in others if getattr(o, name) not in (None, "")), None)
        if value is not None:
            setattr(keep, name, value)
            filled.append(name)
            if name == "company":  # the company link goes with its mirrored name
                keep.company_id = next(o.company_id for o in others if o.company == value)
    extra = json.loads(keep.extra) if keep.extra else {}
    for other in others:
        for key, value in (json.loads(other.extra) if other.extra else {}).items():
            if key not in extra:
                extra[key] = value
                filled.append(f"extra.{key}")
    keep.extra = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return filled


def _note_merge(session: Session, keep_id: int, other: ContactRead, now: datetime) -> None:
    """A note is how KEEP's timeline shows events for now; like any note it
    also counts as an interaction (scores, cadence clock)."""
    reach = other.email or other.phone
    summary = f"Merged #{other.id} {other.name}{f' ({reach})' if reach else ''} into this contact"
    session.add(
        Interaction(
            contact_id=keep_id, kind="note", at=now, summary=summary,
            search_text=search_text(summary), owner=current_user(), created_at=now,
        )
    )  # fmt: skip


def _refresh_score(session: Session, contact_id: int, now: datetime) -> None:
    # Scoring is optional: a build without it still merges.
    if importlib.util.find_spec("minicrm.services.scoring") is None:
        return
    from minicrm.services.scoring import refresh_score

    refresh_score(session, contact_id, now=now)
