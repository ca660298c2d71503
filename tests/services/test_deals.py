"""Deals by id: add, list, edit, trash, stages, lines; the line-spec parser."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import Contact, Deal, StageChange
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.deals.deals import (
    DealChanges,
    DealInput,
    add_deal,
    add_deal_lines,
    deal_detail,
    edit_deal,
    lose_deal,
    remove_deal_line,
    restore_deal,
    stage_deal,
    trash_deal,
    win_deal,
)
from minicrm.services.deals.lines import line_total_cents, parse_line_spec
from minicrm.services.deals.listing import DealFilter, count_deals, list_deals
from minicrm.services.deals.products import add_product
from minicrm.services.followups.followups import add_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.records import config

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)


def person(session, name="Maria Lopez", **fields):
    return add_contact(session, ContactInput(name=name, **fields), now=EARLIER)


def deal(session, **fields):
    return add_deal(session, DealInput(**fields), now=NOW)


def contact_row(session, contact_id):
    session.expire_all()
    return session.get(Contact, contact_id)


# ------------------------------------------------------------------ parser


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("GTX Pro x 2", ("GTX Pro", "2", None, "0")),
        ("GTX Pro x 1.5 @ 1,250.50 -10%", ("GTX Pro", "1.5", 125050, "10")),
        ("Delivery x 1 @ 20", ("Delivery", "1", 2000, "0")),
        ("Delivery @ 20", ("Delivery", "1", 2000, "0")),
        ("Box x Large x 3", ("Box x Large", "3", None, "0")),
        ("X-Ray kit ×2 -12.5%", ("X-Ray kit", "2", None, "12.5")),
        ("  spaced   out   x   4  ", ("spaced out", "4", None, "0")),
    ],
)
def test_line_specs(spec, expected):
    parsed = parse_line_spec(spec)
    name, qty, price, discount = expected
    assert (parsed.name, parsed.quantity, parsed.price_cents, parsed.discount) == (
        name, Decimal(qty), price, Decimal(discount),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "error"),
    [("", "cannot read"), ("@ 20", "names no product"),
     ("GTX x 0", "more than 0"), ("GTX x 2 -150%", "0 to 100"), ("GTX x 1,5", "invalid quantity"),
     ("GTX x 2 @ 12,5", "invalid price")],
)  # fmt: skip
def test_bad_line_specs_say_what_is_wrong(spec, error):
    with pytest.raises(UserError, match=error):
        parse_line_spec(spec)


names = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" -&."),
    min_size=1, max_size=30,
).map(lambda s: " ".join(s.split())).filter(lambda s: s and s[0].isalpha())  # fmt: skip
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3)
prices = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
discounts = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)


@settings(max_examples=300, deadline=None)
@given(name=names, quantity=quantities, price=prices, discount=discounts)
def test_a_written_spec_reads_back(name, quantity, price, discount):
    text = f"{name} x {quantity.normalize():f}"
    if price is not None:
        text += f" @ {price // 100}.{price % 100:02d}"
    if discount:
        text += f" -{discount.normalize():f}%"
    parsed = parse_line_spec(text)
    assert parsed.name == name
    assert parsed.quantity == quantity
    assert parsed.price_cents == price
    assert parsed.discount == discount


@settings(max_examples=300, deadline=None)
@given(quantity=quantities, unit=st.integers(0, 10**7), discount=discounts)
def test_line_total_is_rounded_half_up_once(quantity, unit, discount):
    exact = quantity * unit * (100 - discount) / 100
    total = line_total_cents(quantity, unit, discount)
    assert abs(Decimal(total) - exact) <= Decimal("0.5")
    assert total == int(exact + Decimal("0.5")) if exact >= 0 else True


def test_line_total_examples():
    assert line_total_cents(Decimal("2"), 45000, Decimal("10")) == 81000
    assert line_total_cents(Decimal("1"), 5, Decimal("50")) == 3  # 2.5 rounds up
    assert line_total_cents(Decimal("0.333"), 100, Decimal(0)) == 33


# ------------------------------------------------------------------- add


def test_a_deal_for_a_contact_takes_its_company_owner_and_source(session):
    maria = person(session, company="Lopez Bakery", owner="ana", source="referral")
    made = deal(session, contact="maria", value="1,200", close="2026-12-31")
    assert (made.title, made.contact_id, made.contact_name, made.company) == (
        "Maria Lopez", maria.id, "Maria Lopez", "Lopez Bakery",
    )  # fmt: skip
    assert (made.owner, made.source, made.stage, made.value_cents) == (
        "ana", "referral", "awareness", 120000,
    )  # fmt: skip
    assert made.expected_close == date(2026, 12, 31)
    history = session.execute(select(StageChange).where(StageChange.deal_id == made.id)).scalars()
    assert [(c.from_stage, c.to_stage, c.contact_id) for c in history] == [
        (None, "awareness", maria.id)
    ]
    # Her current deal is now the newer open one: the contact mirrors it.
    assert contact_row(session, maria.id).value_cents == 120000


def test_explicit_fields_win_and_a_company_only_deal_is_titled_after_it(session):
    person(session, company="Lopez Bakery", owner="ana")
    made = deal(session, contact="maria", company="Other Co", title=" Spring  order ",
                owner="bob", stage="INTEREST")  # fmt: skip
    assert (made.title, made.company, made.owner, made.stage) == (
        "Spring order", "Other Co", "bob", "interest",
    )  # fmt: skip
    company_only = deal(session, company="lopez bakery")
    assert (company_only.title, company_only.company, company_only.contact_id) == (
        "Lopez Bakery", "Lopez Bakery", None,
    )  # fmt: skip


def test_a_deal_with_neither_contact_nor_company_needs_a_title(session):
    with pytest.raises(ValidationError, match="needs --title"):
        deal(session)
    assert deal(session, title="Walk-in").contact_id is None


def test_close_when_is_a_local_date_and_may_be_in_the_past(session):
    config.set_setting(session, "timezone", "Pacific/Auckland", now=NOW)
    late = NOW + timedelta(hours=3)  # 13:00 UTC on the 23rd is 02:00 on the 24th there
    made = add_deal(session, DealInput(title="a", close="tomorrow"), now=late)
    assert made.expected_close == date(2026, 11, 25)
    assert deal(session, title="b", close="2026-01-02").expected_close == date(2026, 1, 2)
    with pytest.raises(UserError, match="cannot read the date"):
        deal(session, title="c", close="someday")


def test_lost_needs_a_reason_and_won_is_closed_now(session):
    with pytest.raises(ValidationError, match="needs a reason"):
        deal(session, title="x", stage="lost")
    lost = deal(session, title="x", stage="lost", lost_reason="no budget")
    assert (lost.lost_reason, lost.lost_at_stage, lost.closed_at) == ("no budget", None, NOW)
    assert deal(session, title="y", stage="won").closed_at == NOW


def test_lines_make_the_value(session):
    add_product(session, "GTX Pro", price="450", now=NOW)
    made = deal(session, title="Order", lines=["gtxpro x 2 -10%", "Delivery x 1 @ 20",
                                               "GTX PRO x 0.5 @ 100"])  # fmt: skip
    assert made.value_cents == 81000 + 2000 + 5000
    assert [(line.product, line.description, line.total_cents) for line in made.lines] == [
        ("GTX Pro", None, 81000), (None, "Delivery", 2000), ("GTX Pro", None, 5000),
    ]  # fmt: skip
    assert made.to_json()["value"] == 880
    assert made.to_json()["lines"][0] == {
        "id": made.lines[0].id, "product": "GTX Pro", "description": None, "quantity": 2,
        "unit_price": 450, "discount": 10, "total": 810,
    }  # fmt: skip


def test_an_unknown_product_without_a_price_lists_the_closest(session):
    add_product(session, "GTX Pro", price="450", now=NOW)
    add_product(session, "Cable", price="5", now=NOW)
    with pytest.raises(NotFoundError, match="no product 'GTX Prp'; closest: GTX Pro"):
        deal(session, title="x", lines=["GTX Prp x 1"])
    with pytest.raises(UserError, match="drop --value"):
        deal(session, title="x", value="10", lines=["Cable x 1"])
    assert session.execute(select(Deal)).scalars().all() == []


def test_the_unit_price_is_the_products_price_at_the_time(session):
    add_product(session, "Cable", price="5", now=NOW)
    first = deal(session, title="x", lines=["Cable x 3"])
    from minicrm.services.deals.products import edit_product

    edit_product(session, "cable", price="7", now=NOW)
    again = add_deal_lines(session, first.id, ["Cable x 1"], now=NOW)
    assert [line.unit_price_cents for line in again.lines] == [500, 700]
    assert again.value_cents == 2200


# ------------------------------------------------------------------ list


@pytest.fixture
def book(session):
    """Five deals: two of Maria's (one won), one each for Joe and a company,
    and one trashed."""
    maria = person(session, company="Lopez Bakery", owner="ana")
    joe = person(session, "Joe Bloggs", owner="bob")
    ids = {
        "maria_open": deal(session, contact="maria", value="100", close="2026-12-10").id,
        "maria_won": deal(session, contact="maria", value="900", stage="won").id,
        "joe": deal(session, contact="joe", value="50", close="2026-11-30", stage="interest").id,
        "acme": deal(session, company="Acme", value="5000", owner="ana").id,
        "gone": deal(session, title="gone").id,
    }
    trash_deal(session, ids["gone"], now=NOW)
    return {"maria": maria.id, "joe": joe.id, **ids}


def ids_of(session, sort="close", limit=None, **filters):
    return [d.id for d in list_deals(session, DealFilter(**filters), sort=sort, limit=limit,
                                     now=NOW)]  # fmt: skip


def test_list_filters(session, book):
    # Maria's and Joe's first deals (opened with them, no value) are open too.
    firsts = select(Deal.id).where(Deal.title.in_(["Maria Lopez", "Joe Bloggs"]))
    first_deals = list(session.execute(firsts.where(Deal.value_cents.is_(None))).scalars())
    open_ids = {book["maria_open"], book["joe"], book["acme"], *first_deals}
    assert set(ids_of(session)) == open_ids
    assert count_deals(session, DealFilter(), now=NOW) == len(open_ids)
    assert ids_of(session, status="won") == [book["maria_won"]]
    assert set(ids_of(session, status="all")) == open_ids | {book["maria_won"]}
    assert ids_of(session, stage="Interest") == [book["joe"]]
    assert ids_of(session, stage="won") == [book["maria_won"]]  # --stage alone: any status
    assert set(ids_of(session, owner="ANA")) == {book["maria_open"], book["acme"],
                                                 first_deals[0]}  # fmt: skip
    assert set(ids_of(session, company="lopez bakery", status="all")) == {
        book["maria_open"], book["maria_won"], first_deals[0],
    }  # fmt: skip
    assert set(ids_of(session, contact="joe")) == {book["joe"], first_deals[1]}
    assert ids_of(session, closing="2026-12-01") == [book["joe"]]
    assert ids_of(session, closing="end of month") == [book["joe"]]
    assert ids_of(session, closing="2026-12-31") == [book["joe"], book["maria_open"]]
    with pytest.raises(NotFoundError, match="no company"):
        ids_of(session, company="Nobody Ltd")


def test_list_sorts_and_limits(session, book):
    by_value = ids_of(session, sort="value", status="all")
    assert by_value[:4] == [book["acme"], book["maria_won"], book["maria_open"], book["joe"]]
    assert ids_of(session, sort="close")[:2] == [book["joe"], book["maria_open"]]
    assert ids_of(session, sort="value", limit=1) == [book["acme"]]
    with pytest.raises(UserError, match="unknown sort"):
        ids_of(session, sort="size")


def test_stale_deals_have_no_stage_move_and_no_interaction(session):
    maria = person(session)  # her first deal was opened 30 days ago
    add_contact(session, ContactInput(name="Joe", no_deal=True), now=EARLIER)
    fresh = add_deal(session, DealInput(title="fresh"), now=NOW - timedelta(days=2))
    moved = add_deal(session, DealInput(title="moved"), now=EARLIER)
    stage_deal(session, moved.id, "interest", now=NOW - timedelta(days=3))
    joe_deal = add_deal(session, DealInput(contact="joe"), now=EARLIER)
    maria_deal = session.execute(select(Deal).where(Deal.contact_id == maria.id)).scalar()
    assert set(ids_of(session, stale=14)) == {maria_deal.id, joe_deal.id}
    log_interaction(session, "joe", "call", at=NOW - timedelta(days=1), now=NOW)
    assert ids_of(session, stale=14) == [maria_deal.id]
    assert set(ids_of(session, stale=1)) == {maria_deal.id, moved.id, fresh.id}
    win_deal(session, maria_deal.id, now=NOW - timedelta(days=20))
    assert ids_of(session, stale=14) == []
    with pytest.raises(UserError, match="open deals"):
        ids_of(session, stale=14, status="won")


# ------------------------------------------------------------ edit, trash


def test_edit_fields_and_move_to_another_contact(session):
    maria = person(session)
    joe = person(session, "Joe Bloggs")
    made = deal(session, contact="maria", value="10")
    edited = edit_deal(session, made.id, DealChanges(
        fields={"title": "Bigger", "value": "2,500", "close": "2027-01-15", "owner": "bob",
                "company": "Acme", "notes": "call first", "contact": "joe"},
        set_extra={"channel": "web"},
    ), now=NOW)  # fmt: skip
    assert (edited.title, edited.value_cents, edited.expected_close, edited.owner) == (
        "Bigger", 250000, date(2027, 1, 15), "bob",
    )  # fmt: skip
    assert (edited.company, edited.contact_id, edited.notes, edited.extra) == (
        "Acme", joe.id, "call first", {"channel": "web"},
    )  # fmt: skip
    assert (edited.version, edited.updated_at) == (2, NOW)
    # Maria's current deal is her first again; Joe's is the moved one (newer).
    assert contact_row(session, maria.id).value_cents is None
    assert contact_row(session, joe.id).value_cents == 250000
    cleared = edit_deal(
        session,
        made.id,
        DealChanges(fields={"close": "", "company": "", "contact": ""}, set_extra={"channel": ""}),
        now=NOW,
    )
    assert (cleared.expected_close, cleared.company_id, cleared.contact_id, cleared.extra) == (
        None, None, None, {},
    )  # fmt: skip
    with pytest.raises(ValidationError, match="cannot be empty"):
        edit_deal(session, made.id, DealChanges(fields={"title": " "}), now=NOW)
    with pytest.raises(UserError, match="nothing to change"):
        edit_deal(session, made.id, DealChanges(), now=NOW)


def test_a_deal_with_lines_cannot_take_a_typed_value(session):
    made = deal(session, title="x", lines=["Setup x 1 @ 99"])
    with pytest.raises(UserError, match="lines' total"):
        edit_deal(session, made.id, DealChanges(fields={"value": "5"}), now=NOW)


def test_trash_and_restore_keep_the_contact_mirror_in_step(session):
    maria = person(session, no_deal=True)
    made = deal(session, contact="maria", value="70", stage="interest")
    assert contact_row(session, maria.id).stage == "interest"
    trash_deal(session, f"#{made.id}", now=NOW)
    row = contact_row(session, maria.id)
    assert (row.stage, row.value_cents, row.score) == (None, None, None)
    with pytest.raises(NotFoundError, match="is in the trash; `crm deal restore"):
        trash_deal(session, made.id, now=NOW)
    back = restore_deal(session, made.id, now=NOW)
    assert back.deleted_at is None and back.version == 3
    assert contact_row(session, maria.id).stage == "interest"


def test_a_deal_of_a_trashed_contact_is_restored_with_the_contact(session):
    person(session)
    made = deal(session, contact="maria")
    trash_deal(session, made.id, now=NOW)
    trash_contact(session, "maria", now=NOW)
    with pytest.raises(UserError, match="restore it first"):
        restore_deal(session, made.id, now=NOW)


# ---------------------------------------------------------------- stages


def test_stage_won_lost_and_history(session):
    maria = person(session, no_deal=True)
    made = deal(session, contact="maria", value="10")
    with pytest.raises(ValidationError, match="before this deal's last stage change"):
        stage_deal(session, made.id, "decision", at=NOW - timedelta(hours=1), now=NOW)
    later = NOW + timedelta(hours=2)
    moved = stage_deal(session, made.id, "decision", at=NOW + timedelta(hours=1), now=later)
    assert (moved.stage, moved.stage_entered_at, moved.version, moved.updated_at) == (
        "decision", NOW + timedelta(hours=1), 2, later,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="needs a reason"):
        lose_deal(session, made.id, None, now=NOW)
    lost = lose_deal(session, made.id, "no budget", now=later)
    assert (lost.stage, lost.lost_reason, lost.lost_at_stage, lost.closed_at) == (
        "lost", "no budget", "decision", later,
    )  # fmt: skip
    assert contact_row(session, maria.id).lost_reason == "no budget"
    won = win_deal(session, made.id, now=later)
    assert (won.stage, won.lost_reason, won.lost_at_stage) == ("won", None, None)
    with pytest.raises(UserError, match="already in won"):
        win_deal(session, made.id, now=later)
    detail = deal_detail(session, made.id)
    assert [(c.from_stage, c.to_stage, c.reason) for c in detail.history] == [
        (None, "awareness", None), ("awareness", "decision", None),
        ("decision", "lost", "no budget"), ("lost", "won", None),
    ]  # fmt: skip
    assert list(detail.to_json())[-2:] == ["history", "interactions"]


def test_line_add_and_rm_recompute_the_value(session):
    made = deal(session, title="x", value="999")
    added = add_deal_lines(session, made.id, ["Setup x 2 @ 50", "Support x 1 @ 10 -50%"], now=NOW)
    assert added.value_cents == 10500
    removed = remove_deal_line(session, made.id, added.lines[0].id, now=NOW)
    assert (removed.value_cents, len(removed.lines), removed.version) == (500, 1, 3)
    with pytest.raises(NotFoundError, match="has no line"):
        remove_deal_line(session, made.id, added.lines[0].id, now=NOW)
    other = deal(session, title="y")
    with pytest.raises(NotFoundError, match="has no line"):
        remove_deal_line(session, other.id, removed.lines[0].id, now=NOW)
    # The last line gone, the value stays what the lines made it.
    assert remove_deal_line(session, made.id, removed.lines[0].id, now=NOW).value_cents == 500


# ------------------------------------------------ interactions, follow-ups


def test_interactions_and_followups_name_a_deal_of_the_same_contact(session):
    maria = person(session, no_deal=True)
    person(session, "Joe Bloggs", no_deal=True)
    hers = deal(session, contact="maria")
    loose = deal(session, title="no contact yet")
    call = log_interaction(session, "maria", "call", "hi", deal=f"#{hers.id}", now=NOW)
    assert call.deal_id == hers.id and call.to_json()["deal_id"] == hers.id
    assert log_interaction(session, "maria", "note", deal=loose.id, now=NOW).deal_id == loose.id
    with pytest.raises(UserError, match=f"belongs to contact #{maria.id}"):
        log_interaction(session, "joe", "call", deal=hers.id, now=NOW)
    follow = add_followup(session, "maria", NOW + timedelta(days=1), "send quote",
                          deal=hers.id, now=NOW)  # fmt: skip
    assert follow.deal_id == hers.id
    with pytest.raises(UserError, match="belongs to contact"):
        add_followup(session, "joe", NOW + timedelta(days=1), deal=hers.id, now=NOW)
    trash_deal(session, hers.id, now=NOW)
    with pytest.raises(NotFoundError, match="is in the trash; `crm deal restore"):
        log_interaction(session, "maria", "call", deal=hers.id, now=NOW)
    with pytest.raises(UserError, match="not a deal id"):
        log_interaction(session, "maria", "call", deal="big one", now=NOW)
    assert [i.id for i in deal_detail(session, loose.id).interactions] != []


def test_the_streamed_list_reads_deals_exactly_as_read_deal_does(session):
    from minicrm.services.deals.reading import read_deal

    add_product(session, "GTX Pro", price="450", now=NOW)
    person(session, company="Lopez Bakery")
    deal(session, contact="maria", lines=["GTX Pro x 2 -5%", "Delivery x 1 @ 20"],
         close="2026-12-24", owner="ana")  # fmt: skip
    edit_deal(session, 2, DealChanges(set_extra={"channel": "web"}), now=NOW)
    listed = list(list_deals(session, DealFilter(status="all"), sort="updated", now=NOW))
    assert len(listed) == 2
    for item in listed:
        expected = read_deal(session, session.get(Deal, item.id))
        assert item.to_json() == expected.to_json()
        assert item.model_dump() == expected.model_dump()


def test_the_list_streams_batch_after_batch(session, monkeypatch):
    from minicrm.services.deals import listing

    monkeypatch.setattr(listing, "BATCH", 3)
    person(session, no_deal=True)
    for number in range(8):
        deal(session, contact="maria", lines=[f"Item {number} x 1 @ {number}"])
    listed = list(list_deals(session, DealFilter(), sort="value", now=NOW))
    assert [d.value_cents for d in listed] == [700, 600, 500, 400, 300, 200, 100, 0]
    assert [d.lines[0].description for d in listed] == [f"Item {n}" for n in range(7, -1, -1)]
    assert {d.contact_name for d in listed} == {"Maria Lopez"}


def test_a_recurring_followup_keeps_its_deal_and_the_agenda_shows_it(session):
    from minicrm.services.followups.followups import complete_followup, list_followups

    person(session, no_deal=True)
    hers = deal(session, contact="maria")
    first = add_followup(session, "maria", NOW + timedelta(hours=1), "check", every="week",
                         deal=hers.id, now=NOW)  # fmt: skip
    assert [f.deal_id for f in list_followups(session, "all", zone=UTC, now=NOW)] == [hers.id]
    done = complete_followup(session, first.id, zone=UTC, now=NOW + timedelta(hours=2))
    assert done.next is not None and done.next.deal_id == hers.id


def test_a_purchase_without_a_deal_goes_to_the_contacts_won_deal(session):
    """The one-deal shop logs purchases without --deal; they belong to the won
    deal, so segments count the revenue once (not purchases + deal value)."""
    from minicrm.services.contacts.editing import ContactInput, add_contact
    from minicrm.services.followups.interactions import log_interaction

    won = add_contact(session, ContactInput(name="Won Buyer", stage="won", value="100"))
    open_ = add_contact(session, ContactInput(name="Open Lead", value="50"))
    bought = log_interaction(session, won.id, "purchase", amount="30")
    called = log_interaction(session, won.id, "call")
    early = log_interaction(session, open_.id, "purchase", amount="5")
    from minicrm.services.deals.reading import deals_of_contact

    [won_deal] = deals_of_contact(session, won.id)
    assert bought.deal_id == won_deal.id
    assert called.deal_id is None
    assert early.deal_id is None


def test_a_contacts_new_owner_and_source_carry_over_to_its_open_deals(session):
    from minicrm.services.contacts.editing import (
        ContactChanges,
        ContactInput,
        add_contact,
        update_contact,
    )
    from minicrm.services.deals.reading import deals_of_contact

    contact = add_contact(session, ContactInput(name="Hand Over", owner="ana", source="web"))
    update_contact(session, contact.id, ContactChanges(fields={"owner": "sam", "source": "fair"}))
    [deal] = deals_of_contact(session, contact.id)
    assert (deal.owner, deal.source) == ("sam", "fair")
