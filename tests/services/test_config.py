"""Settings kept in the database, their validators, and the stage list."""

from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope
from minicrm.errors import UserError, ValidationError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.records.config import (
    all_stages,
    first_stage,
    get_setting,
    list_settings,
    normalize_stage,
    open_stages,
    set_setting,
)
from minicrm.settings import KNOWN_SETTINGS

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def set_(session, key, value):
    return set_setting(session, key, value, now=NOW)


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=True, now=NOW)


# ------------------------------------------------------------ get / set


def test_defaults_before_anything_is_set(session):
    assert get_setting(session, "currency") == "USD"
    assert get_setting(session, "default_region") == "US"
    assert get_setting(session, "stages") == "awareness,interest,decision,action"
    assert get_setting(session, "timezone") is None
    assert list_settings(session) == {key: default for key, (default, _) in KNOWN_SETTINGS.items()}


def test_open_and_all_stages_by_default(session):
    assert open_stages(session) == ["awareness", "interest", "decision", "action"]
    assert all_stages(session) == ["awareness", "interest", "decision", "action", "won", "lost"]
    assert first_stage(session) == "awareness"


def test_set_then_get_in_the_same_session(session):
    assert set_(session, "currency", " eur ") == "EUR"
    assert get_setting(session, "currency") == "EUR"
    assert list_settings(session)["currency"] == "EUR"


def test_a_stored_setting_is_seen_by_the_next_session(engine):
    with session_scope(engine) as session:
        get_setting(session, "currency")  # cached as the default first
        set_(session, "currency", "irr")
        set_(session, "mail_from", "  shop@example.com ")
    with session_scope(engine) as session:
        assert get_setting(session, "currency") == "IRR"
        assert get_setting(session, "mail_from") == "shop@example.com"


def test_setting_again_replaces_the_value(engine):
    with session_scope(engine) as session:
        set_(session, "timezone", "Asia/Tehran")
    with session_scope(engine) as session:
        set_(session, "timezone", "Europe/Athens")
    with session_scope(engine) as session:
        assert get_setting(session, "timezone") == "Europe/Athens"


def test_a_refused_setting_writes_nothing(engine):
    with pytest.raises(ValidationError), session_scope(engine) as session:
        set_(session, "currency", "euro")
    with session_scope(engine) as session:
        assert get_setting(session, "currency") == "USD"


@pytest.mark.parametrize("key", ["colour", "Currency", ""])
def test_unknown_key_is_a_user_error(session, key):
    with pytest.raises(UserError) as caught:
        get_setting(session, key)
    assert "currency" in caught.value.message  # lists the known keys
    with pytest.raises(UserError):
        set_(session, key, "x")


# ----------------------------------------------------------- validators


@pytest.mark.parametrize(("typed", "stored"), [("eur", "EUR"), (" Irr ", "IRR"), ("GBP", "GBP")])
def test_currency_is_an_upper_case_three_letter_code(session, typed, stored):
    assert set_(session, "currency", typed) == stored


@pytest.mark.parametrize("typed", ["euro", "EU", "€", "12A", ""])
def test_currency_refuses_anything_else(session, typed):
    with pytest.raises(ValidationError):
        set_(session, "currency", typed)


@pytest.mark.parametrize("typed", ["äöü", "ΕΥΡ"])
def test_currency_refuses_non_ascii_letters(session, typed):
    with pytest.raises(ValidationError):
        set_(session, "currency", typed)


@pytest.mark.parametrize(("typed", "stored"), [("de", "DE"), (" IR ", "IR"), ("gr", "GR")])
def test_default_region_is_a_phone_region(session, typed, stored):
    assert set_(session, "default_region", typed) == stored


@pytest.mark.parametrize("typed", ["XX", "Germany", "D", ""])
def test_default_region_refuses_unknown_regions(session, typed):
    with pytest.raises(ValidationError):
        set_(session, "default_region", typed)


@pytest.mark.parametrize("zone", ["Europe/Berlin", " Asia/Tehran ", "UTC"])
def test_timezone_accepts_iana_names(session, zone):
    assert set_(session, "timezone", zone) == zone.strip()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_timezone_refuses_unknown_names(session, zone):
    with pytest.raises(ValidationError):
        set_(session, "timezone", zone)


@pytest.mark.parametrize("zone", ["Europe", "America"])
def test_timezone_refuses_a_region_folder_name(session, zone):
    with pytest.raises(ValidationError):
        set_(session, "timezone", zone)


@pytest.mark.parametrize(("typed", "stored"), [("587", "587"), (" 25 ", "25")])
def test_smtp_port_accepts_a_port_number(session, typed, stored):
    assert set_(session, "smtp_port", typed) == stored


@pytest.mark.parametrize("typed", ["0", "65536", "smtp", "-1", ""])
def test_smtp_port_refuses_anything_else(session, typed):
    with pytest.raises(ValidationError):
        set_(session, "smtp_port", typed)


def test_smtp_port_refuses_a_superscript_digit(session):
    with pytest.raises(ValidationError):
        set_(session, "smtp_port", "²")


@pytest.mark.parametrize(("typed", "stored"), [("YES", "yes"), (" no ", "no")])
def test_starttls_is_yes_or_no(session, typed, stored):
    assert set_(session, "smtp_starttls", typed) == stored
    with pytest.raises(ValidationError):
        set_(session, "smtp_starttls", "maybe")


# --------------------------------------------------------------- stages


def test_stages_are_stored_folded_and_trimmed(session):
    assert set_(session, "stages", " Lead, Qualified ,Proposal ,") == "lead,qualified,proposal"
    assert open_stages(session) == ["lead", "qualified", "proposal"]
    assert all_stages(session)[-2:] == ["won", "lost"]
    assert first_stage(session) == "lead"


@pytest.mark.parametrize(
    "typed",
    [
        "awareness,won",
        "LOST,interest",
        "awareness, awareness",
        "Lead,lead",
        "",
        " , ",
        "lead/qualified",
        "lead;qualified",
    ],
)
def test_stages_refuses_closed_duplicate_empty_or_odd_names(session, typed):
    with pytest.raises(ValidationError):
        set_(session, "stages", typed)
    assert open_stages(session) == ["awareness", "interest", "decision", "action"]


def test_stages_accept_other_scripts_spaces_dashes_and_underscores(session):
    assert set_(session, "stages", "آشنایی,follow up,pre-sale,deal_made") == (
        "آشنایی,follow up,pre-sale,deal_made"
    )


def test_stages_refuses_dropping_a_stage_contacts_are_in(session):
    add(session, "Maria", stage="interest")
    add(session, "Ali", stage="interest")
    with pytest.raises(ValidationError) as caught:
        set_(session, "stages", "awareness,decision,action")
    assert "interest (2 deals)" in caught.value.message
    assert "interest" in open_stages(session)


def test_stages_counts_trashed_contacts_as_still_in_their_stage(session):
    trash_contact(session, add(session, "Maria", stage="decision").id, now=NOW)
    with pytest.raises(ValidationError):
        set_(session, "stages", "awareness,interest,action")


def test_stages_may_drop_empty_stages_and_keep_closed_contacts(session):
    add(session, "Maria", stage="won")
    add(session, "Ali", stage="lost", lost_reason="no budget")
    add(session, "Sara", stage="interest")
    assert set_(session, "stages", "interest,closing") == "interest,closing"
    assert all_stages(session) == ["interest", "closing", "won", "lost"]


def test_new_stages_are_used_for_new_contacts(session):
    set_(session, "stages", "Lead,Deal")
    assert add(session, "Maria").stage == "lead"
    assert add(session, "Ali", stage="DEAL").stage == "deal"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("interest", "interest"), ("INTEREST", "interest"), (" Decision ", "decision"),
     ("WON", "won"), ("Lost", "lost")],
)  # fmt: skip
def test_normalize_stage_ignores_case(session, typed, canonical):
    assert normalize_stage(session, typed) == canonical


@pytest.mark.parametrize("typed", ["prospect", "", None, "inter"])
def test_normalize_stage_refuses_unknown_stages(session, typed):
    with pytest.raises(ValidationError) as caught:
        normalize_stage(session, typed)
    assert caught.value.field == "stage"
    assert "awareness, interest, decision, action, won, lost" in caught.value.message


def test_normalize_stage_finds_a_non_latin_stage_in_another_case(session):
    set_(session, "stages", "Ενδιαφέρον,Απόφαση")
    assert normalize_stage(session, "ΕΝΔΙΑΦΈΡΟΝ") == "ενδιαφέρον"
