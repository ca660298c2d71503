"""Field validation shared by `crm add`, `crm edit`, imports and the TUI forms."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from minicrm.errors import ValidationError


def clean_text(value: Any) -> str | None:
    """Strip a text field; empty means unset."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize_name(value: Any) -> str:
    name = clean_text(value)
    if not name:
        raise ValidationError("a contact needs a name", field="name")
    return name


def normalize_email(value: Any) -> str | None:
    email = clean_text(value)
    if email is None:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"invalid email {email!r}: {exc}", field="email") from exc


def normalize_phone(value: Any, default_region: str | None) -> str | None:
    """E.164 when the number is valid; otherwise kept as typed, since real
    address books hold extensions and local numbers phonenumbers can't place.
    A value with no digits at all is refused."""
    phone = clean_text(value)
    if phone is None:
        return None
    if not re.search(r"\d", phone):
        raise ValidationError(f"invalid phone {phone!r}: it has no digits", field="phone")
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone, default_region or None)
    except phonenumbers.NumberParseException:
        return phone
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return phone


_MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d{1,2})?$")


def money_to_cents(value: Any, field: str = "value") -> int | None:
    """'1,250.50' or 1250.5 -> 125050. Thousands separators are allowed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(f"invalid {field} {value!r}", field=field)
    text = str(value).strip().replace("_", "")
    if _GROUPED.match(text):  # 1,250.50; but "12,50" is a decimal comma: refused
        text = text.replace(",", "")
    if not _MONEY.match(text):
        raise ValidationError(
            f"invalid {field} {value!r}: give a number like 1250 or 1,250.50 (a dot for cents)",
            field=field,
        )
    try:
        cents = int((Decimal(text) * 100).to_integral_value())
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValidationError(f"invalid {field} {value!r}", field=field) from exc
    if cents < 0:
        raise ValidationError(f"{field} cannot be negative", field=field)
    return cents


def normalize_tag(value: Any) -> str:
    from minicrm.text import fold

    tag = fold(str(value)).strip().lstrip("#")
    if not tag or "," in tag:
        raise ValidationError(f"invalid tag {value!r}: use a word like vip", field="tags")
    return tag


def parse_assignment(text: str) -> tuple[str, str]:
    """'key=value' -> ('key', 'value'), for --set."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValidationError(f"expected key=value, got {text!r}", field="extra")
    return key, value.strip()
