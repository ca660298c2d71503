"""`crm deal …`, `crm product …`, and deals in `crm add/log/followup/show`."""

import csv
import io
import json

import pytest


@pytest.fixture
def shop(cli):
    cli.ok("product", "add", "GTX Pro", "--price", "450", "--code", "G1")
    cli.ok("product", "add", "Cable", "--price", "5")
    cli.ok("add", "Maria Lopez", "--company", "Lopez Bakery", "--owner", "ana")
    return cli


def test_product_commands(cli):
    assert cli.ok("product", "add", "GTX Pro", "--price", "450", "--code", "G1").stdout == "1\n"
    cli.assert_user_error(
        cli("product", "add", "gtx  PRO", "--price", "1"), "already exists", "GTX Pro"
    )
    cli.assert_user_error(cli("product", "add", "Cable", "--price", "cheap"), "invalid price")
    cli.assert_user_error(cli("product", "add", "Cable"), "--price")
    cli.ok("product", "add", "Cable", "--price", "5")
    assert cli.json("product", "list") == [
        {"id": 2, "name": "Cable", "code": None, "price": 5, "active": True},
        {"id": 1, "name": "GTX Pro", "code": "G1", "price": 450, "active": True},
    ]
    edited = cli.json("product", "edit", "gtxpro", "--price", "499.50", "--name", "GTX Pro 2")
    assert (edited["name"], edited["price"]) == ("GTX Pro 2", 499.5)
    cli.assert_user_error(cli("product", "edit", "nothing like it", "--price", "1"), "no product")
    cli.ok("deal", "add", "--title", "Order", "--line", "GTX Pro 2 x 1")
    archived = cli.json("product", "rm", "1")
    assert (archived["active"], archived["archived"]) == (False, True)
    assert cli.ok("product", "rm", "cable").stderr == "deleted product #2 Cable\n"
    assert cli.json("product", "list") == []
    assert [p["name"] for p in cli.json("product", "list", "--all")] == ["GTX Pro 2"]
    listed = cli.ok("product", "list", "--all").stdout
    assert "GTX Pro 2" in listed and "archived" in listed


def test_deal_add_with_lines_and_defaults(shop):
    out = shop.json(
        "deal",
        "add",
        "maria",
        "--line",
        "gtxpro x 2 -10%",
        "--line",
        "Delivery x 1 @ 20",
        "--close",
        "2026-12-31",
        "--source",
        "web",
    )
    assert (out["id"], out["title"], out["contact_id"], out["company"], out["owner"]) == (
        2, "Maria Lopez", 1, "Lopez Bakery", "ana",
    )  # fmt: skip
    assert (out["value"], out["expected_close"], out["source"], out["stage"]) == (
        830, "2026-12-31", "web", "awareness",
    )  # fmt: skip
    assert [(x["product"], x["description"], x["total"]) for x in out["lines"]] == [
        ("GTX Pro", None, 810), (None, "Delivery", 20),
    ]  # fmt: skip
    assert list(out) == [
        "id", "title", "contact_id", "contact_name", "company_id", "company", "stage", "value",
        "expected_close", "closed_at", "lost_reason", "lost_at_stage", "owner", "source",
        "score", "notes", "extra", "lines", "created_at", "updated_at",
    ]  # fmt: skip
    assert shop.ok("deal", "add", "--company", "Acme", "--value", "99").stdout == "3\n"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--line", "GTX Prp x 1", "--title", "t"], ["no product 'GTX Prp'", "closest: GTX Pro"]),
        (["--line", "GTX Pro x 0", "--title", "t"], ["more than 0"]),
        (["--line", "GTX Pro x 1 -101%", "--title", "t"], ["0 to 100"]),
        (["--line", "Cable x 1", "--value", "3", "--title", "t"], ["drop --value"]),
        ([], ["needs --title"]),
        (["--title", "t", "--close", "soonish"], ["cannot read the date"]),
        (["--title", "t", "--stage", "maybe"], ["stage"]),
        (["--title", "t", "--stage", "lost"], ["--lost-reason"]),
        (["nobody", "--title", "t"], ["no contact matches"]),
    ],
)
def test_deal_add_mistakes_are_exit_2_and_write_nothing(shop, args, fragments):
    before = shop.table_counts(["deal", "deal_line", "company", "stage_change"])
    shop.assert_user_error(shop("deal", "add", *args), *fragments)
    assert shop.table_counts(["deal", "deal_line", "company", "stage_change"]) == before


def test_deal_list_filters_json_and_csv(shop):
    shop.ok("deal", "add", "maria", "--value", "100", "--close", "2026-12-10")  # 2
    shop.ok("deal", "add", "--title", "=HYPERLINK(1)", "--value", "5000", "--owner", "bob")  # 3
    shop.ok("deal", "won", "2")
    assert [d["id"] for d in shop.json("deal", "list", "--sort", "value")] == [3, 1]
    assert [d["id"] for d in shop.json("deal", "list", "--won")] == [2]
    assert [d["id"] for d in shop.json("deal", "list", "--all", "--sort", "value")] == [3, 2, 1]
    assert [d["id"] for d in shop.json("deal", "list", "--owner", "BOB")] == [3]
    assert [d["id"] for d in shop.json("deal", "list", "--contact", "maria", "--all")] == [2, 1]
    assert [d["id"] for d in shop.json("deal", "list", "--company", "lopez bakery")] == [1]
    assert [d["id"] for d in shop.json("deal", "list", "--all", "--closing", "2026-12-31")] == [2]
    assert [d["id"] for d in shop.json("deal", "list", "--limit", "1", "--sort", "value")] == [3]
    assert shop.json("deal", "list", "--stale", "30") == []
    rows = list(csv.reader(io.StringIO(shop.ok("deal", "list", "--csv").stdout)))
    assert rows[0][:3] == ["id", "title", "contact_id"]
    assert [r[1] for r in rows[1:]] == ["Maria Lopez", "'=HYPERLINK(1)"]
    table = shop.ok("deal", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "Title", "Contact"]
    assert len(table) == 3
    shop.assert_user_error(shop("deal", "list", "--won", "--lost"), "choose one")
    shop.assert_user_error(shop("deal", "list", "--json", "--csv"), "choose one")
    shop.assert_user_error(shop("deal", "list", "--sort", "size"), "unknown sort")
    shop.assert_user_error(shop("deal", "list", "--company", "Nope"), "no company")
    shop.assert_user_error(shop("deal", "list", "--stale", "3", "--won"), "open deals")


def test_deal_show_edit_rm_restore(shop):
    shop.ok("deal", "add", "maria", "--line", "Cable x 3")
    shop.ok("log", "maria", "call", "talked cables", "--deal", "#2")
    shown = shop.json("deal", "show", "#2")
    assert [h["to_stage"] for h in shown["history"]] == ["awareness"]
    assert [(i["kind"], i["deal_id"]) for i in shown["interactions"]] == [("call", 2)]
    text = shop.ok("deal", "show", "2").stdout
    assert "[1] Cable x 3 @ 5 = 15" in text and "talked cables" in text
    edited = shop.json("deal", "edit", "2", "--title", "Cables", "--close", "2027-01-31",
                       "--notes", "big", "--set", "channel=web")  # fmt: skip
    assert (edited["title"], edited["expected_close"], edited["notes"], edited["extra"]) == (
        "Cables", "2027-01-31", "big", {"channel": "web"},
    )  # fmt: skip
    shop.assert_user_error(shop("deal", "edit", "2", "--value", "9"), "lines' total")
    shop.assert_user_error(shop("deal", "edit", "2"), "nothing to change")
    shop.assert_user_error(shop("deal", "edit", "two", "--title", "x"), "not a deal id")
    shop.assert_user_error(shop("deal", "show", "99"), "no deal #99")
    assert "to the trash" in shop.ok("deal", "rm", "2").stderr
    shop.assert_user_error(shop("deal", "show", "2"), "deal #2 Cables is in the trash")
    assert shop.ok("deal", "restore", "2").stderr == "restored deal #2 Cables\n"
    shop.assert_user_error(shop("deal", "restore", "2"), "is not in the trash")


def test_deal_stage_won_lost_and_lines(shop):
    shop.ok("deal", "add", "maria", "--value", "10")
    moved = shop.json("deal", "stage", "2", "Decision")
    assert moved["stage"] == "decision"
    shop.assert_user_error(shop("deal", "stage", "2", "lost"), "needs a reason")
    shop.assert_user_error(shop("deal", "lost", "2"), "needs a reason")
    lost = shop.json("deal", "lost", "2", "--reason", "no budget")
    assert (lost["stage"], lost["lost_reason"], lost["lost_at_stage"]) == (
        "lost", "no budget", "decision",
    )  # fmt: skip
    assert shop.json("deal", "won", "2")["stage"] == "won"
    shop.assert_user_error(shop("deal", "won", "2"), "already in won")
    shop.assert_user_error(shop("deal", "stage", "2", "decision", "--at", "2001-01-01"),
                           "before this deal's last stage change")  # fmt: skip
    added = shop.json("deal", "line", "add", "2", "GTX Pro x 1", "Setup x 2 @ 25.50")
    assert added["value"] == 501
    shop.assert_user_error(shop("deal", "line", "add", "2", "Setup x 1"), "no product 'Setup'")
    removed = shop.json("deal", "line", "rm", "2", str(added["lines"][0]["id"]))
    assert (removed["value"], len(removed["lines"])) == (51, 1)
    shop.assert_user_error(shop("deal", "line", "rm", "2", "999"), "has no line 999")


def test_one_deal_shortcut_and_contacts_without_deals(shop):
    shop.ok("add", "Joe Bloggs", "--no-deal", "--owner", "")
    shop.assert_user_error(shop("add", "Ann", "--no-deal", "--stage", "interest"), "--no-deal")
    joe = shop.json("show", "joe")
    assert (joe["stage"], joe["score"], joe["open_deals"], joe["deals"]) == (None, None, 0, [])
    [joe_row] = [line for line in shop.ok("list").stdout.splitlines() if "Joe Bloggs" in line]
    assert joe_row.split() == ["2", "Joe", "Bloggs", "-", "-"]  # no company, stage, value, score
    maria = shop.json("show", "maria")
    assert [(d["id"], d["title"]) for d in maria["deals"]] == [(1, "Maria Lopez")]
    assert "Deals:\n  #1 Maria Lopez  awareness" in shop.ok("show", "maria").stdout
    assert "Deals: none" in shop.ok("show", "joe").stdout


def test_log_and_followup_name_a_deal_of_that_contact(shop):
    shop.ok("add", "Joe Bloggs", "--no-deal", "--owner", "")
    logged = shop.json("log", "maria", "call", "--deal", "1")
    assert logged["deal_id"] == 1
    assert shop.json("log", "maria", "call")["deal_id"] is None
    follow = shop.json("followup", "add", "maria", "tomorrow", "quote", "--deal", "#1")
    assert follow["deal_id"] == 1
    assert json.loads(shop.ok("followup", "list", "--json").stdout)[0]["deal_id"] == 1
    before = shop.table_counts(["interaction", "followup"])
    shop.assert_user_error(shop("log", "joe", "call", "--deal", "1"), "belongs to contact #1")
    shop.assert_user_error(shop("followup", "add", "joe", "tomorrow", "--deal", "1"),
                           "belongs to contact")  # fmt: skip
    shop.assert_user_error(shop("log", "maria", "call", "--deal", "42"), "no deal #42")
    shop.ok("deal", "rm", "1", "--yes")
    shop.assert_user_error(
        shop("log", "maria", "call", "--deal", "1"), "deal #1 Maria Lopez is in the trash"
    )
    assert shop.table_counts(["interaction", "followup"]) == before
