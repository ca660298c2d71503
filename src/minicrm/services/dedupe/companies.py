"""Company duplicates: find groups of live companies that are one, and merge
a group into its oldest company.

Two companies are linked when they have the same domain (case-insensitive;
from SQL, GROUP BY … HAVING count(*) > 1), or when their name keys are
similar: the folded name without punctuation and without trailing legal
forms ("Lopez Bakery S.L." and "lopez bakery" are both "lopez bakery"),
scored with rapidfuzz's token_sort_ratio. As for contacts, names are
compared within blocks sharing a word's first three letters. Groups chain
(A~B and B~C make one group); the oldest (lowest id) comes first.
"""

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Company, CompanyRead, CompanyTag, Deal
from minicrm.services.companies.companies import rename_people
from minicrm.services.companies.reading import read_companies, read_company, resolve_company
from minicrm.services.dedupe.contacts import Components
from minicrm.text import fold

SAME_DOMAIN = "same domain"
SIMILAR_NAME = "similar name"
REASON_ORDER = (SAME_DOMAIN, SIMILAR_NAME)
BLOCK_PREFIX = 3
IDS_PER_QUERY = 900
# Legal forms dropped from the end of a name, written without dots.
LEGAL_SUFFIXES = frozenset((
    "sl", "slu", "sll", "sa", "sau", "sas", "sarl", "srl", "spa", "sca", "ltd", "limited", "llc",
    "llp", "lp", "inc", "incorporated", "corp", "corporation", "co", "company", "cia", "gmbh",
    "ag", "kg", "ohg", "ug", "bv", "nv", "plc", "pty", "oy", "ab", "as", "aps", "kk",
))  # fmt: skip
_DOTS = re.compile(r"\.")
_NON_WORD = re.compile(r"[\W_]+")
_LETTER_RUN = re.compile(r"\b(?:\w )+\w\b")  # "s l" (from "S. L.") -> "sl"


def name_key(name: str | None) -> str:
    """The key names are compared by: folded, punctuation gone, legal forms
    at the end dropped, words sorted. A name that is nothing but a legal form
    keeps it."""
    text = _NON_WORD.sub(" ", _DOTS.sub("", fold(name))).strip()
    text = _LETTER_RUN.sub(lambda m: m.group(0).replace(" ", ""), text)
    words = text.split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    if len(words) > 1 and words[-1] == "and":  # "Smith and Co" -> "smith"
        words.pop()
    return " ".join(sorted(words))


@dataclass
class CompanyDuplicateGroup:
    companies: list[CompanyRead]
    reasons: list[str]
    similarity: int  # the weakest link's score; 100 for exact matches

    def to_json(self) -> dict[str, Any]:
        return {
            "companies": [c.to_json() for c in self.companies],
            "reasons": list(self.reasons),
            "similarity": self.similarity,
        }


def _alive():
    return Company.deleted_at.is_(None)


def find_duplicate_companies(
    session: Session, *, threshold: int = 90
) -> list[CompanyDuplicateGroup]:
    """Groups of live companies that look like one, oldest first in each."""
    if not 1 <= threshold <= 100:
        raise UserError(f"--threshold must be between 1 and 100, not {threshold}")
    links = Components(REASON_ORDER)
    domain = func.lower(Company.domain)
    shared = (
        select(domain.label("key"))
        .where(_alive(), Company.domain.is_not(None), Company.domain != "")
        .group_by(domain)
        .having(func.count() > 1)
        .subquery()
    )
    by_domain: dict[str, list[int]] = {}
    for company_id, key in session.execute(
        select(Company.id, shared.c.key).join(shared, shared.c.key == domain).where(_alive())
    ):
        by_domain.setdefault(key, []).append(company_id)
    for ids in by_domain.values():
        ids.sort()
        for other in ids[1:]:
            links.link(ids[0], other, SAME_DOMAIN, 100)
    by_key: dict[str, list[int]] = {}
    for company_id, name in session.execute(
        select(Company.id, Company.name).where(_alive()).order_by(Company.id)
    ):
        key = name_key(name)
        if key:
            by_key.setdefault(key, []).append(company_id)
    for ids in by_key.values():
        for other in ids[1:]:
            links.link(ids[0], other, SIMILAR_NAME, 100)
    for a, b, score in _similar_pairs(list(by_key), threshold):
        links.link(by_key[a][0], by_key[b][0], SIMILAR_NAME, score)
    groups = links.groups()
    wanted = [i for ids, _, _ in groups for i in ids]
    rows: dict[int, Company] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        rows.update(
            (c.id, c)
            for c in session.execute(select(Company).where(Company.id.in_(chunk))).scalars()
        )
    reads = {c.id: c for c in read_companies(session, [rows[i] for i in wanted])}
    return [
        CompanyDuplicateGroup([reads[i] for i in ids], reasons, similarity)
        for ids, reasons, similarity in groups
    ]


def _similar_pairs(keys: list[str], threshold: int) -> list[tuple[str, str, int]]:
    """Pairs of distinct keys (words already sorted) with ratio >= threshold,
    compared within blocks sharing a word's first letters."""
    from rapidfuzz import fuzz, process

    blocks: dict[str, list[str]] = {}
    for key in keys:
        for prefix in {word[:BLOCK_PREFIX] for word in key.split(" ") if word}:
            blocks.setdefault(prefix, []).append(key)
    # ratio <= 200·len a / (len a + len b): longer keys than that never reach it.
    pairs: dict[tuple[str, str], int] = {}
    for block in blocks.values():
        if len(block) < 2:
            continue
        block.sort(key=len)
        lengths = [len(key) for key in block]
        for position, key in enumerate(block):
            end = bisect_right(lengths, lengths[position] * (200 - threshold) // threshold)
            for other, score, _ in process.extract(
                key, block[position + 1 : end], scorer=fuzz.ratio, score_cutoff=threshold,
                limit=None,
            ):  # fmt: skip
                pairs[(key, other) if key < other else (other, key)] = round(score)
    return [(a, b, score) for (a, b), score in pairs.items()]


# ------------------------------------------------------------------- merge

FILLABLE = ("domain", "email", "phone", "industry", "city", "region", "country", "owner", "notes")


@dataclass
class CompanyMergeResult:
    company: CompanyRead  # KEEP, after the merge
    merged: list[CompanyRead]  # the others, as they were before they went
    moved: dict[str, int] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "company": self.company.to_json(),
            "merged": [c.to_json() for c in self.merged],
            "moved": dict(self.moved),
            "filled": list(self.filled),
        }


def merge_companies(
    session: Session, keep_ref: str | int, other_refs: list, *, now: datetime | None = None
) -> CompanyMergeResult:
    """Merge OTHER companies into KEEP and delete them for good: their people
    (company_id and the mirrored company name) and deals move to KEEP, tags
    are united, KEEP's empty fields and missing extra keys are filled (first
    non-empty value in the order given). The caller's transaction makes it
    all or nothing."""
    now = now or datetime.now(UTC)
    keep = resolve_company(session, keep_ref)
    others: dict[int, Company] = {}
    for ref in other_refs:
        other = resolve_company(session, ref)
        if other.id == keep.id:
            raise UserError(f"#{keep.id} {keep.name} is the company to keep; leave it out of OTHER")
        others.setdefault(other.id, other)
    if not others:
        raise UserError("name at least one company to merge into KEEP")
    other_ids = list(others)
    before = read_companies(session, list(others.values()))
    moved = {"people": rename_people(session, keep.id, keep.name, from_ids=other_ids)}
    moved["deals"] = session.execute(
        update(Deal)
        .where(Deal.company_id.in_(other_ids))
        .values(company_id=keep.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    has_tag = select(CompanyTag.tag_id).where(CompanyTag.company_id == keep.id)
    tag_ids = (
        session.execute(
            select(CompanyTag.tag_id)
            .where(CompanyTag.company_id.in_(other_ids), CompanyTag.tag_id.not_in(has_tag))
            .distinct()
        )
        .scalars()
        .all()
    )
    for tag_id in tag_ids:
        session.add(CompanyTag(company_id=keep.id, tag_id=tag_id))
    moved["tags"] = len(tag_ids)
    keep = session.get(Company, keep.id)  # rename_people expired the session
    others_rows = [session.get(Company, i) for i in other_ids]
    filled = _fill_fields(keep, others_rows)
    session.execute(delete(Company).where(Company.id.in_(other_ids)))
    keep.updated_at = now
    keep.version += 1
    session.flush()
    return CompanyMergeResult(read_company(session, keep), before, moved, filled)


def _fill_fields(keep: Company, others: list[Company]) -> list[str]:
    filled = []
    for name in FILLABLE:
        if getattr(keep, name) not in (None, ""):
            continue
        value = next((getattr(o, name) for o in others if getattr(o, name) not in (None, "")), None)
        if value is not None:
            setattr(keep, name, value)
            filled.append(name)
    extra = json.loads(keep.extra) if keep.extra else {}
    for other in others:
        for key, value in (json.loads(other.extra) if other.extra else {}).items():
            if key not in extra:
                extra[key] = value
                filled.append(f"extra.{key}")
    keep.extra = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return filled
