"""Dedupe and merge through the service layer."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from sqlalchemy import func, select, text, update

from minicrm.db import session_scope
from minicrm.errors import AmbiguousRefError, NotFoundError, UserError
from minicrm.models import (
    Cadence,
    Contact,
    ContactTag,
    Deal,
    FollowUp,
    Interaction,
    StageChange,
)
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.deals.stages import move_stage
from minicrm.services.dedupe import contacts as dedupe
from minicrm.services.dedupe import merging
from minicrm.services.dedupe.contacts import (
    SAME_EMAIL,
    SAME_PHONE,
    SIMILAR_NAME,
    find_duplicate_groups,
)
from minicrm.services.dedupe.merging import merge_contacts
from minicrm.services.followups.cadence import set_cadence
from minicrm.services.followups.followups import add_followup
from minicrm.services.followups.interactions import last_interaction_at, log_interaction
from minicrm.services.records.contacts import get_contact, resolve_ref
from minicrm.services.scoring.scores import refresh_score
from minicrm.text import fold

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EARLIER = NOW - timedelta(days=40)
TABLES = ("contact", "contact_tag", "tag", "interaction", "followup", "stage_change", "cadence")


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=True, now=EARLIER)


def ids_of(groups):
    return [[c.id for c in g.contacts] for g in groups]


def snapshot(session):
    """Rows per table, and a checksum of every contact row."""
    counts = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    rows = session.execute(text("SELECT * FROM contact ORDER BY id")).all()
    return counts, hashlib.sha256(repr(rows).encode()).hexdigest()


# ------------------------------------------------------------------ finding


def test_same_email_groups_case_insensitively(session):
    a = add(session, "Maria Lopez", email="Maria@Example.com")
    b = add(session, "M. L.", email="maria@example.com")
    add(session, "Someone Else", email="someone@example.com")
    [group] = find_duplicate_groups(session)
    assert [c.id for c in group.contacts] == [a.id, b.id]
    assert group.reasons == [SAME_EMAIL]
    assert group.similarity == 100


def test_same_phone_groups_numbers_typed_differently_but_stored_as_e164(session):
    a = add(session, "Ann", phone="(415) 555-2671")
    b = add(session, "Bob", phone="+1 415 555 2671")
    [group] = find_duplicate_groups(session)
    assert [c.phone for c in group.contacts] == ["+14155552671", "+14155552671"]
    assert ids_of([group]) == [[a.id, b.id]]
    assert (group.reasons, group.similarity) == ([SAME_PHONE], 100)


def test_phones_kept_as_typed_are_compared_by_their_digits(session):
    a = add(session, "Ann", phone="555-0100 x12")
    b = add(session, "Bob", phone="555 0100 x 12")
    c = add(session, "Cid", phone="+14155552671")
    d = add(session, "Dee", phone="00 1 415 555 2671")  # 00 dials out like +
    add(session, "Eve", phone="ext 12")
    add(session, "Fay", phone="x 12")  # too few digits to mean a person
    assert b.phone == "555 0100 x 12" and d.phone == "00 1 415 555 2671"  # kept as typed
    groups = find_duplicate_groups(session)
    assert ids_of(groups) == [[a.id, b.id], [c.id, d.id]]
    assert all(g.reasons == [SAME_PHONE] for g in groups)


def test_similar_name_at_similar_company_groups_with_the_rapidfuzz_score(session):
    a = add(session, "Jonathan Smithers", company="Davis & Sons")
    b = add(session, "Jonathon Smithers", company="Davis and Sons")
    c = add(session, "Smithers Jonathan", company="davis & sons")  # word order, case
    [group] = find_duplicate_groups(session)
    assert [x.id for x in group.contacts] == [a.id, b.id, c.id]
    assert group.reasons == [SIMILAR_NAME]
    name_score = round(fuzz.token_sort_ratio(fold(a.name), fold(b.name)))
    company_score = round(fuzz.token_set_ratio("davis & sons", "davis and sons"))
    assert (name_score, company_score) == (94, 91)
    assert group.similarity == 91  # the weaker of the two


def test_identical_name_without_any_company_groups_but_one_company_missing_does_not(session):
    a = add(session, "Maria Lopez")
    b = add(session, "maria  LOPEZ")
    add(session, "Maria Lopez", company="Acme Bakery")
    [group] = find_duplicate_groups(session)
    assert ids_of([group]) == [[a.id, b.id]]
    assert (group.reasons, group.similarity) == ([SIMILAR_NAME], 100)


def test_same_name_at_different_companies_does_not_group(session):
    add(session, "Maria Lopez", company="Acme Bakery")
    add(session, "Maria Lopez", company="Harbor View Hotel")
    add(session, "Maria Lopes", company="Pixel Forge Studio")
    add(session, "Robert Anderson", company="Navarro Hardware")
    add(session, "Robert Anderson", company="Navarro Bakery")
    assert find_duplicate_groups(session) == []


def test_names_folded_across_keyboards_match(session):
    a = add(session, "علي رضايي", company="كافه نارنج")  # Arabic yeh and kaf
    b = add(session, "علی رضایی", company="کافه نارنج")  # Persian keyboard
    [group] = find_duplicate_groups(session)
    assert ids_of([group]) == [[a.id, b.id]]
    assert group.similarity == 100


def test_threshold_decides_how_close_names_must_be(session):
    add(session, "Mario Rossi", company="Rossi & Figli")
    add(session, "Maria Rossi", company="Rossi & Figli")
    assert [g.similarity for g in find_duplicate_groups(session)] == [91]
    assert find_duplicate_groups(session, threshold=95) == []
    for bad in (0, 101):
        with pytest.raises(UserError, match="between 1 and 100"):
            dedupe.iter_duplicate_groups(session, threshold=bad)  # before any iteration


def test_groups_are_connected_components_with_every_reason_and_the_weakest_link(session):
    a = add(session, "Ann Smith", email="ann@example.com")
    b = add(session, "A. S.", email="ann@example.com", phone="+14155552671")
    c = add(session, "Jonathan Smithers", phone="+14155552671")
    d = add(session, "Jonathon Smithers")  # like c, and neither has a company
    e = add(session, "Unrelated", email="else@example.com")
    [group] = find_duplicate_groups(session)
    assert [x.id for x in group.contacts] == [a.id, b.id, c.id, d.id]
    assert e.id not in ids_of([group])[0]
    assert group.reasons == [SAME_EMAIL, SAME_PHONE, SIMILAR_NAME]
    assert group.similarity == 94


def test_trashed_contacts_are_ignored_and_bridge_nothing(session):
    a = add(session, "Ann", email="ann@example.com")
    bridge = add(session, "Bob", email="ann@example.com", phone="+14155552671")
    c = add(session, "Cid", phone="+14155552671")
    add(session, "Dee Trash", company="X")
    gone = add(session, "Dee Trash", company="X")
    assert ids_of(find_duplicate_groups(session)) == [[a.id, bridge.id, c.id], [4, gone.id]]
    trash_contact(session, bridge.id, now=NOW)
    trash_contact(session, gone.id, now=NOW)
    assert find_duplicate_groups(session) == []


def test_group_members_are_full_read_models_with_tags(session):
    a = add(session, "Ann", email="ann@example.com", tags=["vip"], extra={"k": "v"})
    add(session, "Ann B", email="ann@example.com")
    [group] = find_duplicate_groups(session)
    assert group.contacts[0] == get_contact(session, a.id)
    assert group.contacts[0].tags == ["vip"] and group.contacts[0].extra == {"k": "v"}
    assert group.to_json()["contacts"][0] == a.to_json()
    assert list(group.to_json()) == ["contacts", "reasons", "similarity"]


def test_blocked_name_pairs_equal_a_brute_force_over_names_sharing_a_word_start():
    rng = random.Random(3)
    parts = ["mar", "ia", "io", "ro", "ssi", "lop", "ez", "es", "an", "na", "jo", "hn"]
    names = sorted(
        {" ".join("".join(rng.choices(parts, k=3)) for _ in range(2)) for _ in range(400)}
    )
    found = {(a, b): s for a, b, s in dedupe._similar_name_pairs(names, 80)}
    expected = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            starts = {w[:3] for w in a.split()} & {w[:3] for w in b.split()}
            score = fuzz.ratio(a, b)
            if starts and score >= 80:
                expected[(a, b) if a < b else (b, a)] = round(score)
    assert len(expected) > 20  # enough pairs for the comparison to mean something
    assert found == expected


# ------------------------------------------------------------------- merging


@pytest.fixture
def people(session, monkeypatch):
    """KEEP with little filled in, and two others with history of their own."""
    monkeypatch.setenv("CRM_USER", "sara")
    keep = add(session, "Maria Lopez", phone="+14155552671", tags=["vip"], extra={"a": "1"})
    one = add(
        session, "Maria L.", email="maria@x.com", company="Acme", city="Oslo",
        tags=["vip", "wholesale"], extra={"a": "2", "b": "3"}, stage="interest",
    )  # fmt: skip
    two = add(session, "M. Lopez", title="buyer", city="Bergen", company="Other Co", tags=["new"])
    bystander = add(session, "Bystander", tags=["wholesale"])
    for contact, count in ((keep, 1), (one, 2), (two, 3), (bystander, 1)):
        for n in range(count):
            log_interaction(session, contact.id, "call", f"call {n}", at=EARLIER, now=EARLIER)
    add_followup(session, one.id, NOW + timedelta(days=1), "ring back", now=EARLIER)
    add_followup(session, two.id, NOW + timedelta(days=2), "quote", now=EARLIER)
    move_stage(session, two.id, "decision", now=EARLIER + timedelta(days=1))
    set_cadence(session, "30d", ref=str(one.id), now=EARLIER)
    set_cadence(session, "60d", ref=str(two.id), now=EARLIER)
    session.flush()
    return keep, one, two, bystander


def rows_of(session, model, contact_id):
    return session.execute(
        select(func.count()).select_from(model).where(model.contact_id == contact_id)
    ).scalar()


def test_merge_moves_every_kind_of_row_and_deletes_the_others(session, people):
    keep, one, two, bystander = people
    before, _ = snapshot(session)
    result = merge_contacts(session, keep.id, [one.id, str(two.id)], now=NOW)
    after, _ = snapshot(session)
    assert result.moved == {
        "deals": 2, "interactions": 5, "followups": 2, "stage_changes": 3, "tags": 2,
        "cadence": 1,
    }  # fmt: skip
    assert (
        session.execute(
            select(func.count()).select_from(Deal).where(Deal.contact_id == keep.id)
        ).scalar()
        == 3
    )
    assert after["contact"] == before["contact"] - 2
    assert after["interaction"] == before["interaction"] + 2  # one merge note per other
    assert after["followup"] == before["followup"]
    assert after["stage_change"] == before["stage_change"]
    assert after["cadence"] == before["cadence"] - 1  # KEEP took one's, two's went with two
    assert rows_of(session, Interaction, keep.id) == 1 + 5 + 2
    assert rows_of(session, FollowUp, keep.id) == 2
    assert rows_of(session, StageChange, keep.id) == 1 + 3
    assert session.execute(select(Cadence.every_days).where(Cadence.contact_id == keep.id)).all()
    for gone in (one, two):
        assert session.get(Contact, gone.id) is None
        for model in (Deal, Interaction, FollowUp, StageChange, ContactTag):
            assert rows_of(session, model, gone.id) == 0
    assert rows_of(session, Interaction, bystander.id) == 1
    assert get_contact(session, bystander.id).tags == ["wholesale"]
    assert [c.id for c in result.merged] == [one.id, two.id]


def test_merge_fills_only_empty_fields_in_the_order_given_and_unions_tags(session, people):
    keep, one, two, _ = people
    result = merge_contacts(session, keep.id, [one.id, two.id], now=NOW)
    merged = result.contact
    assert merged.name == "Maria Lopez"
    assert merged.phone == "+14155552671"  # KEEP's own, not replaced
    assert merged.email == "maria@x.com"
    assert merged.company == "Acme"  # one's, not two's: first non-empty in order
    assert merged.city == "Oslo"
    assert merged.title == "buyer"
    # KEEP now has three open deals (its own, one's, two's, all opened at
    # EARLIER); its stage is its current deal's: the newest open one, two's.
    assert (merged.stage, merged.open_deals) == ("decision", 3)
    assert merged.company_id is not None  # the company link came with the name
    assert merged.extra == {"a": "1", "b": "3"}
    assert merged.tags == ["new", "vip", "wholesale"]
    assert result.filled == ["email", "company", "title", "city", "extra.b"]
    assert merged.updated_at == NOW and merged.version == keep.version + 1
    assert resolve_ref(session, "maria@x.com").id == keep.id


def test_merge_writes_an_event_per_other_in_keeps_timeline(session, people):
    keep, one, two, _ = people
    merge_contacts(session, keep.id, [one.id, two.id], now=NOW)
    notes = session.execute(
        select(Interaction.summary, Interaction.owner, Interaction.kind, Interaction.at)
        .where(Interaction.contact_id == keep.id, Interaction.at == NOW)
        .order_by(Interaction.id)
    ).all()
    assert notes == [
        (f"Merged #{one.id} Maria L. (maria@x.com) into this contact", "sara", "merge", NOW),
        (f"Merged #{two.id} M. Lopez into this contact", "sara", "merge", NOW),
    ]
    # an event, not a contact with the customer: the last contact is not the merge
    last = last_interaction_at(session, keep.id)
    assert last is None or last < NOW


def test_merge_keeps_the_others_stage_history_as_it_was(session, people):
    keep, _, two, _ = people
    theirs = session.execute(
        select(StageChange.from_stage, StageChange.to_stage, StageChange.at)
        .where(StageChange.contact_id == two.id)
        .order_by(StageChange.id)
    ).all()
    merge_contacts(session, keep.id, [two.id], now=NOW)
    moved = session.execute(
        select(StageChange.from_stage, StageChange.to_stage, StageChange.at)
        .where(StageChange.contact_id == keep.id)
        .order_by(StageChange.id)
    ).all()
    assert moved[1:] == theirs
    assert moved[0] == (None, "awareness", EARLIER)


def test_merge_refreshes_keeps_score(session, people):
    keep, one, two, _ = people
    session.execute(update(Contact).where(Contact.id == keep.id).values(score=-999))
    result = merge_contacts(session, keep.id, [one.id, two.id], now=NOW)
    assert result.contact.score == refresh_score(session, keep.id, now=NOW) != -999
    assert get_contact(session, keep.id).score == result.contact.score


def test_merge_keeps_keeps_own_cadence(session, people):
    keep, one, _, _ = people
    set_cadence(session, "7d", ref=str(keep.id), now=EARLIER)
    result = merge_contacts(session, keep.id, [one.id], now=NOW)
    assert result.moved["cadence"] == 0
    days = session.execute(select(Cadence.every_days).where(Cadence.contact_id == keep.id))
    assert days.scalars().all() == [7]


def test_merge_refuses_keep_among_others_and_names_it(session, people):
    keep, one, _, _ = people
    with pytest.raises(UserError, match=f"#{keep.id} Maria Lopez is the contact to keep"):
        merge_contacts(session, keep.id, [one.id, "Maria Lopez"], now=NOW)


def test_merge_refuses_a_trashed_contact_with_the_way_out(session, people):
    keep, one, two, _ = people
    trash_contact(session, two.id, now=NOW)
    with pytest.raises(UserError, match=f"#{two.id} M. Lopez is in the trash; `crm restore"):
        merge_contacts(session, keep.id, [one.id, two.id], now=NOW)
    with pytest.raises(UserError, match="in the trash"):
        merge_contacts(session, two.id, [one.id], now=NOW)


def test_merge_reports_unknown_and_ambiguous_refs(session, people):
    keep, _, _, _ = people
    with pytest.raises(NotFoundError, match="no contact #999"):
        merge_contacts(session, keep.id, ["999"], now=NOW)
    with pytest.raises(AmbiguousRefError):
        merge_contacts(session, keep.id, ["lopez"], now=NOW)


def test_a_contact_named_twice_is_merged_once(session, people):
    keep, one, _, _ = people
    result = merge_contacts(session, keep.id, [one.id, "maria@x.com"], now=NOW)
    assert [c.id for c in result.merged] == [one.id]


def _committed_people(engine, monkeypatch):
    monkeypatch.setenv("CRM_USER", "sara")
    with session_scope(engine) as session:
        keep = add(session, "Maria Lopez", tags=["vip"])
        one = add(session, "Maria L.", email="maria@x.com", tags=["new"])
        log_interaction(session, one.id, "call", now=EARLIER)
        add_followup(session, one.id, NOW, "ring", now=EARLIER)
    return keep.id, one.id


def test_a_bad_ref_among_others_changes_nothing(engine, monkeypatch):
    keep_id, one_id = _committed_people(engine, monkeypatch)
    with session_scope(engine) as session:
        before = snapshot(session)
    with pytest.raises(NotFoundError), session_scope(engine) as session:
        merge_contacts(session, keep_id, [one_id, "nobody at all"], now=NOW)
    with session_scope(engine) as session:
        assert snapshot(session) == before


def test_a_failure_after_rows_moved_rolls_back_everything(engine, monkeypatch):
    keep_id, one_id = _committed_people(engine, monkeypatch)
    with session_scope(engine) as session:
        before = snapshot(session)

    def fail_midway(keep, others):
        raise RuntimeError("disk full")

    monkeypatch.setattr(merging, "_fill_fields", fail_midway)
    with pytest.raises(RuntimeError, match="disk full"), session_scope(engine) as session:
        merge_contacts(session, keep_id, [one_id], now=NOW)
    with session_scope(engine, write=False) as session:
        assert snapshot(session) == before
        assert rows_of(session, Interaction, one_id) == 1  # the call is still one's
        assert rows_of(session, ContactTag, one_id) == 1


# ------------------------------------------------------- merging with deals


def test_merge_moves_the_others_deals_and_their_history_to_keep(session, people):
    keep, one, two, _ = people
    theirs = session.execute(
        select(Deal.id, Deal.stage).where(Deal.contact_id.in_([one.id, two.id])).order_by(Deal.id)
    ).all()
    assert [stage for _, stage in theirs] == ["interest", "decision"]
    result = merge_contacts(session, keep.id, [one.id, two.id], now=NOW)
    assert result.moved["deals"] == 2
    moved = session.execute(
        select(Deal.id, Deal.contact_id).where(Deal.id.in_([i for i, _ in theirs]))
    ).all()
    assert {contact_id for _, contact_id in moved} == {keep.id}
    history = session.execute(
        select(StageChange.deal_id, StageChange.contact_id, StageChange.to_stage)
        .where(StageChange.deal_id.in_([i for i, _ in theirs]))
        .order_by(StageChange.id)
    ).all()
    assert [(c, s) for _, c, s in history] == [
        (keep.id, "interest"), (keep.id, "awareness"), (keep.id, "decision"),
    ]  # fmt: skip
    # the mirror: KEEP shows its current deal, the newest open one (two's)
    row = session.get(Contact, keep.id)
    assert (row.stage, row.value_cents) == ("decision", None)
    assert result.contact.open_deals == 3


def test_merge_of_a_won_other_keeps_keeps_open_deal_current(session):
    keep = add(session, "Ann Open", value="100")
    won = add(session, "Ann Won", stage="won", value="900")
    result = merge_contacts(session, keep.id, [won.id], now=NOW)
    assert (result.contact.stage, result.contact.value_cents) == ("awareness", 10000)
    assert result.contact.open_deals == 1
    stages = (
        session.execute(select(Deal.stage).where(Deal.contact_id == keep.id).order_by(Deal.id))
        .scalars()
        .all()
    )
    assert stages == ["awareness", "won"]


# ------------------------------------------------------------ companies


from minicrm.services.companies.companies import CompanyInput, add_company  # noqa: E402
from minicrm.services.companies.reading import get_company  # noqa: E402
from minicrm.services.dedupe.companies import (  # noqa: E402
    SAME_DOMAIN,
    find_duplicate_companies,
    merge_companies,
    name_key,
)
from minicrm.services.dedupe.companies import SIMILAR_NAME as SIMILAR_COMPANY  # noqa: E402


def company(session, name, **fields):
    return add_company(session, CompanyInput(name=name, **fields), now=EARLIER)


@pytest.mark.parametrize(
    "name",
    ["Lopez Bakery S.L.", "lopez bakery", "LOPEZ BAKERY, SL", "López Bakery S. L.",
     "Lopez Bakery Ltd.", "Bakery Lopez", "Lopez-Bakery GmbH", "Lopez Bakery & Co."],
)  # fmt: skip
def test_name_key_drops_case_accents_punctuation_and_legal_forms(name):
    assert name_key(name) == "bakery lopez"


def test_name_key_keeps_a_name_that_is_only_a_legal_form():
    assert name_key("S.A.") == "sa"
    assert name_key("Co-op Inc") == "co op"


def test_companies_group_by_domain_and_similar_names_and_chain(session):
    a = company(session, "Lopez Bakery S.L.", domain="lopez.es")
    b = company(session, "lopez bakery")
    c = company(session, "Panadería López", domain="LOPEZ.ES")
    d = company(session, "Acme Inc")
    e = company(session, "ACME Corp.")
    f = company(session, "Acmee")  # ratio("acme", "acmee") = 89: below 90
    company(session, "Other Shop")
    groups = find_duplicate_companies(session)
    assert [[x.id for x in g.companies] for g in groups] == [[a.id, b.id, c.id], [d.id, e.id]]
    assert groups[0].reasons == [SAME_DOMAIN, SIMILAR_COMPANY]
    assert groups[1].reasons == [SIMILAR_COMPANY]
    assert [g.similarity for g in groups] == [100, 100]
    lower = find_duplicate_companies(session, threshold=85)
    assert [[x.id for x in g.companies] for g in lower][1] == [d.id, e.id, f.id]
    assert lower[1].similarity == 89
    assert list(groups[0].to_json()) == ["companies", "reasons", "similarity"]


def test_trashed_companies_are_not_duplicates(session):
    from minicrm.services.companies.companies import trash_company

    a = company(session, "Lopez Bakery")
    company(session, "Lopez Bakery S.L.")
    trash_company(session, a.id, now=NOW)
    assert find_duplicate_companies(session) == []
    with pytest.raises(UserError, match="between 1 and 100"):
        find_duplicate_companies(session, threshold=0)


def test_merge_companies_moves_people_and_deals_and_fills_fields(session):
    keep = company(session, "Lopez Bakery S.L.", tags=["vip"], extra={"a": "1"})
    other = company(
        session, "lopez bakery", domain="lopez.es", city="Madrid", tags=["food"],
        extra={"a": "2", "b": "3"},
    )  # fmt: skip
    maria = add(session, "Maria", company="lopez bakery")
    deal_id = session.execute(select(Deal.id).where(Deal.contact_id == maria.id)).scalar()
    assert get_contact(session, maria.id).company_id == other.id
    result = merge_companies(session, keep.id, [other.id], now=NOW)
    assert result.moved == {"people": 1, "deals": 1, "tags": 1}
    assert result.filled == ["domain", "city", "extra.b"]
    merged = get_company(session, keep.id)
    assert (merged.domain, merged.city, merged.tags) == ("lopez.es", "Madrid", ["food", "vip"])
    assert merged.extra == {"a": "1", "b": "3"}
    assert (merged.people_count, merged.open_deals, merged.version) == (1, 1, 2)
    contact = get_contact(session, maria.id)
    assert (contact.company, contact.company_id) == ("Lopez Bakery S.L.", keep.id)
    assert "lopez bakery s l" in session.get(Contact, maria.id).search_text
    assert session.get(Deal, deal_id).company_id == keep.id
    with pytest.raises(NotFoundError):
        get_company(session, other.id, deleted=True)  # deleted for good, not trashed
    assert [c.id for c in result.merged] == [other.id]


def test_merge_companies_refuses_keep_among_others(session):
    keep = company(session, "Acme")
    with pytest.raises(UserError, match="is the company to keep"):
        merge_companies(session, keep.id, [keep.id])
    with pytest.raises(UserError, match="at least one company"):
        merge_companies(session, keep.id, [])


WORDS = ["acme", "acmee", "lopez", "lopes", "bakery", "bakers", "shop", "tools", "toolz"]


@settings(max_examples=60, deadline=None)
@given(
    keys=st.sets(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True).map(
            lambda words: " ".join(sorted(words))
        ),
        max_size=25,
    ),
    threshold=st.integers(min_value=50, max_value=100),
)
def test_company_name_pairs_equal_brute_force_within_blocks(keys, threshold):
    from itertools import combinations

    from minicrm.services.dedupe.companies import _similar_pairs

    keys = sorted(keys)
    got = {(a, b): s for a, b, s in _similar_pairs(keys, threshold)}
    expected = {
        (a, b): round(fuzz.ratio(a, b))
        for a, b in combinations(keys, 2)
        if fuzz.ratio(a, b) >= threshold and {w[:3] for w in a.split()} & {w[:3] for w in b.split()}
    }
    assert got == expected
