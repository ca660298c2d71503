"""Which CSV column is which contact field.

The headers of the common address-book exports (Google Contacts old and
2024, Outlook in English, German, French, Spanish and Dutch, Thunderbird,
LinkedIn, HubSpot) and a plain `name,email,phone` sheet are known aliases,
matched ignoring case, spaces and underscores; `--map COLUMN=field` names
the column of a field outright (and then that field takes its columns from
--map only). The localised Outlook headers are those Outlook writes, as
Roundcube's csv2vcard maps list them (program/localization/*/csv2vcard.inc).
"""

import re

from minicrm.errors import UserError
from minicrm.services.transfer.localised_headers import NUMBERED_EMAILS, localised_aliases

TEXT_FIELDS = (
    "name", "email", "phone", "company", "title", "city", "region", "country", "industry",
    "source", "stage", "value", "owner", "notes", "lost_reason",
)  # fmt: skip
# created_at: when the contact was made; stage_changed_at: when it entered its
# current stage; closed_at: when a won or lost contact was closed.
DATE_FIELDS = ("created_at", "stage_changed_at", "closed_at")
MAPPABLE = (*TEXT_FIELDS, "tags", *DATE_FIELDS, "extra.KEY", "ignore")


def header_key(header: str) -> str:
    return " ".join(header.replace("_", " ").casefold().split())


def _aliases(field_name: str, *names: str) -> dict[str, str]:
    return {header_key(name): field_name for name in names}


# Roles beyond plain fields: parts of a name, several emails/phones, tags.
GIVEN, MIDDLE, FAMILY, EMAILS, PHONES, JSON_EXTRA, BIRTHDAY = (
    "_given", "_middle", "_family", "_emails", "_phones", "_json_extra", "_birthday",
)  # fmt: skip
# Our own export's `id` (a vCard's UID:contact-N@minicrm): matched before anything
# else (duplicates.py). Also the key of that id in a SourceRow's fields.
OWN_ID = "_own_id"
ENGLISH_HEADERS: dict[str, str] = {
    **_aliases("name", "name", "full name", "display name", "contact name", "fn"),
    **_aliases(GIVEN, "given name", "first name", "firstname"),
    **_aliases(MIDDLE, "additional name", "middle name"),
    **_aliases(FAMILY, "family name", "last name", "lastname", "surname"),
    **_aliases(
        EMAILS,
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "primary email",
        "secondary email",
        "email home",
        "email work",
        "email other",
        "home email",
        "work email",
        "other email",
        "mail",
    ),
    **_aliases(
        PHONES,
        "phone",
        "telephone",
        "tel",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile number",
        "mobile phone number",
        "cell",
        "cell phone",
        "work phone",
        "home phone",
        "home phone 2",
        "business phone",
        "business phone 2",
        "home mobile",
        "primary phone",
        "other phone",
        "company main phone",
        "car phone",
        "assistant's phone",
        "phone video",
        "callback",
        "radio phone",
        "isdn",
        "telex",
        "tty/tdd phone",
        "pager",
        "pager number",
        "fax",
        "fax number",
        "home fax",
        "business fax",
        "other fax",
    ),
    **_aliases(
        "company",
        "company",
        "company name",
        "organization",
        "organisation",
        "org",
        "organization 1 - name",
        "organization name",  # Google Contacts since 2024
        "employer",
    ),
    **_aliases(
        "title",
        "title",
        "job title",
        "jobtitle",
        "organization 1 - title",
        "organization title",
        "role",
        "position",
    ),
    **_aliases(
        "city",
        "city",
        "town",
        "home city",
        "work city",
        "business city",
        "other city",
        "address 1 - city",
        "address 2 - city",
    ),
    **_aliases(
        "region",
        "region",
        "state",
        "state/region",
        "province",
        "home state",
        "work state",
        "business state",
        "other state",
        "address 1 - region",
        "address 2 - region",
    ),
    **_aliases(
        "country",
        "country",
        "country/region",
        "home country",
        "work country",
        "business country",
        "home country/region",
        "business country/region",
        "other country/region",
        "other country",
        "address 1 - country",
        "address 2 - country",
    ),
    **_aliases("notes", "notes", "note", "comments"),
    **_aliases("tags", "tags", "tag", "categories", "labels", "group membership"),
    **_aliases("industry", "industry"),
    **_aliases("source", "source", "lead source", "original source"),
    **_aliases("stage", "stage", "deal stage"),
    **_aliases("value", "value", "deal value", "expected value"),
    **_aliases("owner", "owner", "contact owner", "hubspot owner", "salesperson", "sales rep"),
    **_aliases("lost_reason", "lost reason", "closed lost reason"),
    **_aliases("created_at", "created at", "created", "create date", "created date"),
    **_aliases("stage_changed_at", "stage changed at", "stage changed"),
    **_aliases("closed_at", "closed at", "date closed"),
    **_aliases("extra.nickname", "nickname"),
    **_aliases(BIRTHDAY, "birthday", "date of birth", "birth date", "birthdate", "dob"),
    **_aliases("extra.website", "website", "web page", "web page 1", "website 1 - value", "url"),
    **_aliases(
        "extra.department",
        "department",
        "organization department",  # Google Contacts since 2024
        "organization 1 - department",
    ),
    **_aliases("extra.connected_on", "connected on"),  # LinkedIn's Connections.csv
    **_aliases(JSON_EXTRA, "extra"),
    **_aliases(OWN_ID, "id"),
    # Our own CSV export's bookkeeping columns: known, deliberately not imported.
    **_aliases("ignore", "score", "updated at", "company id", "open deals"),
}
_LOCALISED = localised_aliases()
KNOWN_HEADERS = {**_LOCALISED, **ENGLISH_HEADERS}  # English wins where a word is both
_NUMBERED = (
    (re.compile(r"^e-?mail \d+ - value$"), EMAILS),
    (re.compile(r"^e-?mail \d+ address$"), EMAILS),
    (re.compile(r"^phone \d+ - value$"), PHONES),
    *((re.compile(pattern), EMAILS) for pattern in NUMBERED_EMAILS),
)
# "Title" is Outlook's name prefix (Mr., Dr.) when a file also has "Job Title".
WEAK_TITLE = "title"


def is_localised(header: str) -> bool:
    """Whether only a German, French, Spanish or Dutch export writes
    `header` (so its dates put the day first)."""
    key = header_key(header)
    return key in _LOCALISED and key not in ENGLISH_HEADERS


def recognise(header: str) -> str | None:
    key = header_key(header)
    if key in KNOWN_HEADERS:
        return KNOWN_HEADERS[key]
    return next((role for pattern, role in _NUMBERED if pattern.match(key)), None)


def parse_mapping(items: list[str]) -> list[tuple[str, str]]:
    """`--map COLUMN=field` options as (column, field) pairs, fields checked."""
    pairs = []
    for item in items:
        column, sep, target = item.rpartition("=")
        target = target.strip().casefold()
        if not sep or not column.strip():
            raise UserError(f"--map wants COLUMN=field, got {item!r}")
        known = target in MAPPABLE or (target.startswith("extra.") and len(target) > 6)
        if not known:
            raise UserError(f"cannot map to {target!r}; fields: {', '.join(MAPPABLE)}")
        pairs.append((column.strip(), target))
    return pairs


def plan_columns(header: list[str], mapping: list[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """(index, header, field) for every column that feeds a field. A field
    named in --map takes its columns from there only."""
    by_key = {}
    for index, name in enumerate(header):
        by_key.setdefault(name.strip(), index)
        by_key.setdefault(header_key(name), index)
    mapped: list[tuple[int, str, str]] = []
    for column, target in mapping:
        index = by_key.get(column, by_key.get(header_key(column)))
        if index is None:
            shown = ", ".join(h for h in header if h.strip()) or "(none)"
            raise UserError(f"--map names column {column!r}, which is not in the file; "
                            f"columns: {shown}")  # fmt: skip
        mapped.append((index, header[index], target))
    taken = {index for index, _h, _t in mapped}
    claimed = {field_of(target) for _i, _h, target in mapped}
    keys = {header_key(h) for h in header}
    auto = []
    for index, name in enumerate(header):
        role = recognise(name) if index not in taken else None
        if role is None or field_of(role) in claimed:
            continue
        if header_key(name) == WEAK_TITLE and "job title" in keys:
            continue
        auto.append((index, name, role))
    return mapped + auto  # --map order first: several columns of a field join in that order


def field_of(role: str) -> str:
    """The contact field a role fills, so --map name=… also displaces the
    given/family columns and --map x=email displaces every email column."""
    fields = {GIVEN: "name", MIDDLE: "name", FAMILY: "name", EMAILS: "email", PHONES: "phone",
              BIRTHDAY: "extra.birthday"}  # fmt: skip
    return fields.get(role, role)
