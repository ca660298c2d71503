"""Likely duplicates of a contact about to be added (`crm add` warns and asks).

The same email or phone, or a very similar name and company (rapidfuzz on
folded text). `crm dedupe` (services/dedupe/contacts.py) finds groups across the whole
database; this looks for one new contact's twins, fast enough to run on
every add.
"""

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from minicrm.models import Contact, ContactRead
from minicrm.services.records.contacts import AMBIGUOUS_LIST_LIMIT, read_contacts
from minicrm.text import fold


def find_likely_duplicates(session: Session, values: dict[str, Any]) -> list[ContactRead]:
    """Live contacts with the same email or phone, or a very similar name and
    company (rapidfuzz on folded text)."""
    alive = Contact.deleted_at.is_(None)
    found: dict[int, Contact] = {}
    contact_points = []
    if values.get("email"):
        contact_points.append(func.lower(Contact.email) == func.lower(values["email"]))
    if values.get("phone"):
        contact_points.append(Contact.phone == values["phone"])
    if contact_points:  # indexed, and never crowded out by name candidates
        for row in session.execute(select(Contact).where(alive, or_(*contact_points))).scalars():
            found[row.id] = row
    for row in _similar_names(session, values):
        found.setdefault(row.id, row)
    return read_contacts(session, list(found.values())[:AMBIGUOUS_LIST_LIMIT])


def _similar_names(session: Session, values: dict[str, Any]) -> list[Contact]:
    """Live contacts whose folded name and company are nearly the same, in any
    word order, with family names that agree (name_match.py). Candidates
    start with the first letters of one of the words (indexed range scans),
    so the fuzzy comparison sees few rows."""
    from rapidfuzz import fuzz

    from minicrm.services.contacts.name_match import surnames_agree

    name = fold(values.get("name"))
    words = [w for w in name.split(" ") if w]
    if not words:
        return []
    ranges = [
        and_(Contact.name_folded >= w[:3], Contact.name_folded < w[:3] + "\uffff") for w in words
    ]
    word_starts = [Contact.name_folded.contains(" " + w[:3], autoescape=True) for w in words]
    candidates = session.execute(
        select(Contact).where(Contact.deleted_at.is_(None), or_(*ranges, *word_starts)).limit(5000)
    ).scalars()
    company = fold(values.get("company"))
    return [
        row
        for row in candidates
        if fuzz.token_sort_ratio(name, row.name_folded) >= 90
        and fuzz.ratio(company, fold(row.company)) >= 85
        and surnames_agree(name, row.name_folded)  # امیر رحیمی is not امیر کریمی
    ]
