"""Companies through the service layer: add, REF, list, show, edit, trash."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from minicrm.errors import AmbiguousRefError, NotFoundError, UserError, ValidationError
from minicrm.models import Contact, Deal
from minicrm.services.companies.companies import (
    CompanyChanges,
    CompanyInput,
    add_company,
    normalize_domain,
    restore_company,
    trash_company,
    update_company,
)
from minicrm.services.companies.reading import (
    CompanyFilter,
    get_company,
    list_companies,
    resolve_company,
)
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.search import search_contacts
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.profiles.company import company_profile
from minicrm.services.records.contacts import get_contact
from minicrm.services.records.deals import open_deal

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EARLIER = NOW - timedelta(days=10)


def company(session, name, **fields):
    return add_company(session, CompanyInput(name=name, **fields), now=EARLIER)


def person(session, name, company_name=None, **fields):
    data = ContactInput(name=name, company=company_name, **fields)
    return add_contact(session, data, force=True, now=EARLIER)


def test_add_normalises_and_validates_fields(session):
    made = company(
        session, "  Lopez Bakery S.L. ", domain="https://www.Lopez.es/shop", email="Info@Lopez.ES",
        phone="+34 912 345 678", industry="Food", tags=["VIP", "vip"], extra={"size": "5"},
    )  # fmt: skip
    assert made.name == "Lopez Bakery S.L."
    assert made.domain == "lopez.es"
    assert made.email == "info@lopez.es"
    assert made.phone == "+34912345678"
    assert made.tags == ["vip"]
    assert made.extra == {"size": "5"}
    assert (made.people_count, made.open_deals, made.version) == (0, 0, 1)
    assert made.created_at == EARLIER


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"email": "not-an-email"}, "invalid email"),
        ({"phone": "call me"}, "no digits"),
        ({"domain": "lopez bakery"}, "invalid domain"),
    ],
)
def test_add_refuses_bad_fields(session, fields, error):
    with pytest.raises(ValidationError, match=error):
        company(session, "Acme", **fields)


def test_add_refuses_an_empty_name(session):
    with pytest.raises(ValidationError, match="a company needs a name"):
        company(session, "   ")


def test_name_is_unique_among_live_companies_when_folded(session):
    first = company(session, "Café Núñez")
    with pytest.raises(UserError, match=f"#{first.id} Café Núñez"):
        company(session, "CAFE NUNEZ")
    trash_company(session, first.id, now=NOW)
    again = company(session, "cafe nunez")  # the trashed one no longer counts
    assert again.id != first.id
    with pytest.raises(UserError, match="exists already"):
        restore_company(session, first.id)


@pytest.mark.parametrize("value", ["lopez.es", "LOPEZ.ES", "http://lopez.es", "www.lopez.es/"])
def test_normalize_domain(value):
    assert normalize_domain(value) == "lopez.es"


def test_ref_by_id_exact_name_or_unique_fragment(session):
    bakery = company(session, "Lopez Bakery")
    company(session, "Lopez Bakery Outlet")
    acme = company(session, "Acme")
    assert resolve_company(session, str(bakery.id)).id == bakery.id
    assert resolve_company(session, f"#{acme.id}").id == acme.id
    assert resolve_company(session, "LOPEZ BAKERY").id == bakery.id  # exact beats fragment
    assert resolve_company(session, "acm").id == acme.id
    with pytest.raises(AmbiguousRefError, match="Lopez Bakery, .*Lopez Bakery Outlet"):
        resolve_company(session, "lopez")
    with pytest.raises(NotFoundError, match="no company matches 'zzz'"):
        resolve_company(session, "zzz")
    with pytest.raises(NotFoundError, match="no company #999"):
        resolve_company(session, "999")


@pytest.fixture
def shop(session):
    """Two companies; Lopez with two people, three deals (one won, one
    open with a close date, one open without), Acme with one trashed person."""
    lopez = company(session, "Lopez Bakery", industry="Food", owner="sara", tags=["vip"])
    acme = company(session, "Acme", industry="food", owner="tom")
    maria = person(session, "Maria Lopez", "lopez bakery", value="100")
    juan = person(session, "Juan Lopez", "Lopez Bakery", stage="won", value="250")
    gone = person(session, "Gone Person", "Acme")
    trash_contact(session, gone.id, now=EARLIER)
    open_deal(
        session, title="Second order", stage="interest", now=EARLIER, contact_id=maria.id,
        company_id=lopez.id, value_cents=5000, expected_close=date(2026, 4, 1),
    )  # fmt: skip
    log_interaction(session, maria.id, "call", "first call", at=EARLIER, now=EARLIER)
    log_interaction(session, juan.id, "email", "sent quote", at=NOW, now=NOW)
    session.flush()
    return lopez, acme, maria, juan


def test_people_and_deals_are_linked_and_counted(session, shop):
    lopez, acme, maria, juan = shop
    assert get_contact(session, maria.id).company_id == lopez.id
    assert get_contact(session, maria.id).company == "Lopez Bakery"  # the company's spelling
    read = get_company(session, lopez.id)
    assert (read.people_count, read.open_deals) == (2, 2)  # juan's deal is won
    acme_read = get_company(session, acme.id)
    assert (acme_read.people_count, acme_read.open_deals) == (0, 0)  # its person is trashed


def test_list_counts_in_sql_filters_and_sorts(session, shop):
    lopez, acme, _, _ = shop
    counts = {c.name: (c.people_count, c.open_deals) for c in list_companies(session)}
    assert counts == {"Acme": (0, 0), "Lopez Bakery": (2, 2)}
    assert [c.name for c in list_companies(session, sort="name")] == ["Acme", "Lopez Bakery"]
    assert [c.id for c in list_companies(session, sort="revenue")] == [lopez.id, acme.id]
    newest = add_company(session, CompanyInput(name="Zeta"), now=NOW)
    assert [c.id for c in list_companies(session, sort="created")] == [newest.id, lopez.id, acme.id]
    update_company(
        session, acme.id, CompanyChanges(fields={"city": "Oslo"}), now=NOW + timedelta(1)
    )
    assert [c.id for c in list_companies(session, sort="updated")][0] == acme.id
    trash_company(session, newest.id, now=NOW)
    assert [c.id for c in list_companies(session, CompanyFilter(tag="VIP"))] == [lopez.id]
    assert [c.id for c in list_companies(session, CompanyFilter(owner="tom"))] == [acme.id]
    assert len(list_companies(session, CompanyFilter(industry="FOOD"))) == 2
    assert [c.id for c in list_companies(session, CompanyFilter(search="bak"))] == [lopez.id]
    assert [c.id for c in list_companies(session, CompanyFilter(search="%"))] == []
    assert len(list_companies(session, limit=1)) == 1
    with pytest.raises(UserError, match="--sort must be one of"):
        list_companies(session, sort="size")


def test_list_runs_a_fixed_number_of_queries(session, engine, shop):
    for n in range(20):
        company(session, f"Filler {n}")
    session.flush()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(list_companies(session)) == 22
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 2  # the companies with their counts, then their tags


def test_show_has_people_open_deals_won_revenue_and_timeline(session, shop):
    lopez, _, maria, juan = shop
    profile = company_profile(session, "lopez")
    assert [p.name for p in profile.people] == ["Juan Lopez", "Maria Lopez"]
    assert [(d.title, d.value_cents, d.expected_close) for d in profile.deals] == [
        ("Second order", 5000, date(2026, 4, 1)),  # a close date first
        ("Maria Lopez", 10000, None),
    ]
    assert profile.won_revenue_cents == 25000
    assert [(t.contact_name, t.interaction.summary) for t in profile.timeline] == [
        ("Juan Lopez", "sent quote"), ("Maria Lopez", "first call"),
    ]  # fmt: skip
    data = profile.to_json()
    assert data["won_revenue"] == 250.0
    assert data["people"][0]["company_id"] == lopez.id
    assert data["deals"][0]["expected_close"] == "2026-04-01"
    assert data["timeline"][0]["type"] == "interaction"
    assert data["timeline"][0]["contact_name"] == "Juan Lopez"
    assert len(company_profile(session, lopez.id, timeline_limit=1).timeline) == 1


def test_rename_updates_its_peoples_company_and_search_text(session, shop):
    lopez, acme, maria, juan = shop
    before = session.get(Contact, maria.id).version
    updated = update_company(
        session, lopez.id, CompanyChanges(fields={"name": "Panadería López", "city": "Madrid"}),
        now=NOW,
    )  # fmt: skip
    assert (updated.name, updated.city, updated.version) == ("Panadería López", "Madrid", 2)
    assert updated.updated_at == NOW
    for contact_id in (maria.id, juan.id):
        row = session.get(Contact, contact_id)
        assert (row.company, row.company_id) == ("Panadería López", lopez.id)
        assert "panaderia lopez" in row.search_text
    assert session.get(Contact, maria.id).version == before + 1
    assert {h.contact.id for h in search_contacts(session, "panaderia")} == {maria.id, juan.id}
    with pytest.raises(UserError, match=f"exists already: #{acme.id} Acme"):
        update_company(session, lopez.id, CompanyChanges(fields={"name": "ACME"}))


def test_edit_tags_extra_and_clearing(session, shop):
    lopez = shop[0]
    changes = CompanyChanges(
        fields={"industry": ""}, add_tags=["new"], remove_tags=["vip"], set_extra={"k": "v"}
    )
    updated = update_company(session, lopez.id, changes, now=NOW)
    assert (updated.industry, updated.tags, updated.extra) == (None, ["new"], {"k": "v"})
    with pytest.raises(UserError, match="cannot edit size"):
        update_company(session, lopez.id, CompanyChanges(fields={"size": "5"}))
    with pytest.raises(ValidationError, match="invalid email"):
        update_company(session, lopez.id, CompanyChanges(fields={"email": "x"}))


def test_trash_keeps_links_and_restore_brings_it_back(session, shop):
    lopez, _, maria, _ = shop
    trashed = trash_company(session, "lopez bakery", now=NOW)
    assert trashed.deleted_at == NOW
    assert [c.name for c in list_companies(session)] == ["Acme"]
    assert [c.name for c in list_companies(session, deleted=True)] == ["Lopez Bakery"]
    row = session.get(Contact, maria.id)
    assert (row.company, row.company_id) == ("Lopez Bakery", lopez.id)
    deal_companies = (
        session.execute(select(Deal.company_id).where(Deal.contact_id == maria.id)).scalars().all()
    )
    assert deal_companies == [lopez.id, lopez.id]
    with pytest.raises(NotFoundError):
        get_company(session, lopez.id)
    restored = restore_company(session, lopez.id, now=NOW)
    assert (restored.deleted_at, restored.people_count, restored.open_deals) == (None, 2, 2)
