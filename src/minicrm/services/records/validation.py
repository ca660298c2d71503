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


def normalize_phone(
    value: Any, default_region: str | None, *, keep_impossible: bool = True
) -> str | None:
    """E.164 when the number is valid; otherwise kept as typed, since real
    address books hold extensions and local numbers phonenumbers can't place.
    A value with no digits at all is refused; so is a number that cannot
    exist (too short, too long), unless `keep_impossible` (imports, --force)."""
    phone = clean_text(value)
    if phone is None:
        return None
    if not re.search(r"\d", phone):
        raise ValidationError(f"invalid phone {phone!r}: it has no digits", field="phone")
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone, default_region or None)
    except phonenumbers.NumberParseException as exc:
        parsed, why_impossible = None, _unparsable_reason(phone, exc)
    else:
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        why_impossible = _impossible_reason(parsed)
    if why_impossible and not keep_impossible:
        raise ValidationError(
            f"impossible phone {phone!r}: {why_impossible} (--force keeps it as typed)",
            field="phone",
        )
    return phone


# The shortest national number of any country (phonenumbers' metadata, local-
# only lengths aside): without a region, nothing shorter can be a phone number.
_SHORTEST_ANYWHERE = 4
_LONGEST_E164 = 15


def _unparsable_reason(phone: str, exc: Any) -> str | None:
    """Why a number phonenumbers could not parse cannot exist, or None when
    it only lacked a region to be judged by (then count its digits)."""
    import phonenumbers

    if exc.error_type != phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        return str(exc._msg).rstrip(".").lower()
    if phone.lstrip().startswith("+"):
        return "no country has that code"
    digits = len(re.findall(r"\d", phone))
    if digits < _SHORTEST_ANYWHERE:
        return f"{digits} digits is too short for a phone number anywhere"
    if digits > _LONGEST_E164:
        return f"{digits} digits is too long for a phone number anywhere"
    return None


def _impossible_reason(parsed: Any) -> str | None:
    import phonenumbers

    reasons = {
        phonenumbers.ValidationResult.TOO_SHORT: "too short",
        phonenumbers.ValidationResult.TOO_LONG: "too long",
        phonenumbers.ValidationResult.INVALID_LENGTH: "no number there has that length",
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "no country has that code",
    }
    reason = reasons.get(phonenumbers.is_possible_number_with_reason(parsed))
    if reason is None:
        return None
    region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return f"{reason} for a number in {region}" if region != "ZZ" else reason


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
