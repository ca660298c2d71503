"""Contacts: create, edit, tag (the services that write a contact)."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from minicrm.errors import (
    ConflictError,
    DuplicateError,
    UserError,
    ValidationError,
)
from minicrm.models import (
    LOST,
    Contact,
    ContactRead,
    ContactTag,
    Tag,
)
from minicrm.services.contacts.deal_shortcut import edit_current_deal, follow_on_open_deals
from minicrm.services.records import config
from minicrm.services.records.companies import company_for_name
from minicrm.services.records.contacts import read_contact, resolve_ref
from minicrm.services.records.deals import mirror_current_deal, open_deal
from minicrm.services.records.validation import (
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
# The extra keys of a name's parts, as typed or as an imported file gave them:
# what the vCard export writes in N instead of nameparser's guess.
NAME_PART_KEYS = ("name_family", "name_given", "name_middle", "name_prefix", "name_suffix")


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
    given: str | None = None  # the name's parts as typed (typed_name_parts)
    family: str | None = None


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
    values = clean_contact_fields(
        session, raw, creating=not data.no_deal, keep_impossible_phone=force
    )
    values.setdefault("name", normalize_name(raw.get("name")))
    parts = typed_name_parts(values["name"], data.given, data.family)
    extra = {**data.extra, **{key: part for key, part in parts.items() if part}}
    tags = [normalize_tag(t) for t in data.tags]
    if not force:
        from minicrm.services.contacts.likely_duplicates import find_likely_duplicates

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
        extra=dump_extra(extra),
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
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def clean_contact_fields(
    session: Session, raw: dict[str, Any], *, creating: bool, keep_impossible_phone: bool = True
) -> dict[str, Any]:
    """Validate and normalise the fields present in `raw` (the same rules for
    add, edit and import). Returns column values; `value` becomes value_cents.
    An import keeps a phone number that cannot exist as typed (a row is not
    refused over it); add and edit refuse one unless forced."""
    values: dict[str, Any] = {}
    if creating or "name" in raw:
        values["name"] = normalize_name(raw.get("name"))
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


# -------------------------------------------------------------------- edit


@dataclass
class ContactChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # field -> raw value ('' clears)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    set_extra: dict[str, str] = field(default_factory=dict)  # '' value removes the key
    stage_reason: str | None = None
    keep_impossible_phone: bool = False  # --force: a phone that cannot exist, kept as typed
    given: str | None = None  # the name's parts as typed; '' for both forgets them
    family: str | None = None

    def is_empty(self) -> bool:
        typed = self.given is not None or self.family is not None
        return not (self.fields or self.add_tags or self.remove_tags or self.set_extra or typed)


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
    values = clean_contact_fields(
        session, raw, creating=False, keep_impossible_phone=changes.keep_impossible_phone
    )
    parts = typed_name_parts(values.get("name", contact.name), changes.given, changes.family)
    set_extra = {**changes.set_extra, **parts}
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
    if set_extra:
        extra = json.loads(contact.extra) if contact.extra else {}
        for key, value in set_extra.items():
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
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def typed_name_parts(name: str, given: str | None, family: str | None) -> dict[str, str]:
    """The extra entries of a given/family pair typed with add or edit, every
    other part '' (removed, as with --set): the pair replaces whatever parts
    an import kept, and the vCard export writes it in N as typed
    (Rodríguez Moreno;María, not nameparser's Moreno;María;Rodríguez). {}
    when neither was typed; '' for both leaves the parts to nameparser."""
    if given is None and family is None:
        return {}
    if given is None or family is None:
        raise ValidationError("give --given and --family together", field="name")
    parts = {"name_given": given.strip(), "name_family": family.strip()}
    for option, key in (("--given", "name_given"), ("--family", "name_family")):
        if parts[key] and parts[key] not in name:  # the export would not use it
            raise ValidationError(f"{option} {parts[key]!r} is not part of the name {name!r}",
                                  field="name")  # fmt: skip
    return {key: parts.get(key, "") for key in NAME_PART_KEYS}


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
