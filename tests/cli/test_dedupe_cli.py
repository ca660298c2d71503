"""`crm dedupe` and `crm merge` from the command line."""

import hashlib
import re
import sqlite3

import pytest

from minicrm.commands import _output, app
from minicrm.commands import dedupe as dedupe_commands

if not any(c.name == "dedupe" for c in app.registered_commands):
    dedupe_commands.register(app)

CONTACT_KEYS = [
    "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
    "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
    "score", "lost_reason", "open_deals", "created_at", "updated_at",
]  # fmt: skip


@pytest.fixture
def two_groups(cli):
    """Group 1: #1 #2 share an email. Group 2: #3 #4 same name, both without a
    company. #5 has the same name at a company: not a duplicate."""
    cli.ok("add", "Maria Lopez", "--email", "maria@example.com", "--tag", "vip")
    cli.ok("add", "M. L.", "--email", "Maria@example.com", "--city", "Oslo", "--force")
    cli.ok("add", "Jonathan Smithers", "--phone", "+14155552671")
    cli.ok("add", "Smithers Jonathan", "--force")
    cli.ok("add", "Jonathan Smithers", "--company", "Acme", "--force")
    cli.ok("log", "2", "call", "asked for a quote")


def contact_checksum(db_path) -> str:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT * FROM contact ORDER BY id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_dedupe_json_lists_groups_with_contacts_reasons_and_similarity(cli, two_groups):
    groups = cli.json("dedupe")
    assert [[c["id"] for c in g["contacts"]] for g in groups] == [[1, 2], [3, 4]]
    assert [list(g) for g in groups] == [["contacts", "reasons", "similarity"]] * 2
    assert [g["reasons"] for g in groups] == [["same email"], ["similar name and company"]]
    assert [g["similarity"] for g in groups] == [100, 100]
    assert list(groups[0]["contacts"][0]) == CONTACT_KEYS
    assert groups[0]["contacts"][0]["tags"] == ["vip"]


def test_dedupe_table_has_a_row_per_contact_and_the_reason_on_each_groups_first(cli, two_groups):
    result = cli.ok("dedupe")
    cells = [re.split(r" {2,}", line) for line in result.stdout.splitlines()]  # empty ones vanish
    assert cells == [
        ["Group", "ID", "Name", "Company", "Email", "Phone", "Reason", "Similarity"],
        ["1", "1", "Maria Lopez", "maria@example.com", "same email", "100"],
        ["1", "2", "M. L.", "Maria@example.com"],
        ["2", "3", "Jonathan Smithers", "+14155552671", "similar name and company", "100"],
        ["2", "4", "Smithers Jonathan"],
    ]
    assert result.stderr.splitlines() == [
        "2 group(s)",
        "merge one with `crm merge KEEP OTHER…`, or every group with --merge",
    ]


def test_dedupe_says_so_when_there_is_nothing_to_merge(cli):
    cli.ok("add", "Ann Smith")
    result = cli.ok("dedupe")
    assert result.stdout == ""
    assert result.stderr == "no likely duplicates\n"
    assert cli.json("dedupe") == []


def test_dedupe_threshold_out_of_range_is_a_user_error(cli):
    cli.assert_user_error(cli("dedupe", "--threshold", "0"), "--threshold", "between 1 and 100")


def test_dedupe_merge_without_a_terminal_needs_yes(cli, two_groups):
    before = cli.table_counts()
    cli.assert_user_error(cli("dedupe", "--merge"), "--yes")
    assert cli.table_counts() == before


def test_dedupe_merge_yes_merges_each_group_into_its_lowest_id(cli, two_groups):
    result = cli.ok("dedupe", "--merge", "--yes")
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "merged #2 into #1 Maria Lopez: moved 1 deal, 1 interaction, 1 stage change; filled city",
        "merged #4 into #3 Jonathan Smithers: moved 1 deal, 1 stage change",
    ]
    assert [c["id"] for c in cli.json("list", "--sort", "created")] == [5, 3, 1]
    assert cli.json("dedupe") == []


def test_dedupe_merge_asks_per_group_on_a_terminal(cli, two_groups, monkeypatch):
    monkeypatch.setattr(_output, "interactive", lambda: True)
    result = cli.ok("dedupe", "--merge", input="y\nn\n")
    assert "Merge group 1 into #1 Maria Lopez? [y/n/q]" in result.stdout
    assert "Merge group 2 into #3 Jonathan Smithers? [y/n/q]" in result.stdout
    assert sorted(c["id"] for c in cli.json("list")) == [1, 3, 4, 5]


def test_dedupe_merge_q_stops_asking_and_merges_what_was_chosen(cli, two_groups, monkeypatch):
    cli.ok("add", "Zed", "--phone", "+14155550199")
    cli.ok("add", "Zulu", "--phone", "(415) 555-0199", "--force")
    monkeypatch.setattr(_output, "interactive", lambda: True)
    result = cli.ok("dedupe", "--merge", input="maybe\ny\nq\n")
    assert result.stdout.count("Merge group 1") == 2  # asked again after "maybe"
    assert result.stdout.count("Merge group 2") == 1
    assert "Merge group 3" not in result.stdout
    assert sorted(c["id"] for c in cli.json("list")) == [1, 3, 4, 5, 6, 7]


def test_dedupe_merge_json_prints_every_merge(cli, two_groups):
    results = cli.json("dedupe", "--merge", "--yes")
    assert [r["contact"]["id"] for r in results] == [1, 3]
    assert [[m["id"] for m in r["merged"]] for r in results] == [[2], [4]]
    assert results[0]["moved"] == {
        "deals": 1, "interactions": 1, "followups": 0, "stage_changes": 1, "tags": 0,
        "cadence": 0,
    }  # fmt: skip


def test_merge_json_shows_what_moved_and_what_was_filled(cli, two_groups):
    result = cli.json("merge", "1", "2")
    assert list(result) == ["contact", "merged", "moved", "filled"]
    assert result["contact"]["id"] == 1 and result["contact"]["city"] == "Oslo"
    assert [m["id"] for m in result["merged"]] == [2]
    assert result["moved"]["interactions"] == 1
    assert result["filled"] == ["city"]
    timeline = cli.json("show", "1")["timeline"]
    assert timeline[0]["summary"] == "Merged #2 M. L. (Maria@example.com) into this contact"


def test_merge_prints_a_summary_on_stderr(cli, two_groups):
    result = cli.ok("merge", "3", "4", "--json")
    assert result.stderr == ""
    result = cli.ok("merge", "1", "M. L.")
    assert result.stdout == ""
    assert result.stderr.startswith("merged #2 into #1 Maria Lopez: moved 1 deal, 1 interaction")


def test_merge_with_a_bad_ref_changes_nothing(cli, two_groups, db_path):
    before = (cli.table_counts(), contact_checksum(db_path))
    cli.assert_user_error(cli("merge", "1", "2", "nobody"), "no contact matches 'nobody'")
    cli.assert_user_error(cli("merge", "1", "2", "1"), "#1 Maria Lopez is the contact to keep")
    assert (cli.table_counts(), contact_checksum(db_path)) == before


def test_merge_refuses_a_trashed_contact(cli, two_groups):
    cli.ok("rm", "2", "--yes")
    cli.assert_user_error(cli("merge", "1", "2"), "#2 M. L. is in the trash", "crm restore 2")


def test_dedupe_on_a_screen_shows_the_first_groups_only(cli, two_groups, monkeypatch):
    from minicrm.commands import dedupe as commands

    monkeypatch.setattr(_output, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(commands, "TTY_GROUP_LIMIT", 1)
    result = cli.ok("dedupe", env={"COLUMNS": "200"})
    assert "Maria Lopez" in result.stdout and "Smithers" not in result.stdout
    assert result.stderr.splitlines()[0] == (
        "showing the first 1 groups; use --json or a pipe for all"
    )


def test_dedupe_merge_json_on_a_terminal_needs_yes(cli, two_groups, monkeypatch):
    monkeypatch.setattr(_output, "interactive", lambda: True)
    cli.assert_user_error(cli("dedupe", "--merge", "--json"), "cannot ask questions", "--yes")


# ------------------------------------------------------------ companies


@pytest.fixture
def company_groups(cli):
    """Group 1: #1 #2 similar names, #3 shares #1's domain (chained). Group 2:
    #4 #5. #6 stands alone. Maria works for #2, with an open deal."""
    cli.ok("company", "add", "Lopez Bakery S.L.", "--domain", "lopez.es")
    cli.ok("company", "add", "lopez bakery", "--city", "Madrid", "--tag", "food")
    cli.ok("company", "add", "Panadería López", "--domain", "LOPEZ.es", "--industry", "Food")
    cli.ok("company", "add", "Acme Inc")
    cli.ok("company", "add", "ACME Corp.")
    cli.ok("company", "add", "Other Shop")
    cli.ok("add", "Maria", "--company", "lopez bakery", "--value", "100")


def test_dedupe_companies_json_lists_groups(cli, company_groups):
    groups = cli.json("dedupe", "--companies")
    assert [[c["id"] for c in g["companies"]] for g in groups] == [[1, 2, 3], [4, 5]]
    assert [g["reasons"] for g in groups] == [["same domain", "similar name"], ["similar name"]]
    assert [g["similarity"] for g in groups] == [100, 100]
    assert groups[0]["companies"][1]["people_count"] == 1


def test_dedupe_companies_table(cli, company_groups):
    result = cli.ok("dedupe", "--companies")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Group", "ID", "Name", "Domain", "People", "Open", "deals",
                                "Reason", "Similarity"]  # fmt: skip
    assert len(lines) == 1 + 5
    assert result.stderr.splitlines()[0] == "2 group(s)"


def test_dedupe_companies_merge_moves_people_and_deals_to_the_oldest(cli, company_groups):
    result = cli.ok("dedupe", "--companies", "--merge", "--yes")
    assert result.stderr.splitlines() == [
        "merged #2, #3 into #1 Lopez Bakery S.L.: moved 1 person, 1 deal, 1 tag; "
        "filled industry, city",
        "merged #5 into #4 Acme Inc: moved nothing",
    ]
    assert [c["id"] for c in cli.json("company", "list")] == [4, 1, 6]
    maria = cli.json("show", "1")
    assert (maria["company"], maria["company_id"]) == ("Lopez Bakery S.L.", 1)
    lopez = cli.json("company", "show", "1")
    assert (lopez["people_count"], lopez["open_deals"], lopez["city"]) == (1, 1, "Madrid")
    assert lopez["deals"][0]["company_id"] == 1
    assert cli.json("dedupe", "--companies") == []


def test_dedupe_companies_merge_json_and_refusals(cli, company_groups):
    results = cli.json("dedupe", "--companies", "--merge", "--yes")
    assert [r["company"]["id"] for r in results] == [1, 4]
    assert results[0]["moved"] == {"people": 1, "deals": 1, "tags": 1}
    assert list(results[0]) == ["company", "merged", "moved", "filled"]
    cli.assert_user_error(cli("dedupe", "--companies", "--merge"), "add --yes")
    cli.assert_user_error(cli("dedupe", "--companies", "--threshold", "0"), "between 1 and 100")


def test_a_merged_contacts_history_is_shown_as_its_own_block(cli):
    """Chloe's creation and her stage move come under "from #2 Chloe
    Lefevre", not mixed into Maria's own timeline; the JSON says where each
    entry came from."""
    cli.ok("add", "Maria Lopez", "--email", "maria@example.com")
    cli.ok("add", "Chloe Lefevre", "--email", "chloe@example.com")
    cli.ok("stage", "2", "interest")
    cli.ok("log", "2", "call", "wants croissants")
    cli.ok("log", "1", "note", "met at the fair")
    cli.ok("merge", "1", "2")
    text = cli.ok("show", "1").stdout
    own, merged = text.split("  from #2 Chloe Lefevre (merged into this contact):\n")
    assert "met at the fair" in own and "croissants" not in own
    assert "wants croissants" in merged and "awareness → interest" in merged
    assert all(line.startswith("    ") for line in merged.splitlines() if line.strip())
    timeline = cli.json("show", "1", "--json")["timeline"]
    origins = {(e.get("summary") or e.get("to_stage"), str(e["merged_from"])) for e in timeline}
    assert ("wants croissants", str({"id": 2, "name": "Chloe Lefevre"})) in origins
    assert ("met at the fair", "None") in origins
