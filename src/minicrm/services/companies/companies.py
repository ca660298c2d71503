"""Companies a user manages: add, find by REF, list, edit, trash, restore.

A company's name is unique among live companies when folded. Its people
(contacts with company_id) carry a copy of its name in contact.company, so a
rename rewrites that copy, and their search text, in one UPDATE.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import Company, CompanyRead, CompanyTag, Contact
from minicrm.services.companies.reading import read_company, resolve_company
from minicrm.services.records import config
from minicrm.services.records.validation import (
    clean_text,
    normalize_email,
    normalize_phone,
    normalize_tag,
)
from minicrm.text import fold

TEXT_FIELDS = ("industry", "city", "region", "country", "owner", "notes")
EDITABLE_FIELDS = ("name", "domain", "email", "phone", *TEXT_FIELDS)
SORTS = ("name", "created", "updated", "revenue")
AMBIGUOUS_LIST_LIMIT = 10
IDS_PER_QUERY = 900
_DOMAIN = re.compile(r"^[^\s/@]+\.[^\s/@]+$")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


@dataclass
class CompanyInput:
    """What a user may give for a new company; every value is raw text."""

    name: str
    domain: str | None = None
    email: str | None = None
    phone: str | None = None
    industry: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    owner: str | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class CompanyChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # field -> raw value ('' clears)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    set_extra: dict[str, str] = field(default_factory=dict)  # '' value removes the key
    keep_impossible_phone: bool = False  # --force: a phone that cannot exist, kept as typed

    def is_empty(self) -> bool:
        return not (self.fields or self.add_tags or self.remove_tags or self.set_extra)


def normalize_domain(value: Any) -> str | None:
    """'https://www.Lopez.es/shop' -> 'lopez.es'."""
    text = clean_text(value)
    if text is None:
        return None
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text.lower()).split("/")[0]
    domain = domain.removeprefix("www.")
    if not _DOMAIN.match(domain):
        raise ValidationError(f"invalid domain {text!r}: give one like lopez.es", field="domain")
    return domain


def clean_company_fields(
    session: Session, raw: dict[str, Any], *, keep_impossible_phone: bool = True
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in raw:
        name = clean_text(raw["name"])
        if not name:
            raise ValidationError("a company needs a name", field="name")
        values["name"] = name
    if "domain" in raw:
        values["domain"] = normalize_domain(raw["domain"])
    if "email" in raw:
        values["email"] = normalize_email(raw["email"])
    if "phone" in raw:
        values["phone"] = normalize_phone(
            raw["phone"],
            config.get_setting(session, "default_region"),
            keep_impossible=keep_impossible_phone,
        )
    for name in TEXT_FIELDS:
        if name in raw:
            values[name] = clean_text(raw[name])
    return values


def _check_unique_name(session: Session, name: str, *, except_id: int | None = None) -> None:
    query = select(Company.id, Company.name).where(
        Company.name_folded == fold(name), Company.deleted_at.is_(None)
    )
    if except_id is not None:
        query = query.where(Company.id != except_id)
    clash = session.execute(query.limit(1)).first()
    if clash is not None:
        raise UserError(f"a company called {name!r} exists already: #{clash.id} {clash.name}")


def _dump_extra(extra: dict[str, Any]) -> str | None:
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def add_company(
    session: Session, data: CompanyInput, *, force: bool = False, now: datetime | None = None
) -> CompanyRead:
    """A new company; `force` keeps a phone number that cannot exist as typed."""
    now = _now(now)
    raw = {k: v for k, v in data.__dict__.items() if k not in ("tags", "extra")}
    values = clean_company_fields(session, raw, keep_impossible_phone=force)
    tags = [normalize_tag(t) for t in data.tags]
    _check_unique_name(session, values["name"])
    company = Company(
        **values,
        name_folded=fold(values["name"]),
        extra=_dump_extra(data.extra),
        created_at=now,
        updated_at=now,
    )
    session.add(company)
    session.flush()
    _set_tags(session, company.id, add=tags)
    return read_company(session, company)


# -------------------------------------------------------------------- edit


def update_company(
    session: Session, ref: str | int, changes: CompanyChanges, *, now: datetime | None = None
) -> CompanyRead:
    """Apply `changes`. A new name must stay unique, and its people's copy
    of the name (and their search text) follow it."""
    now = _now(now)
    company = resolve_company(session, ref)
    unknown = set(changes.fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise UserError(
            f"cannot edit {', '.join(sorted(unknown))}; fields: {', '.join(EDITABLE_FIELDS)}"
        )
    values = clean_company_fields(
        session, changes.fields, keep_impossible_phone=changes.keep_impossible_phone
    )
    renamed = "name" in values and values["name"] != company.name
    if renamed:
        _check_unique_name(session, values["name"], except_id=company.id)
    for name, value in values.items():
        setattr(company, name, value)
    company.name_folded = fold(company.name)
    if changes.set_extra:
        extra = json.loads(company.extra) if company.extra else {}
        for key, value in changes.set_extra.items():
            if value == "":
                extra.pop(key, None)
            else:
                extra[key] = value
        company.extra = _dump_extra(extra)
    _set_tags(
        session,
        company.id,
        add=[normalize_tag(t) for t in changes.add_tags],
        remove=[normalize_tag(t) for t in changes.remove_tags],
    )
    company.updated_at = now
    company.version += 1
    session.flush()
    if renamed:
        rename_people(session, company.id, company.name)
    return read_company(session, company)


def rename_people(
    session: Session, company_id: int, name: str, *, from_ids: list[int] | None = None
) -> int:
    """Set contact.company = name for every contact linked to the company (in
    the trash too), with the search text that goes with it: one UPDATE
    statement, its rows' search texts computed as contacts compute them.
    With `from_ids`, the people of those companies are linked to company_id
    first, in the same statement (what a company merge does)."""
    from minicrm.services.contacts.editing import search_text_of

    people = session.execute(
        select(Contact.id, Contact.name, Contact.email, Contact.phone, Contact.notes).where(
            Contact.company_id.in_(from_ids or [company_id])
        )
    ).all()
    if not people:
        return 0
    params = [
        {
            "row_id": p.id,
            "new_company": name,
            "new_search": search_text_of(
                Contact(name=p.name, email=p.email, phone=p.phone, company=name, notes=p.notes)
            ),
        }
        for p in people
    ]
    table = Contact.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            company_id=company_id,
            company=bindparam("new_company"),
            search_text=bindparam("new_search"),
            version=table.c.version + 1,
        ),
        params,
    )
    session.expire_all()
    return len(params)


def _set_tags(session: Session, company_id: int, add=(), remove=()) -> None:
    from minicrm.services.contacts.editing import link_tags

    link_tags(session, CompanyTag, "company_id", company_id, add=add, remove=remove)


# ------------------------------------------------------------------- trash


def trash_company(session: Session, ref: str | int, *, now: datetime | None = None) -> CompanyRead:
    """To the trash. Its people keep their company text and company_id, its
    deals their company_id, so a restore puts everything back as it was."""
    company = resolve_company(session, ref)
    company.deleted_at = company.updated_at = _now(now)
    company.version += 1
    session.flush()
    return read_company(session, company)


def restore_company(
    session: Session, ref: str | int, *, now: datetime | None = None
) -> CompanyRead:
    company = resolve_company(session, ref, deleted=True)
    _check_unique_name(session, company.name, except_id=company.id)
    company.deleted_at = None
    company.updated_at = _now(now)
    company.version += 1
    session.flush()
    return read_company(session, company)
