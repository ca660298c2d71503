"""vCard 2.1, 3.0 and 4.0 in (read_vcards; vcard_writing.py writes 3.0 or 4.0).

Reading is tolerant where real address books are sloppy and strict where a
file is not a vCard at all. We split the file into cards and unfold lines
ourselves, because that is where exporters differ most: Outlook and Android
break quoted-printable values with a bare `=` at the line end, iOS ends lines
with CR CR LF, Apple and BlackBerry leave base64 photos unterminated. Each
logical line is then parsed by vobject (name, group, parameters, value).
Photos, keys and sounds are skipped unread, since minicrm keeps none of them.

A line vobject cannot parse is skipped when the card still says who it is.
A card with nothing readable, a card without END:VCARD, or text between
cards is one entry with an `error` (the import lists it as a rejected row
by its line), never the whole file lost; a file that does not start as a
vCard is refused whole with a UserError.
"""

import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from minicrm.errors import UserError

if TYPE_CHECKING:
    pass

VERSIONS = ("3.0", "4.0")
PRODID = "-//minicrm//minicrm contacts//EN"
# Binary payloads, nested cards and vCard 3.0's PROFILE (which vobject would
# take for a second BEGIN): nothing minicrm stores, so never decoded.
_UNREAD = {"PHOTO", "LOGO", "SOUND", "KEY", "AGENT", "PROFILE"}
_BEGIN = re.compile(r"BEGIN\s*:\s*VCARD\s*", re.IGNORECASE)
_END = re.compile(r"END\s*:\s*VCARD\s*", re.IGNORECASE)
_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", ":": ":"}
_ESCAPED_OR_SEPARATOR = re.compile(r"\\(.)|([;,])", re.DOTALL)
E164_PHONE = re.compile(r"\+\d{4,15}")
# The UID vcard_writing.py gives a contact; read back as the contact's id.
OWN_UID = re.compile(r"contact-(\d+)@minicrm")


@dataclass
class _Card:
    number: int  # 1-based position in the file
    line: int  # line of its BEGIN:VCARD
    lines: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None  # why it cannot be read at all


@dataclass
class _Property:
    name: str
    value: str
    params: dict[str, list[str]]
    types: set[str]  # lower-cased TYPE values and vCard 2.1 bare parameters

    @property
    def rank(self) -> int:
        """Lower is more preferred: PREF=1 (4.0), TYPE=pref (3.0), PREF (2.1)."""
        pref = self.params.get("PREF", [""])[0]
        if pref.isdigit():
            return int(pref)
        return 1 if "pref" in self.types else 101


# ------------------------------------------------------------------ reading

# The start of a UTF-8 character cut by a fold (RFC 6350 lets a line break
# "in the middle of a UTF-8 multi-octet sequence"): its lead byte and any
# continuation bytes before the break, with continuation bytes after it.
_CUT_CHARACTER = re.compile(rb"([\xc2-\xf4][\x80-\xbf]{0,2})(\r?\n[ \t])(?=[\x80-\xbf])")


def mend_cut_characters(data: bytes) -> bytes:
    """Move the first bytes of a character cut by a fold to after the fold,
    so every physical line decodes as UTF-8. Unfolding removes the break
    either way, so the unfolded text is the same bytes, and line numbers
    stay as they are."""
    if b"\n " not in data and b"\n\t" not in data:
        return data
    for _cut in range(3):  # a 4-byte character folded after each byte needs three passes
        data, moved = _CUT_CHARACTER.subn(rb"\2\1", data)
        if not moved:
            break
    return data


def read_vcards(text: str, *, source_name: str = "") -> list[dict[str, Any]]:
    """One dict per card, in file order.

    Keys: `name` (FN, else N, else ORG, else the email; "" when the card has
    none, so the import rejects that card by its line), `tags` (CATEGORIES),
    `extra` (birthday, url, nickname, department, role, street, postal_code,
    email_2…, phone_2…, url_2…), `line` and `card` (where it starts), and
    each of email, phone, company, title, city, region, country, notes only
    when the card has it, so updating a contact never blanks a field the
    card did not mention; `_own_id` when the UID is one our export wrote
    (contact-N@minicrm). Values are as written: validation is the caller's.
    A card that cannot be read is {"line", "card", "error"}.
    """
    where = f"{source_name}: " if source_name else ""
    cards = _split_cards(text, where)
    if not cards:
        raise UserError(f"{where}no vCard found (a vCard file starts with BEGIN:VCARD)")
    return [_read_or_refuse(card) for card in cards]


def _read_or_refuse(card: _Card) -> dict[str, Any]:
    if card.error is None:
        try:
            return _read_card(card)
        except UserError as exc:
            card.error = exc.message
    return {"line": card.line, "card": card.number, "error": card.error}


def _split_cards(text: str, where: str) -> list[_Card]:
    text = text.removeprefix("\ufeff")
    lines = text.split("\n") if "\n" in text else text.split("\r")
    cards: list[_Card] = []
    current: _Card | None = None
    depth = 0
    stray: _Card | None = None  # text between cards, reported once per stretch
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if current is None:
            if _BEGIN.fullmatch(line):
                current, depth, stray = _Card(_count(cards) + 1, number), 1, None
            elif line.strip() and not cards:
                raise UserError(
                    f"{where}line {number}: expected BEGIN:VCARD, found {line.strip()[:40]!r}"
                )
            elif line.strip() and stray is None:
                stray = _Card(0, number, error=f"text between cards, "
                              f"expected BEGIN:VCARD, found {line.strip()[:40]!r}")  # fmt: skip
                cards.append(stray)
            continue
        if _BEGIN.fullmatch(line):
            if depth == 1 and not _opens_agent(current):  # END:VCARD was missing
                cards.append(_unclosed(current))
                current = _Card(_count(cards) + 1, number)
                continue
            depth += 1  # a nested card (vCard 2.1 AGENT): skipped
        elif _END.fullmatch(line):
            depth -= 1
            if depth == 0:
                cards.append(current)
                current = None
        elif depth == 1:
            current.lines.append((number, line))
    if current is not None:
        cards.append(_unclosed(current))
    return cards


def _count(cards: list[_Card]) -> int:
    return sum(card.number > 0 for card in cards)


def _opens_agent(card: _Card) -> bool:
    """Whether the card's last line is a vCard 2.1 `AGENT:` whose value is
    the nested card that follows."""
    if not card.lines:
        return False
    name, colon, value = card.lines[-1][1].partition(":")
    return (
        bool(colon)
        and not value.strip()
        and name.split(";")[0].rpartition(".")[2].upper() == "AGENT"
    )


def _unclosed(card: _Card) -> _Card:
    card.error = f"card {card.number} (line {card.line}) is not closed: END:VCARD is missing"
    return card


def _logical_lines(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Unfold continuation lines: a leading space or tab (RFC 6350), or the
    line after a quoted-printable soft line break `=` (vCard 2.1). A blank
    line ends a value (2.1 base64 and Android's dangling `=`)."""
    current: str | None = None
    start = 0
    soft_break = False
    for number, line in lines:
        folded = line[:1] in (" ", "\t")  # even " " alone: a fold whose rest is empty
        if current is not None and (folded or (soft_break and line.strip())):
            current = current[:-1] + line if soft_break else current + line[1:]
        else:
            if current is not None:
                yield start, current[:-1] if soft_break else current
            current, start = (line if line.strip() else None), number
        soft_break = current is not None and current.endswith("=") and _is_qp(current)
    if current is not None:
        yield start, current[:-1] if soft_break else current


def _is_qp(line: str) -> bool:
    return "QUOTED-PRINTABLE" in line.partition(":")[0].upper()


def _read_card(card: _Card) -> dict[str, Any]:
    from vobject.base import VObjectError, parseLine

    here = f"card {card.number} (line {card.line})"
    props: dict[str, list[_Property]] = {}
    unreadable: list[tuple[int, str]] = []
    for number, text in _logical_lines(card.lines):
        if text.partition(":")[0].partition(";")[0].rpartition(".")[2].upper() in _UNREAD:
            continue
        try:
            name, params, value, _group = parseLine(text, number)
        except VObjectError:
            unreadable.append((number, text))
            continue
        prop = _property(name, params, value)
        if prop is not None:
            props.setdefault(prop.name, []).append(prop)
    version = props.get("VERSION", [None])[0]
    if version is not None and version.value.strip()[:1] not in ("2", "3", "4"):
        raise UserError(f"{here}: vCard version {version.value!r} is not supported")
    contact = _contact(props)
    if not contact["name"] and unreadable:
        number, text = unreadable[0]
        raise UserError(f"{here}: line {number} is not a vCard property: {text[:40]!r}")
    return {**contact, "line": card.line, "card": card.number}


def _property(name: str, raw_params: list[list[str]], value: str) -> _Property | None:
    params: dict[str, list[str]] = {}
    types: set[str] = set()
    for param in raw_params:
        if len(param) == 1:  # vCard 2.1: TEL;WORK;VOICE:…
            types.add(param[0].lower())
            continue
        key = param[0].upper()
        values = [v for item in param[1:] for v in item.split(",")] if key == "TYPE" else param[1:]
        params.setdefault(key, []).extend(values)
    types |= {t.lower() for t in params.get("TYPE", [])}
    encoding = {v.upper() for v in params.get("ENCODING", [])}
    if "QUOTED-PRINTABLE" in encoding or "quoted-printable" in types:
        charset = params.get("CHARSET", [""])[0]
        # Decoded text has 2.1 semantics (no backslash escapes): protect them.
        value = _decode_bytes(quopri.decodestring(value.encode()), charset).replace("\\", "\\\\")
    elif encoding & {"B", "BASE64"} or "base64" in types:
        import base64
        import binascii

        try:
            value = base64.b64decode(value).decode("utf-8").replace("\\", "\\\\")
        except (binascii.Error, UnicodeDecodeError):
            return None  # undecodable text: treat the property as absent
    return _Property(name.upper(), value, params, types)


def _decode_bytes(data: bytes, charset: str) -> str:
    """The declared charset, else UTF-8; then the declared (or Windows) code
    page with replacement characters rather than refusing the whole card."""
    for encoding in dict.fromkeys([charset, "utf-8"]):
        if encoding:
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("utf-8" if charset else "cp1252", errors="replace")


def _split(value: str, separator: str | None = None) -> list[str]:
    """Backslash-unescape a value, cutting it at unescaped `separator`s.
    Unknown escapes (`\\:` from Apple) keep their character."""
    if "\\" not in value:  # the common case, without the character loop
        return value.split(separator) if separator else [value]
    parts: list[str] = []
    buffer: list[str] = []
    start = 0
    for match in _ESCAPED_OR_SEPARATOR.finditer(value):
        buffer.append(value[start : match.start()])
        escaped, punctuation = match.groups()
        if escaped is not None:
            buffer.append(_ESCAPES.get(escaped, escaped))
        elif punctuation == separator:
            parts.append("".join(buffer))
            buffer = []
        else:
            buffer.append(punctuation)
        start = match.end()
    buffer.append(value[start:])
    parts.append("".join(buffer))
    return parts


def _text(value: str) -> str:
    return _clean(_split(value)[0])


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _ordered(props: list[_Property]) -> list[_Property]:
    return sorted(props, key=lambda p: p.rank)  # stable: file order among equals


def _distinct(values: Iterable[str], *, fold: bool = False) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(value.casefold() if fold else value, value)
    return list(seen.values())


def _contact(props: dict[str, list[_Property]]) -> dict[str, Any]:
    def texts(name: str) -> list[str]:
        return [t for t in (_text(p.value) for p in _ordered(props.get(name, []))) if t]

    emails = _distinct((t.removeprefix("mailto:") for t in texts("EMAIL")), fold=True)
    phones = _distinct(_phone(p) for p in _ordered(props.get("TEL", [])))
    urls = _distinct(texts("URL"))
    org_parts = _split(props["ORG"][0].value, ";") if "ORG" in props else [""]
    org = [" ".join(part.split()) for part in org_parts]
    titles, roles = texts("TITLE"), texts("ROLE")
    fields: dict[str, Any] = {
        "email": emails[0] if emails else None,
        "phone": phones[0] if phones else None,
        "company": org[0] or None,
        "title": (titles or roles or [None])[0],
        "notes": "\n\n".join(texts("NOTE")) or None,
    }
    extra: dict[str, str] = {}
    if "ADR" in props:
        fields.update(_address(_ordered(props["ADR"])[0], extra))
    name = next((n for n in (*texts("FN"), _name_from_n(props), org[0], *emails[:1]) if n), "")
    tags = _distinct(
        tag.strip() for p in props.get("CATEGORIES", []) for tag in _text(p.value).split(",")
    )
    from minicrm.services.transfer.dates import read_birthday

    # 19800321 (2.1), 1970-03-10, 19700310T000000Z, --0310 (no year): the calendar date
    birthday = read_birthday((texts("BDAY") or [""])[0]) or ""
    extra.update(
        birthday=birthday,
        nickname=(texts("NICKNAME") or [""])[0],
        url=(urls or [""])[0],
        department=", ".join(part for part in org[1:] if part)
        or next(iter(texts("X-DEPARTMENT")), ""),
        role=roles[0] if titles and roles else "",
    )
    for key, values in (("email", emails), ("phone", phones), ("url", urls)):
        extra.update({f"{key}_{n}": value for n, value in enumerate(values[1:], start=2)})
    if "N" in props and name:
        from minicrm.services.transfer.name_parts import kept_parts

        extra.update(kept_parts(name, _n_parts(props)))
    present = {key: value for key, value in fields.items() if value}
    own = next((m for uid in texts("UID") if (m := OWN_UID.fullmatch(uid.strip()))), None)
    if own:
        from minicrm.services.transfer.headers import OWN_ID

        present[OWN_ID] = int(own.group(1))
    return {
        "name": name,
        **present,
        "tags": tags,
        "extra": {key: value for key, value in extra.items() if value},
    }


def _phone(prop: _Property) -> str:
    """A TEL as text. A tel: URI (vCard 4.0) loses its scheme and keeps an
    extension readably: tel:+1-418-656-9254;ext=102 → +1-418-656-9254 ext. 102."""
    value = prop.value.strip()
    has_scheme = value[:4].lower() == "tel:"
    if not has_scheme and "URI" not in {v.upper() for v in prop.params.get("VALUE", [])}:
        return " ".join(_text(value).split())
    from urllib.parse import unquote

    number, *uri_params = (value[4:] if has_scheme else value).split(";")
    extension = next((p[4:] for p in uri_params if p.lower().startswith("ext=")), "")
    return unquote(number).strip() + (f" ext. {unquote(extension)}" if extension else "")


def _address(prop: _Property, extra: dict[str, str]) -> dict[str, str | None]:
    parts = [_clean(part) for part in _split(prop.value, ";")] + [""] * 7
    box, extended, street, city, region, code, country = parts[:7]
    extra["street"] = ", ".join(p for p in (box, extended, street) if p)
    extra["postal_code"] = code
    return {"city": city or None, "region": region or None, "country": country or None}


def _name_from_n(props: dict[str, list[_Property]]) -> str:
    if "N" not in props:
        return ""
    family, given, additional, prefix, suffix = _n_parts(props).as_tuple()
    return " ".join(" ".join((prefix, given, additional, family, suffix)).split())


def _n_parts(props: dict[str, list[_Property]]):
    """N's family;given;additional;prefix;suffix (several values of a part
    joined by spaces)."""
    from minicrm.services.transfer.name_parts import NameParts

    parts = [part.replace(",", " ") for part in _split(props["N"][0].value, ";")] + [""] * 5
    return NameParts(*(" ".join(_clean(part).split()) for part in parts[:5]))
