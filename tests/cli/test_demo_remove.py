"""`crm demo --remove`: takes out exactly what `crm demo` added, on both backends."""

import pytest
from sqlalchemy import text

from minicrm.services.demo.batches import DEMO_BATCHES_KEY

TABLES = [
    "contact", "company", "deal", "deal_line", "product", "tag", "contact_tag",
    "interaction", "followup", "stage_change", "cadence", "setting",
]  # fmt: skip


def add_your_own(cli) -> None:
    """A contact of yours (with the first deal `crm add` opens), a second deal
    and an interaction."""
    cli.ok("add", "Rhea Realperson", "--email", "rhea@example.com", "--tag", "vip")
    cli.ok("deal", "add", "Rhea", "--title", "Real deal", "--value", "100")
    cli.ok("log", "Rhea", "call", "asked about delivery")


def seen(cli) -> dict:
    return {
        "contacts": cli.json("list", "--limit", "1000"),
        "deals": cli.json("deal", "list", "--all"),
        "funnel": cli.json("report", "funnel"),
    }


def demo_marker(engine) -> str | None:
    with engine.connect() as connection:
        query = text("SELECT value FROM setting WHERE key = :key")
        return connection.execute(query, {"key": DEMO_BATCHES_KEY}).scalar()


def test_remove_leaves_only_your_rows(cli, engine):
    cli.ok("demo", "--contacts", "30")
    add_your_own(cli)
    cli.ok("log", "1", "call", "you called a demo contact")  # goes with the demo contact
    result = cli.ok("demo", "--remove", "--yes")
    assert "removed the demo data (1 run of crm demo): 30 contacts" in result.stderr
    assert "with the demo records went what was added to them since: 1 interaction" in (
        result.stderr
    )
    assert [c["name"] for c in cli.json("list", "--limit", "1000")] == ["Rhea Realperson"]
    deals = cli.json("deal", "list", "--all")
    assert sorted(d["title"] for d in deals) == ["Real deal", "Rhea Realperson"]
    funnel = cli.json("report", "funnel")
    first, *others = funnel["stages"]
    assert (first["stage"], first["current"], first["reached"], first["value"]) == (
        "awareness", 2, 2, 100,
    )  # fmt: skip
    assert all(s["current"] == s["reached"] == s["value"] == 0 for s in others)
    assert (funnel["won"], funnel["lost"]) == (0, 0)
    counts = cli.table_counts(TABLES)
    assert counts["interaction"] == 1 and counts["stage_change"] == 2
    assert counts["company"] == counts["product"] == counts["followup"] == 0
    assert counts["tag"] == 1 and cli.json("show", "Rhea")["tags"] == ["vip"]  # demo's, in use
    assert demo_marker(engine) is None
    assert cli.json("search", "delivery")[0]["name"] == "Rhea Realperson"


def test_two_runs_are_removed_and_your_data_is_as_before(cli):
    add_your_own(cli)
    before = seen(cli)
    cli.ok("demo", "--contacts", "20", "--force")
    cli.ok("demo", "--contacts", "10", "--seed", "2", "--force")
    assert len(cli.json("list", "--limit", "1000")) == 31
    result = cli.ok("demo", "--remove", "--yes")
    assert "(2 runs of crm demo): 30 contacts" in result.stderr
    assert seen(cli) == before
    assert cli.json("show", "Rhea")["tags"] == ["vip"]


def test_a_demo_company_or_product_your_rows_use_is_kept(cli):
    cli.ok("demo", "--contacts", "30")
    company = cli.json("company", "list")[0]["name"]
    product = cli.json("product", "list")[0]["name"]
    cli.ok("add", "Rhea Realperson", "--company", company)
    cli.ok("deal", "add", "Rhea", "--title", "Real deal", "--line", f"{product} x 2")
    result = cli.ok("demo", "--remove", "--yes")
    assert "kept because your own records use them: 1 company and 1 product of the demo" in (
        result.stderr
    )
    assert [c["name"] for c in cli.json("company", "list")] == [company]
    assert [p["name"] for p in cli.json("product", "list")] == [product]
    assert [c["company"] for c in cli.json("list", "--limit", "1000")] == [company]
    assert len(cli.json("deal", "list", "--all")) == 2  # Rhea's first deal and the real one


def test_a_database_demoed_before_runs_were_recorded_is_refused(cli, engine):
    cli.ok("demo", "--contacts", "10")
    with engine.begin() as connection:  # as `crm demo` left it before this release
        connection.execute(text("DELETE FROM setting WHERE key = :k"), {"k": DEMO_BATCHES_KEY})
    before = cli.table_counts(TABLES)
    cli.assert_user_error(cli("demo", "--remove", "--yes"), "cannot be told apart from yours")
    assert cli.table_counts(TABLES) == before


def test_no_demo_data_here(cli):
    cli.ok("add", "Rhea Realperson")
    cli.assert_user_error(cli("demo", "--remove", "--yes"), "no demo data here")
    cli.ok("demo", "--contacts", "5", "--force")
    cli.ok("demo", "--remove", "--yes")
    cli.assert_user_error(cli("demo", "--remove", "--yes"), "no demo data here")
    assert [c["name"] for c in cli.json("list", "--limit", "1000")] == ["Rhea Realperson"]


def test_without_a_terminal_it_wants_yes(cli):
    cli.ok("demo", "--contacts", "5")
    before = cli.table_counts(TABLES)
    cli.assert_user_error(cli("demo", "--remove"), "add --yes to confirm")
    assert cli.table_counts(TABLES) == before


def test_at_a_terminal_it_asks_and_enter_means_no(cli, monkeypatch):
    from minicrm.commands import _output

    cli.ok("demo", "--contacts", "5")
    before = cli.table_counts(TABLES)
    monkeypatch.setattr(_output, "interactive", lambda: True)
    result = cli("demo", "--remove", input="\n")
    assert result.exit_code == 1, result.stderr
    assert "Remove the demo data (1 run of crm demo): 5 contacts" in result.stdout
    assert "[y/N]" in result.stdout and "nothing removed" in result.stderr
    assert cli.table_counts(TABLES) == before
    assert cli("demo", "--remove", input="y\n").exit_code == 0
    assert cli.json("list", "--limit", "1000") == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--remove", "--contacts", "5"), "--contacts"),
        (("--remove", "--seed", "2"), "--seed"),
        (("--remove", "--force", "--yes"), "--force"),
        (("--yes",), "--yes goes with --remove"),
    ],
)
def test_options_that_do_not_go_together(cli, args, named):
    cli.ok("demo", "--contacts", "5")
    before = cli.table_counts(TABLES)
    cli.assert_user_error(cli("demo", *args), named)
    assert cli.table_counts(TABLES) == before


@pytest.mark.sqlite_only("FTS5 search index")
def test_the_search_index_loses_the_demo_rows(cli, engine):
    cli.ok("demo", "--contacts", "30")
    add_your_own(cli)
    cli.ok("demo", "--remove", "--yes")
    with engine.connect() as connection:
        for table in ("contact_fts", "interaction_fts"):  # the index matches its table
            connection.execute(
                text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
            )
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    assert "integrity:        ok" in cli.ok("db", "check").stdout
