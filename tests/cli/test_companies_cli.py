"""`crm company …` from the command line."""

import csv
import io

import pytest

COMPANY_KEYS = [
    "id", "name", "domain", "email", "phone", "industry", "city", "region", "country", "owner",
    "tags", "notes", "extra", "people_count", "open_deals", "created_at", "updated_at",
]  # fmt: skip


@pytest.fixture
def shop(cli):
    """#1 Lopez Bakery with Maria (open deal, 100) and Juan (won, 250); #2 Acme."""
    cli.ok(
        "company", "add", "Lopez Bakery", "--domain", "lopez.es", "--email", "info@lopez.es",
        "--industry", "Food", "--city", "Madrid", "--owner", "sara", "--tag", "vip",
        "--set", "size=5", "--note", "corner shop",
    )  # fmt: skip
    cli.ok("company", "add", "Acme", "--industry", "Tools", "--owner", "tom")
    cli.ok("add", "Maria Lopez", "--company", "lopez bakery", "--value", "100")
    cli.ok("add", "Juan Lopez", "--company", "LOPEZ BAKERY", "--stage", "won", "--value", "250")
    cli.ok("log", "1", "call", "asked for a quote")


def test_add_prints_the_id_and_json_has_the_documented_keys(cli):
    assert cli.ok("company", "add", "Lopez Bakery").stdout == "1\n"
    data = cli.json("company", "add", "Acme", "--phone", "+34 912 345 678", "--tag", "VIP")
    assert list(data) == COMPANY_KEYS
    assert (data["id"], data["phone"], data["tags"]) == (2, "+34912345678", ["vip"])


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["company", "add", "lopez BAKERY"], "exists already: #1 Lopez Bakery"),
        (["company", "add", "X", "--email", "nope"], "invalid email"),
        (["company", "add", "X", "--domain", "a b"], "invalid domain"),
        (["company", "add", "X", "--set", "novalue"], "expected key=value"),
        (["company", "show", "999"], "no company #999"),
        (["company", "show", "zzz"], "no company matches 'zzz'"),
        (["company", "edit", "1", "--name", "Acme"], "exists already: #2 Acme"),
        (["company", "edit", "1"], "nothing to change"),
        (["company", "list", "--sort", "size"], "--sort must be one of"),
        (["company", "list", "--json", "--csv"], "choose one of --json and --csv"),
        (["company", "restore", "1"], "is not in the trash"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(cli, args, fragment):
    cli.ok("company", "add", "Lopez Bakery")
    cli.ok("company", "add", "Acme")
    cli.assert_user_error(cli(*args), fragment)


def test_ambiguous_ref_lists_the_candidates(cli):
    cli.ok("company", "add", "Lopez Bakery")
    cli.ok("company", "add", "Lopez Outlet")
    cli.assert_user_error(
        cli("company", "show", "lopez"), "several companies", "#1 Lopez Bakery", "#2 Lopez Outlet"
    )


def test_list_counts_people_and_open_deals_and_filters(cli, shop):
    companies = cli.json("company", "list")
    assert [(c["name"], c["people_count"], c["open_deals"]) for c in companies] == [
        ("Acme", 0, 0), ("Lopez Bakery", 2, 1),
    ]  # fmt: skip
    assert [c["id"] for c in cli.json("company", "list", "--sort", "revenue")] == [1, 2]
    assert [c["id"] for c in cli.json("company", "list", "--tag", "vip")] == [1]
    assert [c["id"] for c in cli.json("company", "list", "--owner", "tom")] == [2]
    assert [c["id"] for c in cli.json("company", "list", "--industry", "food")] == [1]
    assert [c["id"] for c in cli.json("company", "list", "--search", "lopez.es")] == [1]
    assert [c["id"] for c in cli.json("company", "list", "--limit", "1")] == [2]
    table = cli.ok("company", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "Name", "Domain", "Industry", "City", "People", "Open",
                                "deals", "Owner", "Tags"]  # fmt: skip
    assert table[2].split() == ["1", "Lopez", "Bakery", "lopez.es", "Food", "Madrid", "2", "1",
                                "sara", "vip"]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(cli.ok("company", "list", "--csv").stdout)))
    assert [(r["name"], r["people_count"], r["tags"]) for r in rows] == [
        ("Acme", "0", ""), ("Lopez Bakery", "2", "vip"),
    ]  # fmt: skip


def test_show_json_has_people_deals_won_revenue_and_timeline(cli, shop):
    data = cli.json("company", "show", "lopez")
    assert list(data) == [*COMPANY_KEYS, "people", "deals", "won_revenue", "timeline"]
    assert data["extra"] == {"size": "5"}
    assert [p["name"] for p in data["people"]] == ["Juan Lopez", "Maria Lopez"]
    assert [p["company"] for p in data["people"]] == ["Lopez Bakery", "Lopez Bakery"]
    assert [(d["title"], d["value"], d["stage"]) for d in data["deals"]] == [
        ("Maria Lopez", 100.0, "awareness")
    ]
    assert data["won_revenue"] == 250.0
    assert [(t["contact_name"], t["kind"], t["summary"]) for t in data["timeline"]] == [
        ("Maria Lopez", "call", "asked for a quote")
    ]


def test_show_text_lists_people_deals_revenue_and_timeline(cli, shop):
    text = cli.ok("company", "show", "1").stdout
    assert text.startswith("#1  Lopez Bakery\n")
    assert "  Won revenue: 250\n" in text
    assert "People (2):\n  #2 Juan Lopez\n  #1 Maria Lopez\n" in text
    assert "Open deals (1):\n  #1 Maria Lopez  awareness  100  no close date\n" in text
    assert "Maria Lopez  call: asked for a quote" in text


def test_rename_moves_the_peoples_company_name(cli, shop):
    result = cli.ok("company", "edit", "1", "--name", "Panadería López", "--tag", "-vip",
                    "--tag", "+bread", "--city", "")  # fmt: skip
    assert result.stderr == "updated #1 Panadería López\n"
    company = cli.json("company", "show", "1")
    assert (company["name"], company["tags"], company["city"]) == (
        "Panadería López", ["bread"], None,
    )  # fmt: skip
    assert cli.json("show", "1")["company"] == "Panadería López"
    assert sorted(c["id"] for c in cli.json("search", "panaderia")) == [1, 2]
    assert cli.json("list", "--search", "lopez bakery") == []


def test_rm_trashes_keeps_links_and_restore_brings_back(cli, shop):
    result = cli.ok("company", "rm", "lopez", "--yes")
    assert result.stderr == "moved #1 Lopez Bakery to the trash (undo: crm company restore 1)\n"
    assert [c["id"] for c in cli.json("company", "list")] == [2]
    maria = cli.json("show", "1")
    assert (maria["company"], maria["company_id"]) == ("Lopez Bakery", 1)
    assert cli.ok("company", "restore", "1").stderr == "restored #1 Lopez Bakery\n"
    assert cli.json("company", "show", "1")["people_count"] == 2


def test_contact_add_links_to_an_existing_company_by_folded_name(cli, shop):
    contact = cli.json("add", "Ana", "--company", "ACME")
    assert (contact["company"], contact["company_id"]) == ("Acme", 2)
    assert cli.json("company", "show", "acme")["people_count"] == 1
