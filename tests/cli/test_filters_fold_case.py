"""Owner and source filters ignore case in every script, on SQLite as on
PostgreSQL (SQLite's own lower() folds ASCII letters only)."""

import pytest

# (as stored, as typed): the typed form differs in case only
OWNERS = [("Σαρα", "ΣΑΡΑ"), ("Łukasz", "ŁUKASZ"), ("Élodie", "élodie"), ("Иван", "иван")]
CUSTOMERS = ["Anna Berg", "Omid Tehrani", "Kenji Sato", "Zofia Nowak"]


def _add_with_owner(cli, number: int, owner: str) -> None:
    cli.ok("add", CUSTOMERS[number - 1], "--owner", owner, "--source", owner)
    cli.ok("deal", "add", CUSTOMERS[number - 1], "--title", f"Deal {number}", "--owner", owner)
    cli.ok("followup", "add", CUSTOMERS[number - 1], "tomorrow 10am", "call back", "--owner", owner)
    cli.ok("company", "add", f"Company {number}", "--owner", owner)


@pytest.fixture
def owned(cli):
    for number, (stored, _typed) in enumerate(OWNERS, start=1):
        _add_with_owner(cli, number, stored)
    return cli


@pytest.mark.parametrize(("number", "typed"), [(n, t) for n, (_s, t) in enumerate(OWNERS, 1)])
def test_every_owner_filter_finds_the_owner_typed_in_another_case(owned, number, typed):
    cli = owned
    assert [c["name"] for c in cli.json("list", "--owner", typed)] == [CUSTOMERS[number - 1]]
    assert [c["name"] for c in cli.json("list", "--source", typed)] == [CUSTOMERS[number - 1]]
    deals = cli.json("deal", "list", "--owner", typed)
    # the contact's own deal (made by `crm add`) and the one added for it
    assert {d["title"] for d in deals} == {CUSTOMERS[number - 1], f"Deal {number}"}
    followups = cli.json("followup", "list", "--all", "--owner", typed)
    assert [f["contact_name"] for f in followups] == [CUSTOMERS[number - 1]]
    companies = cli.json("company", "list", "--owner", typed)
    assert [c["name"] for c in companies] == [f"Company {number}"]


def test_the_owner_filter_is_case_only_not_accents(owned):
    """As PostgreSQL's lower(): Σάρα with an accent is another spelling."""
    assert owned.json("list", "--owner", "ΣΆΡΑ") == []
