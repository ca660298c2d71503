"""vCard 3.0 or 4.0 out (contacts_to_vcards, write_vcards): one card per
contact, the fields vcard.py reads back."""

import re
from collections.abc import Iterable, Iterator
from datetime import UTC
from io import StringIO
from typing import TYPE_CHECKING, TextIO

from minicrm.errors import UserError
from minicrm.services.transfer.name_parts import parts_for_export
from minicrm.services.transfer.vcard import E164_PHONE, PRODID, VERSIONS

if TYPE_CHECKING:
    from minicrm.models import ContactRead


def contacts_to_vcards(contacts: Iterable["ContactRead"], *, version: str = "3.0") -> str:
    """A vCard file with one card per contact (CRLF line endings, long lines
    folded by vobject). What read_vcards reads back: name, emails, phones,
    organisation and department, title, address, notes, tags as CATEGORIES,
    birthday, url, nickname and role."""
    buffer = StringIO()
    write_vcards(contacts, buffer, version=version)
    return buffer.getvalue()


def write_vcards(contacts: Iterable["ContactRead"], out: TextIO, *, version: str = "3.0") -> int:
    """Stream the cards into `out` (open it with newline=""); returns how many.

    Lines are assembled here and escaped and folded by vobject's own helpers:
    building vobject components costs about 1.5 ms a card, minutes for a
    100,000-contact export."""
    from vobject.base import foldOneLine

    if version not in VERSIONS:
        raise UserError(f"cannot write vCard {version!r}; choose one of: {', '.join(VERSIONS)}")
    count = 0
    for contact in contacts:
        buffer = StringIO()
        for line in _card_lines(contact, version):
            foldOneLine(buffer, line)  # 75 octets a line, never inside a UTF-8 sequence
        out.write(buffer.getvalue())
        count += 1
    return count


def _card_lines(contact: "ContactRead", version: str) -> Iterator[str]:
    from vobject.base import backslashEscape as escape

    v4 = version == "4.0"
    extra = {key: str(value) for key, value in contact.extra.items() if value not in (None, "")}
    parts = parts_for_export(contact.name, extra).as_tuple()
    yield from ("BEGIN:VCARD", f"VERSION:{version}", f"PRODID:{PRODID}")
    yield f"UID:contact-{contact.id}@minicrm"
    yield f"FN:{escape(contact.name)}"
    yield "N:" + ";".join(escape(part) for part in parts)
    department = extra.get("department")
    if contact.company or department:
        org = [contact.company or "", *([department] if department else [])]
        yield "ORG:" + ";".join(escape(part) for part in org)
    for name, value in (("TITLE", contact.title), ("ROLE", extra.get("role"))):
        if value:
            yield f"{name}:{escape(value)}"
    for index, email in enumerate(_numbered(contact.email, extra, "email")):
        if v4:
            yield f"EMAIL{';PREF=1' if index == 0 else ''}:{escape(email)}"
        else:
            yield f"EMAIL;TYPE=INTERNET{',pref' if index == 0 else ''}:{escape(email)}"
    for index, phone in enumerate(_numbered(contact.phone, extra, "phone")):
        pref = (";PREF=1" if v4 else ";TYPE=pref") if index == 0 else ""
        if v4 and E164_PHONE.fullmatch(phone):  # RFC 6350 prefers tel: URIs
            yield f"TEL;VALUE=uri{pref}:tel:{phone}"
        else:
            yield f"TEL{pref}:{escape(phone)}"
    street, code = extra.get("street", ""), extra.get("postal_code", "")
    if street or code or contact.city or contact.region or contact.country:
        parts = ("", "", street, contact.city, contact.region, code, contact.country)
        yield "ADR:" + ";".join(escape(part or "") for part in parts)
    if contact.notes:
        yield f"NOTE:{escape(contact.notes)}"
    if contact.tags:
        yield "CATEGORIES:" + ",".join(escape(tag) for tag in contact.tags)
    if extra.get("birthday"):
        yield _birthday(extra["birthday"], v4)
    if extra.get("nickname"):
        yield f"NICKNAME:{escape(extra['nickname'])}"
    for url in _numbered(None, extra, "url"):
        yield "URL:" + " ".join(url.split())  # a URI: no text escaping
    yield "REV:" + contact.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    yield "END:VCARD"


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NO_YEAR_DAY = re.compile(r"--(\d{2})-(\d{2})")


def _birthday(value: str, v4: bool) -> str:
    """BDAY as each version writes a date: 4.0 19800310 and --0310 (no
    year), 3.0 1980-03-10 and --03-10; anything else is text (4.0 says so)."""
    from vobject.base import backslashEscape as escape

    if match := _ISO_DAY.fullmatch(value):
        return f"BDAY:{''.join(match.groups())}" if v4 else f"BDAY:{value}"
    if match := _NO_YEAR_DAY.fullmatch(value):
        return f"BDAY:--{''.join(match.groups())}" if v4 else f"BDAY:{value}"
    return f"BDAY;VALUE=text:{escape(value)}" if v4 else f"BDAY:{escape(value)}"


def _numbered(first: str | None, extra: dict[str, str], key: str) -> list[str]:
    """`first`, then extra[key] (urls), then extra[key_2], extra[key_3]… in number order."""
    pattern = re.compile(rf"{key}_(\d+)")
    numbered = sorted(
        (int(match.group(1)), value)
        for name, value in extra.items()
        if (match := pattern.fullmatch(name))
    )
    return [v for v in (first, extra.get(key) if key == "url" else None) if v] + [
        value for _n, value in numbered
    ]
