"""Settings kept in the database (`crm config`), and the funnel's stage list."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import LOST, WON, Deal, Setting
from minicrm.settings import KNOWN_SETTINGS

_CACHE_KEY = "minicrm.settings"


def get_setting(session: Session, key: str) -> str | None:
    _require_known(key)
    cache = session.info.setdefault(_CACHE_KEY, {})
    if key not in cache:
        row = session.get(Setting, key)
        cache[key] = row.value if row else KNOWN_SETTINGS[key][0]
    return cache[key]


def list_settings(session: Session) -> dict[str, str | None]:
    stored = {row.key: row.value for row in session.execute(select(Setting)).scalars()}
    return {key: stored.get(key, default) for key, (default, _help) in KNOWN_SETTINGS.items()}


def set_setting(session: Session, key: str, value: str, *, now: datetime | None = None) -> str:
    """Validate and store a setting; returns the stored (normalised) value."""
    _require_known(key)
    value = _VALIDATORS.get(key, _strip)(session, value)
    row = session.get(Setting, key)
    now = now or datetime.now(UTC)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()
    session.info.setdefault(_CACHE_KEY, {})[key] = value
    return value


def _require_known(key: str) -> None:
    if key not in KNOWN_SETTINGS:
        raise UserError(f"unknown setting {key!r}; known: {', '.join(KNOWN_SETTINGS)}")


# ------------------------------------------------------------------ stages


def open_stages(session: Session) -> list[str]:
    """The ordered open stages S1…Sk (won and lost come after/outside)."""
    return [s for s in (get_setting(session, "stages") or "").split(",") if s]


def all_stages(session: Session) -> list[str]:
    return [*open_stages(session), WON, LOST]


def normalize_stage(session: Session, stage: str | None) -> str:
    """The canonical name of `stage` (matched case-insensitively)."""
    stages = all_stages(session)
    wanted = (stage or "").strip().casefold()
    for known in stages:
        if known.casefold() == wanted:
            return known
    raise ValidationError(f"unknown stage {stage!r}; stages: {', '.join(stages)}", field="stage")


def first_stage(session: Session) -> str:
    return open_stages(session)[0]


# -------------------------------------------------------------- validators


def _strip(_session: Session, value: str) -> str:
    return value.strip()


def _validate_stages(session: Session, value: str) -> str:
    stages = [s.strip().casefold() for s in value.split(",") if s.strip()]
    if not stages:
        raise ValidationError("stages needs at least one open stage, e.g. 'lead,qualified'")
    if any(s in (WON, LOST) for s in stages):
        raise ValidationError("won and lost always exist; list only the open stages")
    if len(set(stages)) != len(stages):
        raise ValidationError("a stage is listed twice")
    if any(not all(ch.isalnum() or ch in "-_ " for ch in s) for s in stages):
        raise ValidationError("stage names may hold letters, digits, spaces, - and _")
    in_use = session.execute(
        select(Deal.stage, func.count())
        .where(Deal.stage.not_in([*stages, WON, LOST]))
        .group_by(Deal.stage)
    ).all()
    if in_use:
        held = ", ".join(f"{stage} ({count} deals)" for stage, count in in_use)
        raise ValidationError(f"cannot drop stages that deals are in: {held}")
    return ",".join(stages)


def _validate_currency(_session: Session, value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise ValidationError(f"invalid currency {value!r}: use an ISO 4217 code like EUR")
    return code


def _validate_region(_session: Session, value: str) -> str:
    import phonenumbers

    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"invalid region {value!r}: use a two-letter code like DE or IR")
    return code


def _validate_timezone(_session: Session, value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(
            f"unknown time zone {value!r}: use a name like Europe/Berlin"
        ) from exc
    return name


def _validate_port(_session: Session, value: str) -> str:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise ValidationError(f"invalid port {value!r}")
    return text


def _validate_yes_no(_session: Session, value: str) -> str:
    answer = value.strip().lower()
    if answer not in ("yes", "no"):
        raise ValidationError(f"expected yes or no, got {value!r}")
    return answer


def _refuse_scoring_rules(_session: Session, _value: str) -> str:
    raise ValidationError(
        "scoring rules are checked TOML; use `crm score rules --load FILE` or `--edit`"
    )


_VALIDATORS = {
    "scoring_rules": _refuse_scoring_rules,
    "stages": _validate_stages,
    "currency": _validate_currency,
    "default_region": _validate_region,
    "timezone": _validate_timezone,
    "smtp_port": _validate_port,
    "smtp_starttls": _validate_yes_no,
}


def local_zone_of(session: Session):
    """The zone dates are shown and typed in: the `timezone` setting, else TZ."""
    from minicrm.dates import local_zone

    return local_zone(get_setting(session, "timezone"))
