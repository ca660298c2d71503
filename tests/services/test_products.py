"""The product catalogue: unique by name key, archived when in use."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from minicrm.errors import NotFoundError, UserError, ValidationError
from minicrm.models import Product
from minicrm.services.deals.deals import DealInput, add_deal
from minicrm.services.deals.products import (
    add_product,
    closest_product_names,
    edit_product,
    list_products,
    name_key,
    remove_product,
    resolve_product,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_name_key_folds_case_accents_and_spacing():
    assert name_key("GTX Pro") == name_key("gtx  pro") == name_key("GTXPro") == "gtxpro"
    assert name_key(" Café\tCrème ") == "cafecreme"


def test_add_list_and_json(session):
    gtx = add_product(session, "  GTX   Pro ", price="1,250.50", code="G-1", now=NOW)
    add_product(session, "Adapter", price="9", now=NOW)
    assert (gtx.name, gtx.code, gtx.price_cents, gtx.active) == ("GTX Pro", "G-1", 125050, True)
    assert gtx.to_json() == {
        "id": gtx.id, "name": "GTX Pro", "code": "G-1", "price": 1250.5, "active": True,
    }  # fmt: skip
    assert [p.name for p in list_products(session)] == ["Adapter", "GTX Pro"]


@pytest.mark.parametrize("other", ["gtx pro", "GTXPRO", " G T X  Pro"])
def test_a_name_differing_only_by_case_or_spacing_is_refused(session, other):
    add_product(session, "GTX Pro", price="450", now=NOW)
    with pytest.raises(UserError, match="already exists"):
        add_product(session, other, price="1", now=NOW)
    assert session.execute(select(Product)).scalars().all()[0].name == "GTX Pro"


@pytest.mark.parametrize(
    ("name", "price", "error"),
    [("", "1", "needs a name"), ("X", None, "needs a price"), ("X", "12,5", "invalid price"),
     ("X", "-3", "cannot be negative")],
)  # fmt: skip
def test_bad_input_is_a_validation_error(session, name, price, error):
    with pytest.raises(ValidationError, match=error):
        add_product(session, name, price=price, now=NOW)


def test_resolve_by_id_or_name_and_closest_names(session):
    gtx = add_product(session, "GTX Pro", price="450", now=NOW)
    add_product(session, "GTX Basic", price="300", now=NOW)
    add_product(session, "Cable", price="5", now=NOW)
    assert resolve_product(session, str(gtx.id)).name == "GTX Pro"
    assert resolve_product(session, f"#{gtx.id}").name == "GTX Pro"
    assert resolve_product(session, "gtxpro").id == gtx.id
    assert closest_product_names(session, "gtx")[:2] in (["GTX Pro", "GTX Basic"],
                                                         ["GTX Basic", "GTX Pro"])  # fmt: skip
    with pytest.raises(NotFoundError, match="closest: GTX"):
        resolve_product(session, "gtz pro")


def test_edit_renames_and_reprices_but_keeps_names_unique(session):
    gtx = add_product(session, "GTX Pro", price="450", now=NOW)
    add_product(session, "Cable", price="5", now=NOW)
    edited = edit_product(session, "gtx pro", name="GTX Pro 2", price="499.99", code="", now=NOW)
    assert (edited.id, edited.name, edited.price_cents, edited.code) == (
        gtx.id, "GTX Pro 2", 49999, None,
    )  # fmt: skip
    with pytest.raises(UserError, match="already exists"):
        edit_product(session, gtx.id, name="CABLE", now=NOW)
    # Its own name in another spelling is fine.
    assert edit_product(session, gtx.id, name="gtx pro 2", now=NOW).name == "gtx pro 2"
    with pytest.raises(UserError, match="nothing to change"):
        edit_product(session, gtx.id, now=NOW)


def test_rm_deletes_an_unused_product_and_archives_a_used_one(session):
    unused = add_product(session, "Cable", price="5", now=NOW)
    used = add_product(session, "GTX Pro", price="450", now=NOW)
    add_deal(session, DealInput(title="Big order", lines=["gtx pro x 2"]), now=NOW)
    gone, archived = remove_product(session, "cable", now=NOW)
    assert (gone.id, archived) == (unused.id, False)
    assert session.get(Product, unused.id) is None
    kept, archived = remove_product(session, used.id, now=NOW)
    assert (kept.id, kept.active, archived) == (used.id, False, True)
    assert session.get(Product, used.id) is not None
    assert list_products(session) == []
    assert [p.name for p in list_products(session, include_archived=True)] == ["GTX Pro"]
    # An archived product can't go on a new line.
    with pytest.raises(UserError, match="archived"):
        add_deal(session, DealInput(title="Again", lines=["GTX Pro x 1"]), now=NOW)
