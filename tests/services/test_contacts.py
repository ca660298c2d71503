"""Contacts service: REF matching, add, list, update, trash/restore/purge."""

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from minicrm.db import session_scope
from minicrm.errors import (
    AmbiguousRefError,
    ConflictError,
    DuplicateError,
    NotFoundError,
    UserError,
    ValidationError,
)
from minicrm.models import (
    Contact,
    ContactTag,
    FollowUp,
    Interaction,
    Setting,
    StageChange,
    Tag,
)
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.listing import ContactFilter, count_contacts, list_contacts
from minicrm.services.contacts.trash import (
    list_trash,
    purge_contact,
    restore_contact,
    trash_contact,
)
from minicrm.services.records.config import set_setting
from minicrm.services.records.contacts import get_contact, resolve_ref
from minicrm.text import fold, search_text

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ALL_TABLES = (Contact, Tag, ContactTag, Interaction, FollowUp, StageChange, Setting)


# ---------------------------------------------------------------- helpers


def add(session, name, *, force=False, now=NOW, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=force, now=now)


def edit(session, ref, *, now=NOW, expected_version=None, **changes):
    return update_contact(
        session, ref, ContactChanges(**changes), expected_version=expected_version, now=now
    )


def names(contacts):
    return [c.name for c in contacts]


def listed(session, sort="name", **filters):
    return names(list_contacts(session, ContactFilter(**filters), sort=sort))


def row_counts(engine):
    """Rows per table, read in a session of its own (what another command sees)."""
    with session_scope(engine, write=False) as session:
        return {
            model.__tablename__: session.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
            for model in ALL_TABLES
        }


def stage_changes(session, contact_id):
    rows = session.execute(
        select(StageChange).where(StageChange.contact_id == contact_id).order_by(StageChange.id)
    ).scalars()
    return [(r.from_stage, r.to_stage, r.reason) for r in rows]


def add_interaction(session, contact_id, summary, at=NOW):
    session.add(
        Interaction(
            contact_id=contact_id,
            kind="call",
            at=at,
            summary=summary,
            search_text=search_text(summary),
            created_at=at,
        )
    )
    session.flush()


def add_followup(session, contact_id, due_at, done_at=None):
    session.add(
        FollowUp(
            contact_id=contact_id,
            due_at=due_at,
            done_at=done_at,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.flush()


# ------------------------------------------------------------------- REF


def test_ref_by_id_finds_that_contact(session):
    add(session, "Maria Lopez")
    ali = add(session, "Ali Rezaei")
    assert resolve_ref(session, ali.id).name == "Ali Rezaei"
    assert resolve_ref(session, f" {ali.id} ").id == ali.id
    assert get_contact(session, str(ali.id)).id == ali.id


def test_ref_by_exact_email_ignores_case(session):
    maria = add(session, "Maria Lopez", email="Maria.Lopez@Example.com")
    add(session, "Maria Other", email="other@example.com")
    assert get_contact(session, "maria.lopez@EXAMPLE.COM").id == maria.id


def test_ref_by_email_nobody_has_is_not_found(session):
    add(session, "Maria Lopez", email="maria@example.com")
    with pytest.raises(NotFoundError):
        get_contact(session, "maria@example.org")


def test_ref_by_unique_name_fragment_in_any_case(session):
    add(session, "Maria Lopez")
    ali = add(session, "Ali Rezaei")
    assert get_contact(session, "REZA").id == ali.id
    assert get_contact(session, "li rez").id == ali.id


def test_ref_prefers_an_exact_full_name_that_is_also_part_of_another(session):
    ann = add(session, "Ann")
    add(session, "Anna Smith")
    add(session, "Joanne Ann")
    assert get_contact(session, "ANN").id == ann.id


def test_ambiguous_ref_lists_every_candidate(session):
    first = add(session, "Maria Lopez")
    second = add(session, "Maria Garcia")
    add(session, "Ali Rezaei")
    with pytest.raises(AmbiguousRefError) as caught:
        get_contact(session, "maria")
    assert sorted(c.id for c in caught.value.candidates) == sorted([first.id, second.id])
    assert f"#{first.id} Maria Lopez" in caught.value.message
    assert f"#{second.id} Maria Garcia" in caught.value.message


def test_ambiguous_ref_shows_ten_candidates_and_says_there_are_more(session):
    for number in range(12):
        add(session, f"Customer {chr(ord('a') + number)}", force=True)
    with pytest.raises(AmbiguousRefError) as caught:
        get_contact(session, "customer")
    assert len(caught.value.candidates) == 10
    assert "and more" in caught.value.message


def test_two_contacts_with_the_same_full_name_are_ambiguous(session):
    add(session, "Ali Rezaei")
    add(session, "Ali Rezaei", force=True)
    with pytest.raises(AmbiguousRefError) as caught:
        get_contact(session, "ali rezaei")
    assert len(caught.value.candidates) == 2


@pytest.mark.parametrize("ref", ["Nobody", "999", "nobody@example.com"])
def test_unknown_ref_is_not_found(session, ref):
    add(session, "Maria Lopez", email="maria@example.com")
    with pytest.raises(NotFoundError) as caught:
        get_contact(session, ref)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("ref", ["", "   "])
def test_empty_ref_is_a_user_error(session, ref):
    with pytest.raises(UserError):
        get_contact(session, ref)


def test_trashed_contact_is_found_only_in_the_trash(session):
    gone = add(session, "Maria Lopez", email="maria@example.com")
    live = add(session, "Maria Garcia")
    trash_contact(session, gone.id, now=NOW)
    for ref in (gone.id, "maria@example.com", "lopez"):
        with pytest.raises(NotFoundError):
            get_contact(session, ref)
        assert get_contact(session, ref, deleted=True).id == gone.id
    assert get_contact(session, "maria").id == live.id
    with pytest.raises(NotFoundError):
        get_contact(session, live.id, deleted=True)


def test_like_wildcards_in_a_ref_are_taken_literally(session):
    sale = add(session, "50% Sale Shop")
    add(session, "5000 Sales Shop", force=True)
    underscored = add(session, "a_b Trading")
    add(session, "axb Trading", force=True)  # fuzzy-similar to a_b Trading
    assert get_contact(session, "50%").id == sale.id
    assert get_contact(session, "a_b").id == underscored.id
    assert get_contact(session, "%").id == sale.id
    assert get_contact(session, "_").id == underscored.id


def test_ref_typed_on_the_other_keyboard_or_without_accents(session):
    persian = add(session, "علی کریمی")
    greek = add(session, "Γιώργος Παπαδόπουλος")
    assert get_contact(session, "علي كريمي").id == persian.id  # Arabic keyboard
    assert get_contact(session, "كريم").id == persian.id
    assert get_contact(session, "ΓΙΩΡΓΟΣ").id == greek.id
    assert get_contact(session, "παπαδοπουλος").id == greek.id


@pytest.mark.parametrize("ref", ["²", "9" * 25])
def test_odd_numeric_ref_is_not_found_instead_of_crashing(session, ref):
    add(session, "Maria Lopez")
    with pytest.raises(NotFoundError):
        get_contact(session, ref)


def test_ref_by_exact_email_with_non_ascii_capitals(session):
    dimitris = add(session, "Dimitris", email="Δημήτρης@example.gr")
    assert get_contact(session, "Δημήτρης@example.gr").id == dimitris.id


# Letters per script, mapped to what another keyboard or a caps-lock types.
LATIN = "abcdefghijklmnopqrstuvwxyzéñüç"
GREEK = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώ"
PERSIAN = "ابپتجچخدرزسشفقکگلمنوهی"
ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك", "ه": "ة"})


def without_accents(text):
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


names_in_one_script = st.sampled_from([LATIN, GREEK, PERSIAN]).flatmap(
    lambda letters: st.lists(
        st.text(alphabet=letters, min_size=2, max_size=8), min_size=1, max_size=3
    ).map(" ".join)
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=names_in_one_script,
    retype=st.sampled_from(
        [
            str.upper,
            str.swapcase,
            without_accents,
            lambda s: s.translate(ARABIC_KEYBOARD),
            lambda s: without_accents(s).upper(),
        ]
    ),
    whole=st.booleans(),
)
def test_ref_finds_a_name_however_it_is_typed(session, name, retype, whole):
    """The full name or one word of it, retyped, finds the one contact."""
    savepoint = session.begin_nested()
    try:
        decoy = "Zzz Decoy" if name[0] not in LATIN else "Ωωω Δόλωμα"
        add(session, decoy, force=True)
        contact = add(session, name, force=True)
        typed = retype(name if whole else max(name.split(" "), key=len))
        assert resolve_ref(session, typed).id == contact.id
    finally:
        savepoint.rollback()


# ------------------------------------------------------------------- add


def test_add_returns_the_normalised_contact(session):
    contact = add(
        session,
        "  Maria Lopez ",
        email=" Maria.Lopez@EXAMPLE.com ",
        company=" Acme ",
        city="",
        owner="alice",
    )
    assert contact.name == "Maria Lopez"
    assert contact.email == "Maria.Lopez@example.com"
    assert contact.company == "Acme"
    assert contact.city is None
    assert contact.stage == "awareness"
    assert contact.created_at == contact.updated_at == contact.stage_entered_at == NOW
    assert contact.version == 1
    assert contact.deleted_at is None


def test_add_writes_the_row_with_its_folded_name(session):
    contact = add(session, "Γιώργος Παπαδόπουλος", company="Ψ Ltd")
    row = session.get(Contact, contact.id)
    assert row.name_folded == "γιωργοσ παπαδοπουλοσ"
    assert "ψ ltd" in row.search_text


def test_add_puts_a_phone_into_e164_with_the_default_region(session):
    set_setting(session, "default_region", "de", now=NOW)
    german = add(session, "Hans Berlin", phone="030 12345678")
    assert german.phone == "+493012345678"
    foreign = add(session, "Ana Tehran", phone="+98 912 345 6789")
    assert foreign.phone == "+989123456789"


def test_add_phone_with_the_us_default_region(session):
    assert add(session, "Joe", phone="(212) 736-5000").phone == "+12127365000"


def test_add_keeps_a_possible_but_unplaceable_phone_as_typed(session):
    set_setting(session, "default_region", "US", now=NOW)
    assert add(session, "Local Joe", phone="555-0100").phone == "555-0100"


def test_add_keeps_a_short_number_phonenumbers_calls_possible_locally(session):
    set_setting(session, "default_region", "DE", now=NOW)  # German villages: 2-digit lines
    assert add(session, "Dorf Joe", phone="12").phone == "12"


@pytest.mark.parametrize(
    "region, phone",
    [("", "12"), ("US", "12"), ("US", "ext. 12"), ("", "+99912345"), ("", "1" * 17)],
)
def test_add_refuses_a_phone_that_cannot_exist_unless_forced(session, region, phone):
    if region:
        set_setting(session, "default_region", region, now=NOW)
    with pytest.raises(ValidationError) as caught:
        add(session, "Joe", phone=phone)
    assert caught.value.field == "phone"
    assert "impossible phone" in caught.value.message and "--force" in caught.value.message
    assert add(session, "Joe", phone=phone, force=True).phone == phone


def test_add_refuses_a_phone_without_digits(session):
    with pytest.raises(ValidationError) as caught:
        add(session, "Joe", phone="call me")
    assert caught.value.field == "phone"


@pytest.mark.parametrize("email", ["maria", "maria@", "@example.com", "ma ria@example.com"])
def test_add_refuses_an_invalid_email(session, email):
    with pytest.raises(ValidationError) as caught:
        add(session, "Maria", email=email)
    assert caught.value.field == "email"


def test_add_refuses_an_empty_name(session):
    with pytest.raises(ValidationError) as caught:
        add(session, "   ")
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("typed", "cents", "in_json"),
    [
        ("1,250.50", 125050, 1250.5),
        ("1250", 125000, 1250),
        ("0.05", 5, 0.05),
        (99.9, 9990, 99.9),
        ("", None, None),
    ],
)
def test_add_stores_value_in_cents_and_shows_major_units(session, typed, cents, in_json):
    contact = add(session, "Maria", value=typed)
    assert contact.value_cents == cents
    assert contact.to_json()["value"] == in_json
    assert session.get(Contact, contact.id).value_cents == cents


@pytest.mark.parametrize("typed", ["-5", "-0.01", "12.345", "abc", "1e3", True])
def test_add_refuses_a_negative_or_malformed_value(session, typed):
    with pytest.raises(ValidationError) as caught:
        add(session, "Maria", value=typed)
    assert caught.value.field == "value"


def test_add_records_the_creation_stage_in_the_funnel_history(session):
    contact = add(session, "Maria")
    rows = session.execute(select(StageChange).where(StageChange.contact_id == contact.id)).all()
    assert len(rows) == 1
    change = rows[0][0]
    assert (change.from_stage, change.to_stage, change.at) == (None, "awareness", NOW)


def test_add_matches_the_stage_case_insensitively(session):
    contact = add(session, "Maria", stage="  INTEREST ")
    assert contact.stage == "interest"
    assert stage_changes(session, contact.id) == [(None, "interest", None)]


def test_add_refuses_an_unknown_stage(session):
    with pytest.raises(ValidationError) as caught:
        add(session, "Maria", stage="prospect")
    assert caught.value.field == "stage"
    assert "awareness" in caught.value.message


def test_add_as_lost_needs_a_reason(session):
    with pytest.raises(ValidationError):
        add(session, "Maria", stage="lost")
    lost = add(session, "Maria", stage="Lost", lost_reason="no budget")
    assert (lost.stage, lost.lost_reason) == ("lost", "no budget")


def test_add_folds_and_deduplicates_tags(session):
    contact = add(session, "Maria", tags=["VIP", "vip", "#Vip", "Βασικός", " vip "])
    assert contact.tags == ["vip", "βασικοσ"]
    tag_names = session.execute(select(Tag.name).order_by(Tag.name)).scalars().all()
    assert tag_names == ["vip", "βασικοσ"]


def test_add_reuses_existing_tags(session):
    add(session, "Maria", tags=["vip"])
    add(session, "Ali", tags=["VIP"])
    assert session.execute(select(func.count()).select_from(Tag)).scalar_one() == 1
    assert listed(session, tag="vip") == ["Ali", "Maria"]


@pytest.mark.parametrize("tag", ["", "#", "a,b"])
def test_add_refuses_an_invalid_tag(session, tag):
    with pytest.raises(ValidationError):
        add(session, "Maria", tags=[tag])


def test_add_keeps_extra_fields(session):
    contact = add(session, "Maria", extra={"birthday": "1990-05-01", "تولد": "۱۳۶۹"})
    assert contact.extra == {"birthday": "1990-05-01", "تولد": "۱۳۶۹"}
    assert get_contact(session, contact.id).to_json()["extra"] == contact.extra


def test_contact_json_has_the_documented_keys_in_order(session):
    contact = add(session, "Maria", value="10", tags=["b", "a"])
    data = contact.to_json()
    assert list(data) == [
        "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
        "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
        "score", "lost_reason", "open_deals", "created_at", "updated_at",
    ]  # fmt: skip
    assert data["tags"] == ["a", "b"]
    assert data["created_at"] == "2026-03-02T09:30:00+00:00"


# ------------------------------------------------------------- duplicates


def test_same_email_in_another_case_is_a_duplicate(session):
    first = add(session, "Maria Lopez", email="maria@example.com")
    with pytest.raises(DuplicateError) as caught:
        add(session, "M. Lopez-Garcia", email="MARIA@example.com")
    assert [c.id for c in caught.value.duplicates] == [first.id]
    assert f"#{first.id} Maria Lopez" in caught.value.message


def test_same_phone_written_differently_is_a_duplicate(session):
    set_setting(session, "default_region", "DE", now=NOW)
    first = add(session, "Hans Berlin", phone="+49 30 12345678")
    with pytest.raises(DuplicateError) as caught:
        add(session, "Johann Schmidt", phone="030 1234 5678")
    assert [c.id for c in caught.value.duplicates] == [first.id]


def test_very_similar_name_at_the_same_company_is_a_duplicate(session):
    first = add(session, "Maria Papadopoulou", company="Acme")
    with pytest.raises(DuplicateError) as caught:
        add(session, "maria papadopulou", company="ACME")
    assert [c.id for c in caught.value.duplicates] == [first.id]


def test_same_name_at_another_company_is_not_a_duplicate(session):
    add(session, "Maria Papadopoulou", company="Acme")
    other = add(session, "Maria Papadopoulou", company="Globex Shipping")
    assert other.company == "Globex Shipping"


def test_force_adds_a_duplicate_anyway(session):
    add(session, "Maria Lopez", email="maria@example.com")
    add(session, "Maria Lopez", email="maria@example.com", force=True)
    assert count_contacts(session) == 2


def test_a_trashed_contact_is_not_a_duplicate(session):
    old = add(session, "Maria Lopez", email="maria@example.com")
    trash_contact(session, old.id, now=NOW)
    assert add(session, "Maria Lopez", email="maria@example.com").id != old.id


def test_name_written_surname_first_at_the_same_company_is_a_duplicate(session):
    add(session, "Maria Papadopoulou", company="Acme")
    with pytest.raises(DuplicateError):
        add(session, "Papadopoulou Maria", company="Acme")


def test_same_email_is_a_duplicate_even_among_many_similar_names(session):
    session.execute(
        insert(Contact),
        [
            dict(
                name=f"Maria {n}",
                name_folded=f"maria {n}",
                stage="awareness",
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(2100)
        ],
    )
    add(session, "Zed Zorba", email="zed@example.com")
    with pytest.raises(DuplicateError):
        add(session, "Maria Q", email="zed@example.com")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "Maria Lopez", "email": "maria@example.com"}, DuplicateError),
        ({"name": "Someone", "email": "not an email"}, ValidationError),
        ({"name": "Someone", "value": "-3"}, ValidationError),
        ({"name": "Someone", "stage": "lost"}, ValidationError),
        ({"name": "Someone", "tags": ["ok", "a,b"]}, ValidationError),
    ],
)
def test_a_refused_add_writes_nothing(engine, fields, error):
    with session_scope(engine) as session:
        add(session, "Maria Lopez", email="maria@example.com", tags=["vip"])
    before = row_counts(engine)
    with pytest.raises(error), session_scope(engine) as session:
        add_contact(session, ContactInput(**fields), now=NOW)
    assert row_counts(engine) == before


# ------------------------------------------------------------------ list


@pytest.fixture
def shop(session):
    """A few contacts with different stages, owners, sources and tags."""
    add(session, "Maria Lopez", stage="interest", owner="Alice", source="referral", tags=["vip"])
    add(session, "Ali Rezaei", stage="decision", owner="bob", source="Website", tags=["vip"])
    add(session, "Γιώργος Παπαδόπουλος", owner="alice", source="walk-in", notes="likes olives")
    add(session, "Sara Kim", stage="interest", owner="carol", source="website", tags=["cold"])
    return session


def test_list_filters_by_stage_case_insensitively(shop):
    assert listed(shop, stage="INTEREST") == ["Maria Lopez", "Sara Kim"]


def test_list_refuses_an_unknown_stage(shop):
    with pytest.raises(ValidationError):
        listed(shop, stage="prospect")


def test_list_filters_by_tag(shop):
    assert listed(shop, tag="VIP") == ["Ali Rezaei", "Maria Lopez"]
    assert listed(shop, tag="nobody-has-this") == []


def test_list_filters_by_owner_and_source_ignoring_case(shop):
    assert listed(shop, owner="ALICE") == ["Maria Lopez", "Γιώργος Παπαδόπουλος"]
    assert listed(shop, source="WEBSITE") == ["Ali Rezaei", "Sara Kim"]


def test_list_filters_by_search(shop):
    assert listed(shop, search="olive") == ["Γιώργος Παπαδόπουλος"]
    assert listed(shop, search="γιωργος") == ["Γιώργος Παπαδόπουλος"]


def test_list_combines_filters(shop):
    assert listed(shop, stage="interest", tag="vip", owner="alice") == ["Maria Lopez"]
    assert listed(shop, stage="interest", source="referral", tag="cold") == []
    assert count_contacts(shop, ContactFilter(owner="alice")) == 2


def test_list_filters_by_a_non_latin_owner(session):
    add(session, "Maria", owner="Σοφία")
    assert listed(session, owner="Σοφία") == ["Maria"]


def test_list_leaves_out_trashed_contacts_unless_asked(shop):
    trash_contact(shop, "sara", now=NOW)
    assert "Sara Kim" not in listed(shop)
    assert names(list_contacts(shop, deleted=True)) == ["Sara Kim"]


def test_list_sorts_by_folded_name_across_scripts(session):
    for name in ["Zoë", "élodie", "Γιώργος", "Άννα", "علی", "Bob", "ali", "Ωρίων", "ELENI"]:
        add(session, name, force=True)
    assert listed(session) == sorted(
        ["Zoë", "élodie", "Γιώργος", "Άννα", "علی", "Bob", "ali", "Ωρίων", "ELENI"], key=fold
    )
    assert listed(session)[:5] == ["ali", "Bob", "ELENI", "élodie", "Zoë"]
    assert listed(session)[5:7] == ["Άννα", "Γιώργος"]


def test_list_sorts_by_score_highest_first_then_name(session):
    for name, score in [("Carl", 10), ("Anna", 50), ("Bea", 10), ("Dan", 0)]:
        contact = add(session, name)
        session.execute(update(Contact).where(Contact.id == contact.id).values(score=score))
    assert listed(session, sort="score") == ["Anna", "Bea", "Carl", "Dan"]


def test_list_sorts_by_created_newest_first(session):
    add(session, "Old", now=NOW - timedelta(days=30))
    add(session, "New", now=NOW)
    add(session, "Middle", now=NOW - timedelta(days=3))
    assert listed(session, sort="created") == ["New", "Middle", "Old"]


def test_list_sorts_by_updated_most_recent_first(session):
    for name in ["Anna", "Bea", "Carl"]:
        add(session, name, now=NOW - timedelta(days=10))
    edit(session, "anna", fields={"city": "Athens"}, now=NOW)
    edit(session, "carl", fields={"city": "Tehran"}, now=NOW - timedelta(days=1))
    assert listed(session, sort="updated") == ["Anna", "Carl", "Bea"]


def test_list_sorts_by_next_open_follow_up(session):
    later = add(session, "Later")
    sooner = add(session, "Sooner")
    only_done = add(session, "Only Done")
    add(session, "Aaron None")
    add_followup(session, later.id, NOW + timedelta(days=3))
    add_followup(session, later.id, NOW + timedelta(days=9))
    add_followup(session, sooner.id, NOW + timedelta(hours=2))
    add_followup(session, only_done.id, NOW - timedelta(days=5), done_at=NOW - timedelta(days=4))
    assert listed(session, sort="next") == ["Sooner", "Later", "Aaron None", "Only Done"]


def test_list_limit(session):
    for name in ["Anna", "Bea", "Carl"]:
        add(session, name)
    assert names(list_contacts(session, limit=2)) == ["Anna", "Bea"]
    assert names(list_contacts(session, limit=0)) == []


@pytest.mark.parametrize(("options"), [{"sort": "age"}, {"limit": -1}])
def test_list_refuses_an_unknown_sort_or_negative_limit(session, options):
    add(session, "Anna")
    with pytest.raises(UserError):
        list(list_contacts(session, **options))


def insert_many_tagged_contacts(session, count):
    """Bulk rows through Core (fast), each with tags that depend on its number."""
    session.execute(
        insert(Contact),
        [
            dict(
                name=f"Contact {n:05d}",
                name_folded=f"contact {n:05d}",
                stage="awareness",
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(count)
        ],
    )
    tag_ids = {}
    for name in ["even", "odd", "fizz", "buzz"]:
        tag = Tag(name=name)
        session.add(tag)
        session.flush()
        tag_ids[name] = tag.id
    ids = session.execute(select(Contact.id).order_by(Contact.name_folded)).scalars().all()
    links = []
    for n, contact_id in enumerate(ids):
        for tag in expected_tags(n):
            links.append(dict(contact_id=contact_id, tag_id=tag_ids[tag]))
    session.execute(insert(ContactTag), links)


def expected_tags(n):
    tags = ["even" if n % 2 == 0 else "odd"]
    if n % 3 == 0:
        tags.append("fizz")
    if n % 5 == 0:
        tags.append("buzz")
    return sorted(tags)


def test_list_streams_many_contacts_with_the_right_tags(session):
    insert_many_tagged_contacts(session, 1203)
    contacts = list(list_contacts(session))
    assert len(contacts) == 1203
    for n, contact in enumerate(contacts):
        assert contact.name == f"Contact {n:05d}"
        assert contact.tags == expected_tags(n), contact.name


# ---------------------------------------------------------------- update


def test_update_changes_and_normalises_fields(session):
    contact = add(session, "Maria Lopez")
    changed = edit(
        session,
        contact.id,
        fields={
            "email": "MARIA@Example.com",
            "company": " Acme ",
            "value": "2,000",
            "name": "Maria L",
        },
        now=NOW + timedelta(hours=1),
    )
    assert (changed.email, changed.company, changed.value_cents) == (
        "MARIA@example.com",
        "Acme",
        200000,
    )
    assert changed.updated_at == NOW + timedelta(hours=1)
    assert changed.created_at == NOW
    assert session.get(Contact, contact.id).name_folded == "maria l"
    assert get_contact(session, "maria l").id == contact.id


def test_update_clears_a_field_given_empty(session):
    contact = add(session, "Maria", company="Acme", value="10")
    changed = edit(session, contact.id, fields={"company": "", "value": ""})
    assert (changed.company, changed.value_cents) == (None, None)


def test_update_refuses_an_unknown_field(session):
    contact = add(session, "Maria")
    with pytest.raises(UserError) as caught:
        edit(session, contact.id, fields={"score": "100"})
    assert "score" in caught.value.message


def test_update_refuses_an_empty_name_or_stage(session):
    contact = add(session, "Maria")
    with pytest.raises(ValidationError):
        edit(session, contact.id, fields={"name": " "})
    with pytest.raises(ValidationError):
        edit(session, contact.id, fields={"stage": ""})


def test_update_adds_and_removes_tags(session):
    contact = add(session, "Maria", tags=["cold", "newsletter"])
    changed = edit(session, contact.id, add_tags=["VIP", "vip"], remove_tags=["COLD", "absent"])
    assert changed.tags == ["newsletter", "vip"]
    assert listed(session, tag="cold") == []


def test_update_sets_and_removes_extra_keys(session):
    contact = add(session, "Maria", extra={"birthday": "1990-05-01", "shoe": "38"})
    changed = edit(session, contact.id, set_extra={"shoe": "", "color": "red"})
    assert changed.extra == {"birthday": "1990-05-01", "color": "red"}
    cleared = edit(session, contact.id, set_extra={"birthday": "", "color": ""})
    assert cleared.extra == {}
    assert session.get(Contact, contact.id).extra is None


def test_update_stage_records_the_move(session):
    contact = add(session, "Maria")
    later = NOW + timedelta(days=2)
    moved = edit(session, contact.id, fields={"stage": "DECISION"}, now=later)
    assert moved.stage == "decision"
    assert moved.stage_entered_at == later
    assert stage_changes(session, contact.id) == [
        (None, "awareness", None),
        ("awareness", "decision", None),
    ]


def test_update_to_the_same_stage_records_nothing(session):
    contact = add(session, "Maria", stage="interest")
    edit(session, contact.id, fields={"stage": "Interest"})
    assert stage_changes(session, contact.id) == [(None, "interest", None)]


def test_moving_to_lost_keeps_the_reason_and_leaving_lost_clears_it(session):
    contact = add(session, "Maria")
    lost = edit(session, contact.id, fields={"stage": "lost"}, stage_reason="no budget")
    assert lost.lost_reason == "no budget"
    back = edit(session, contact.id, fields={"stage": "interest"})
    assert back.lost_reason is None
    assert stage_changes(session, contact.id) == [
        (None, "awareness", None),
        ("awareness", "lost", "no budget"),
        ("lost", "interest", None),
    ]


def test_moving_to_lost_with_a_lost_reason_field(session):
    contact = add(session, "Maria")
    edit(session, contact.id, fields={"stage": "lost", "lost_reason": "went elsewhere"})
    assert stage_changes(session, contact.id)[-1] == ("awareness", "lost", "went elsewhere")


def test_moving_to_lost_without_a_reason_is_refused_and_writes_nothing(engine):
    with session_scope(engine) as session:
        contact = add(session, "Maria", tags=["vip"])
    before = row_counts(engine)
    with pytest.raises(ValidationError) as caught, session_scope(engine) as session:
        edit(session, contact.id, fields={"stage": "lost", "name": "Renamed"}, add_tags=["x"])
    assert caught.value.field == "lost_reason"
    assert row_counts(engine) == before
    with session_scope(engine, write=False) as session:
        unchanged = get_contact(session, contact.id)
    assert (unchanged.name, unchanged.stage, unchanged.version) == ("Maria", "awareness", 1)


def test_a_refused_update_after_field_changes_writes_nothing(engine):
    with session_scope(engine) as session:
        contact = add(session, "Maria", company="Acme")
    with pytest.raises(ValidationError), session_scope(engine) as session:
        edit(session, contact.id, fields={"company": "Globex"}, add_tags=["a,b"])
    with session_scope(engine, write=False) as session:
        assert get_contact(session, contact.id).company == "Acme"


def test_update_increments_the_version(session):
    contact = add(session, "Maria")
    assert contact.version == 1
    assert edit(session, contact.id, fields={"city": "Athens"}).version == 2
    assert edit(session, contact.id, add_tags=["vip"]).version == 3


def test_update_with_a_stale_version_is_a_conflict(session):
    contact = add(session, "Maria")
    edit(session, contact.id, fields={"city": "Athens"}, expected_version=1)
    with pytest.raises(ConflictError):
        edit(session, contact.id, fields={"city": "Tehran"}, expected_version=1)
    assert get_contact(session, contact.id).city == "Athens"


def test_update_of_an_unknown_ref_is_not_found(session):
    with pytest.raises(NotFoundError):
        edit(session, "nobody", fields={"city": "Athens"})


# ----------------------------------------------------------------- trash


def test_trash_and_restore(session):
    contact = add(session, "Maria")
    trashed = trash_contact(session, "maria", now=NOW + timedelta(hours=1))
    assert trashed.deleted_at == NOW + timedelta(hours=1)
    assert trashed.version == 2
    assert listed(session) == []
    assert names(list_trash(session)) == ["Maria"]
    restored = restore_contact(session, "maria", now=NOW + timedelta(hours=2))
    assert restored.deleted_at is None
    assert restored.updated_at == NOW + timedelta(hours=2)
    assert restored.version == 3
    assert listed(session) == ["Maria"]
    assert list_trash(session) == []
    assert get_contact(session, contact.id).id == contact.id


def test_trash_of_a_trashed_contact_and_restore_of_a_live_one_are_not_found(session):
    contact = add(session, "Maria")
    with pytest.raises(NotFoundError):
        restore_contact(session, contact.id)
    trash_contact(session, contact.id)
    with pytest.raises(NotFoundError):
        trash_contact(session, contact.id)


def test_trash_lists_the_most_recently_trashed_first(session):
    for hours, name in enumerate(["Anna", "Bea", "Carl"]):
        add(session, name)
        trash_contact(session, name, now=NOW + timedelta(hours=hours))
    assert names(list_trash(session)) == ["Carl", "Bea", "Anna"]


def rows_of(session, model, contact_id):
    return session.execute(
        select(func.count()).select_from(model).where(model.contact_id == contact_id)
    ).scalar_one()


@pytest.mark.parametrize("trash_first", [False, True])
def test_purge_deletes_the_contact_and_everything_about_it(session, trash_first):
    kept = add(session, "Kept", tags=["vip"])
    add_interaction(session, kept.id, "kept call")
    contact = add(session, "Maria", tags=["vip"])
    edit(session, contact.id, fields={"stage": "interest"})
    add_interaction(session, contact.id, "called about olives")
    add_followup(session, contact.id, NOW + timedelta(days=1))
    if trash_first:
        trash_contact(session, contact.id)
    related = (Interaction, FollowUp, StageChange, ContactTag)
    assert [rows_of(session, model, contact.id) for model in related] == [1, 1, 2, 1]
    gone = purge_contact(session, contact.id)
    assert gone.name == "Maria"
    assert session.execute(select(Contact).where(Contact.id == contact.id)).first() is None
    assert [rows_of(session, model, contact.id) for model in related] == [0, 0, 0, 0]
    assert [rows_of(session, model, kept.id) for model in related] == [1, 0, 1, 1]
    with pytest.raises(NotFoundError):
        get_contact(session, contact.id, deleted=True)


def test_purge_of_an_unknown_contact_is_not_found(session):
    with pytest.raises(NotFoundError):
        purge_contact(session, "nobody")
