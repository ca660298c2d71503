"""Contacts: create, find by REF, list, edit, tag, trash, restore, purge."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from minicrm.errors import (
    AmbiguousRefError,
    ConflictError,
    DuplicateError,
    NotFoundError,
    UserError,
    ValidationError,
)
from minicrm.models import (
    LOST,
    Contact,
    ContactRead,
    ContactTag,
    Deal,
    FollowUp,
    Tag,
)
from minicrm.services import config
from minicrm.services.companies.records import company_for_name
from minicrm.services.deals.records import (
    mirror_current_deal,
    open_deal,
    open_deal_counts,
    restore_deals_of,
    trash_deals_of,
)
from minicrm.services.deals.shortcut import edit_current_deal, follow_on_open_deals
from minicrm.services.validation import (
    clean_text,
    money_to_cents,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_tag,
)
from minicrm.text import fold, search_text

# Plain text fields a user may set directly.
TEXT_FIELDS = (
    "company", "title", "city", "region", "country", "industry", "source", "owner", "notes",
    "lost_reason",
)  # fmt: skip
EDITABLE_FIELDS = ("name", "email", "phone", *TEXT_FIELDS, "stage", "value")
SORTS = ("score", "name", "created", "updated", "next")
AMBIGUOUS_LIST_LIMIT = 10


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# ------------------------------------------------------------------ create


@dataclass
class ContactInput:
    """What a user may give for a new contact; every value is raw text."""

    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    industry: str | None = None
    source: str | None = None
    stage: str | None = None
    value: Any = None
    owner: str | None = None
    notes: str | None = None
    lost_reason: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    no_deal: bool = False  # a person only: no first deal is opened


# What a contact's first deal carries (the one-deal shortcut of SPEC §1a).
DEAL_FIELDS = ("stage", "value_cents", "lost_reason")


def add_contact(
    session: Session, data: ContactInput, *, force: bool = False, now: datetime | None = None
) -> ContactRead:
    """Create a contact and record its creation stage in the funnel history.

    Unless `data.no_deal`, the contact's first deal is opened with its stage,
    value and lost reason. Raises DuplicateError listing likely duplicates
    unless `force`."""
    now = _now(now)
    raw = dict(data.__dict__)
    if data.no_deal:
        given = [name for name in ("stage", "value", "lost_reason") if clean_text(raw.get(name))]
        if given:
            raise UserError(f"--no-deal adds a person only; drop --{given[0].replace('_', '-')}")
        raw["stage"] = None
    values = clean_contact_fields(session, raw, creating=not data.no_deal)
    values.setdefault("name", normalize_name(raw.get("name")))
    tags = [normalize_tag(t) for t in data.tags]
    if not force:
        from minicrm.services.likely_duplicates import find_likely_duplicates

        duplicates = find_likely_duplicates(session, values)
        if duplicates:
            listing = "; ".join(f"#{c.id} {c.name}" for c in duplicates)
            raise DuplicateError(
                f"likely duplicate of {listing} (use --force to add anyway)", duplicates
            )
    deal_values = {name: values.pop(name, None) for name in DEAL_FIELDS}
    company = company_for_name(session, values.get("company"), now=now)
    contact = Contact(
        **values,
        company_id=company.id if company else None,
        extra=dump_extra(data.extra),
        created_at=now,
        updated_at=now,
    )
    if company is not None:
        contact.company = company.name
    contact.name_folded = fold(contact.name)
    contact.search_text = search_text_of(contact)
    session.add(contact)
    session.flush()
    if not data.no_deal:
        open_deal(
            session,
            title=contact.name,
            contact_id=contact.id,
            company_id=contact.company_id,
            owner=contact.owner,
            source=contact.source,
            now=now,
            **deal_values,
        )
        mirror_current_deal(session, contact)
    _set_tags(session, contact.id, add=tags)
    session.flush()
    from minicrm.services.scoring import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def clean_contact_fields(
    session: Session, raw: dict[str, Any], *, creating: bool
) -> dict[str, Any]:
    """Validate and normalise the fields present in `raw` (the same rules for
    add, edit and import). Returns column values; `value` becomes value_cents."""
    values: dict[str, Any] = {}
    if creating or "name" in raw:
        values["name"] = normalize_name(raw.get("name"))
    if "email" in raw:
        values["email"] = normalize_email(raw["email"])
    if "phone" in raw:
        values["phone"] = normalize_phone(
            raw["phone"], config.get_setting(session, "default_region")
        )
    for name in TEXT_FIELDS:
        if name in raw:
            values[name] = clean_text(raw[name])
    if "value" in raw:
        values["value_cents"] = money_to_cents(raw["value"])
    if creating or raw.get("stage") is not None:
        stage = raw.get("stage")
        values["stage"] = (
            config.normalize_stage(session, stage) if stage else config.first_stage(session)
        )
    if values.get("stage") == LOST and not (values.get("lost_reason") or raw.get("_had_reason")):
        raise ValidationError("a lost contact needs a reason (--lost-reason)", field="lost_reason")
    return values


def search_text_of(contact: Contact) -> str:
    """The folded text full-text search sees for a contact."""
    return search_text(contact.name, contact.email, contact.phone, contact.company, contact.notes)


# -------------------------------------------------------------------- read


def read_contact(session: Session, contact: Contact) -> ContactRead:
    return read_contacts(session, [contact])[0]


def read_contacts(session: Session, contacts: list[Contact]) -> list[ContactRead]:
    """Read models for a batch of rows, with their tags and open-deal counts
    in one query each."""
    ids = [c.id for c in contacts]
    tags = tags_of(session, ids)
    open_deals = open_deal_counts(session, ids)
    return [_to_read(c, tags.get(c.id, []), open_deals.get(c.id, 0)) for c in contacts]


def _to_read(contact: Contact, tags: list[str], open_deals: int) -> ContactRead:
    data = {
        name: getattr(contact, name)
        for name in ContactRead.model_fields
        if name not in ("tags", "extra", "open_deals")
    }
    return ContactRead(
        **data,
        tags=tags,
        extra=json.loads(contact.extra) if contact.extra else {},
        open_deals=open_deals,
    )


def tags_of(session: Session, contact_ids: list[int]) -> dict[int, list[str]]:
    if not contact_ids:
        return {}
    rows = session.execute(
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(Tag.name)
    )
    result: dict[int, list[str]] = {}
    for contact_id, name in rows:
        result.setdefault(contact_id, []).append(name)
    return result


def get_contact(session: Session, ref: str | int, *, deleted: bool = False) -> ContactRead:
    return read_contact(session, resolve_ref(session, ref, deleted=deleted))


def resolve_ref(
    session: Session, ref: str | int, *, deleted: bool = False, for_update: bool = False
) -> Contact:
    """The one contact REF names: an id, an exact email, or a name fragment.

    `deleted` looks in the trash instead of among live contacts. `for_update`
    locks the row until the transaction ends (PostgreSQL; SQLite writers are
    already serialised by BEGIN IMMEDIATE), so two people editing the same
    contact at once queue instead of overwriting each other."""
    contact = _resolve(session, ref, deleted=deleted)
    if for_update and session.get_bind().dialect.name != "sqlite":
        session.refresh(contact, with_for_update=True)
    return contact


def _resolve(session: Session, ref: str | int, *, deleted: bool) -> Contact:
    text = str(ref).strip()
    if not text:
        raise UserError("no contact given: use an id, an email or part of a name")
    alive = Contact.deleted_at.is_not(None) if deleted else Contact.deleted_at.is_(None)
    where = "in the trash" if deleted else "among live contacts"
    if text.isascii() and text.isdigit() and len(text) <= 18:
        contact = session.execute(select(Contact).where(Contact.id == int(text), alive)).scalar()
        if contact is None:
            raise NotFoundError(f"no contact #{text} {where}; see `crm list`")
        return contact
    if "@" in text:
        matches = (
            session.execute(
                select(Contact)
                .where(func.lower(Contact.email) == func.lower(text), alive)
                .limit(20)
            )
            .scalars()
            .all()
        )
        if matches:
            return _exactly_one(session, text, matches)
    fragment = fold(text)
    exact = (
        session.execute(select(Contact).where(Contact.name_folded == fragment, alive).limit(20))
        .scalars()
        .all()
    )
    if len(exact) == 1:
        return exact[0]
    matches = (
        session.execute(
            select(Contact)
            .where(Contact.name_folded.contains(fragment, autoescape=True), alive)
            .order_by(Contact.name_folded)
            .limit(AMBIGUOUS_LIST_LIMIT + 1)
        )
        .scalars()
        .all()
    )
    if not matches:
        raise NotFoundError(f"no contact matches {text!r} {where}; try `crm search {text}`")
    return _exactly_one(session, text, matches)


def _exactly_one(session: Session, ref: str, matches: list[Contact]) -> Contact:
    if len(matches) == 1:
        return matches[0]
    shown = matches[:AMBIGUOUS_LIST_LIMIT]
    listing = ", ".join(f"#{c.id} {c.name}" for c in shown)
    more = " and more" if len(matches) > len(shown) else ""
    raise AmbiguousRefError(
        f"{ref!r} matches several contacts: {listing}{more}; use the id",
        read_contacts(session, shown),
    )


@dataclass
class ContactFilter:
    stage: str | None = None
    tag: str | None = None
    owner: str | None = None
    source: str | None = None
    search: str | None = None


def list_contacts(
    session: Session,
    filters: ContactFilter | None = None,
    *,
    sort: str = "name",
    limit: int | None = None,
    deleted: bool = False,
) -> Iterator[ContactRead]:
    """Live (or trashed) contacts matching `filters`, streamed in batches so a
    100,000-contact export never holds every row at once."""
    # Built (and so validated) now; rows are only fetched as they are consumed.
    query = _filtered_query(session, filters or ContactFilter(), deleted=deleted)
    query = _sorted(query, sort)
    if limit is not None:
        if limit < 0:
            raise UserError("--limit must be 0 or more")
        query = query.limit(limit)
    return _stream(session, query)


def _stream(session: Session, query) -> Iterator[ContactRead]:
    result = session.execute(query.execution_options(yield_per=500)).scalars()
    for batch in result.partitions():
        yield from read_contacts(session, list(batch))


def count_contacts(session: Session, filters: ContactFilter | None = None) -> int:
    query = _filtered_query(session, filters or ContactFilter(), deleted=False)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _filtered_query(session: Session, filters: ContactFilter, *, deleted: bool):
    query = select(Contact).where(
        Contact.deleted_at.is_not(None) if deleted else Contact.deleted_at.is_(None)
    )
    if filters.stage:
        # Contacts with a live deal in that stage (for an open stage: an open
        # deal there), whichever of their deals is the current one.
        stage = config.normalize_stage(session, filters.stage)
        query = query.where(
            select(Deal.id)
            .where(Deal.contact_id == Contact.id, Deal.stage == stage, Deal.deleted_at.is_(None))
            .exists()
        )
    if filters.owner:
        query = query.where(func.lower(Contact.owner) == func.lower(filters.owner.strip()))
    if filters.source:
        query = query.where(func.lower(Contact.source) == func.lower(filters.source.strip()))
    if filters.tag:
        tag = normalize_tag(filters.tag)
        query = query.where(
            Contact.id.in_(
                select(ContactTag.contact_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(Tag.name == tag)
            )
        )
    if filters.search:
        from minicrm.services.search import matching_contact_ids

        query = query.where(Contact.id.in_(matching_contact_ids(session, filters.search)))
    return query


def _sorted(query, sort: str):
    if sort == "score":
        return query.order_by(Contact.score.desc().nulls_last(), Contact.name_folded, Contact.id)
    if sort == "name":
        return query.order_by(Contact.name_folded, Contact.id)
    if sort == "created":
        return query.order_by(Contact.created_at.desc(), Contact.id.desc())
    if sort == "updated":
        return query.order_by(Contact.updated_at.desc(), Contact.id.desc())
    if sort == "next":
        next_due = (
            select(FollowUp.contact_id, func.min(FollowUp.due_at).label("due"))
            .where(FollowUp.done_at.is_(None))
            .group_by(FollowUp.contact_id)
            .subquery()
        )
        return query.outerjoin(next_due, next_due.c.contact_id == Contact.id).order_by(
            next_due.c.due.is_(None), next_due.c.due, Contact.name_folded
        )
    raise UserError(f"unknown sort {sort!r}; choose one of: {', '.join(SORTS)}")


# -------------------------------------------------------------------- edit


@dataclass
class ContactChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # field -> raw value ('' clears)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    set_extra: dict[str, str] = field(default_factory=dict)  # '' value removes the key
    stage_reason: str | None = None

    def is_empty(self) -> bool:
        return not (self.fields or self.add_tags or self.remove_tags or self.set_extra)


def update_contact(
    session: Session,
    ref: str | int,
    changes: ContactChanges,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ContactRead:
    """Apply `changes`; a stage change is recorded in the funnel history.

    With `expected_version`, an edit based on stale data is refused."""
    now = _now(now)
    contact = resolve_ref(session, ref, for_update=True)
    if expected_version is not None and contact.version != expected_version:
        raise ConflictError(
            f"#{contact.id} {contact.name} was changed by someone else meanwhile; "
            "reload it and edit again"
        )
    unknown = set(changes.fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise UserError(
            f"cannot edit {', '.join(sorted(unknown))}; fields: {', '.join(EDITABLE_FIELDS)}"
        )
    raw = dict(changes.fields)
    if "stage" in raw and not raw["stage"]:
        raise ValidationError("stage cannot be empty", field="stage")
    raw["_had_reason"] = contact.lost_reason or changes.stage_reason
    values = clean_contact_fields(session, raw, creating=False)
    deal_values = {name: values.pop(name) for name in DEAL_FIELDS if name in values}
    follow_on_open_deals(session, contact, values)
    for name, value in values.items():
        setattr(contact, name, value)
    if "company" in values:
        company = company_for_name(session, contact.company, now=now)
        contact.company_id = company.id if company else None
        contact.company = company.name if company else None
    if deal_values:
        edit_current_deal(session, contact, deal_values, changes.stage_reason, now)
    if changes.set_extra:
        extra = json.loads(contact.extra) if contact.extra else {}
        for key, value in changes.set_extra.items():
            if value == "":
                extra.pop(key, None)
            else:
                extra[key] = value
        contact.extra = dump_extra(extra)
    _set_tags(
        session,
        contact.id,
        add=[normalize_tag(t) for t in changes.add_tags],
        remove=[normalize_tag(t) for t in changes.remove_tags],
    )
    contact.name_folded = fold(contact.name)
    contact.search_text = search_text_of(contact)
    contact.updated_at = now
    contact.version += 1
    session.flush()
    from minicrm.services.scoring import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def _set_tags(
    session: Session, contact_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    link_tags(session, ContactTag, "contact_id", contact_id, add=add, remove=remove)


def link_tags(
    session: Session,
    link_model,
    key: str,
    owner_id: int,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> None:
    """Add and remove (normalised) tag names on a contact or a company;
    `link_model` is its link table (ContactTag, CompanyTag), `key` its id column."""
    owner_column = getattr(link_model, key)
    for name in dict.fromkeys(add):
        tag_id = session.execute(select(Tag.id).where(Tag.name == name)).scalar()
        if tag_id is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
            tag_id = tag.id
        exists = session.execute(
            select(owner_column).where(owner_column == owner_id, link_model.tag_id == tag_id)
        ).first()
        if exists is None:
            session.add(link_model(**{key: owner_id, "tag_id": tag_id}))
    remove = list(remove)
    if remove:
        session.execute(
            delete(link_model).where(
                owner_column == owner_id,
                link_model.tag_id.in_(select(Tag.id).where(Tag.name.in_(remove))),
            )
        )
    session.flush()


def dump_extra(extra: dict[str, Any]) -> str | None:
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


# ------------------------------------------------------------------- trash


def trash_contact(session: Session, ref: str | int, *, now: datetime | None = None) -> ContactRead:
    contact = resolve_ref(session, ref, for_update=True)
    contact.deleted_at = contact.updated_at = _now(now)
    contact.version += 1
    trash_deals_of(session, contact.id, contact.deleted_at)
    session.flush()
    return read_contact(session, contact)


def restore_contact(
    session: Session, ref: str | int, *, now: datetime | None = None
) -> ContactRead:
    contact = resolve_ref(session, ref, deleted=True, for_update=True)
    restore_deals_of(session, contact.id, contact.deleted_at)
    contact.deleted_at = None
    contact.updated_at = _now(now)
    contact.version += 1
    session.flush()
    return read_contact(session, contact)


def purge_contact(session: Session, ref: str | int) -> ContactRead:
    """Delete for good, with its interactions, follow-ups and history.

    REF is looked up among live contacts first, then in the trash."""
    try:
        contact = resolve_ref(session, ref)
    except NotFoundError:
        contact = resolve_ref(session, ref, deleted=True)
    gone = read_contact(session, contact)
    session.execute(delete(Contact).where(Contact.id == contact.id))
    session.flush()
    return gone


def list_trash(session: Session) -> list[ContactRead]:
    return list(list_contacts(session, sort="updated", deleted=True))
