import csv
import io
import json
import os
import stat
import sys

import pytest


def test_add_prints_the_new_id_and_show_displays_every_given_field(cli):
    result = cli.ok(
        "add", "Γιώργος Παπαδόπουλος", "--email", "Giorgos@Example.GR", "--phone",
        "+30 210 123 4567", "--company", "Acme", "--stage", "Interest", "--value", "1,250.50",
        "--tag", "VIP", "--set", "birthday=1980-02-03", "--owner", "sara",
    )  # fmt: skip
    assert result.stdout == "1\n"
    shown = cli.json("show", "1")
    assert shown["name"] == "Γιώργος Παπαδόπουλος"
    assert shown["email"] == "Giorgos@example.gr"
    assert shown["phone"] == "+302101234567"
    assert shown["stage"] == "interest"
    assert shown["value"] == 1250.5
    assert shown["tags"] == ["vip"]
    assert shown["extra"] == {"birthday": "1980-02-03"}
    assert shown["timeline"][0]["type"] == "stage_change"
    assert shown["timeline"][0]["to_stage"] == "interest"


def test_contact_json_has_exactly_the_documented_keys_in_order(cli):
    cli.ok("add", "Ann Smith")
    [contact] = cli.json("list")
    assert list(contact) == [
        "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
        "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
        "score", "lost_reason", "open_deals", "created_at", "updated_at",
    ]  # fmt: skip
    assert contact["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["add", "Bad", "--email", "not-an-email"], "invalid email"),
        (["add", "Bad", "--value", "lots"], "invalid value"),
        (["add", "Bad", "--stage", "nowhere"], "unknown stage 'nowhere'"),
        (["add", "Bad", "--stage", "lost"], "needs a reason"),
        (["add", "   "], "needs a name"),
        (["add", "Bad", "--set", "novalue"], "key=value"),
        (["add", "Bad", "--tag", ","], "invalid tag"),
        (["list", "--sort", "age"], "unknown sort"),
        (["show", "nobody"], "no contact matches 'nobody'"),
        (["show", "99"], "no contact #99"),
        (["list", "--bogus"], "No such option"),
        (["config", "set", "colour", "red"], "unknown setting"),
        (["search", "!!!"], "nothing to search for"),
    ],
)
def test_user_mistakes_exit_2_with_one_line_and_write_nothing(cli, args, fragment):
    cli.ok("add", "Existing Person")
    before = cli.table_counts()
    cli.assert_user_error(cli(*args), fragment)
    assert cli.table_counts() == before


def test_duplicate_is_refused_without_a_tty_and_listed(cli):
    cli.ok("add", "Maria Lopez", "--email", "maria@shop.example")
    before = cli.table_counts()
    result = cli("add", "M. Lopez", "--email", "MARIA@shop.example")
    cli.assert_user_error(result, "likely duplicate of #1 Maria Lopez", "--force")
    assert cli.table_counts() == before
    assert cli.ok("add", "M. Lopez", "--email", "maria@shop.example", "--force").stdout == "2\n"


def test_similar_name_and_company_counts_as_a_duplicate(cli):
    cli.ok("add", "Maria Lopez", "--company", "Lopez Bakery")
    cli.assert_user_error(
        cli("add", "maria  lopez", "--company", "Lopez Bakery"), "likely duplicate"
    )
    cli.ok("add", "Maria Lopez", "--company", "Hardware Depot")  # another Maria elsewhere


def test_list_filters_sorts_and_limits(cli):
    cli.ok("add", "Zoe", "--stage", "decision", "--owner", "Sara", "--source", "referral")
    cli.ok("add", "Adam", "--tag", "vip", "--owner", "sara")
    cli.ok("add", "Ζωή Νικολάου", "--note", "wants the blue sofa")
    assert [c["name"] for c in cli.json("list")] == ["Adam", "Zoe", "Ζωή Νικολάου"]
    assert [c["name"] for c in cli.json("list", "--stage", "DECISION")] == ["Zoe"]
    assert [c["name"] for c in cli.json("list", "--tag", "VIP")] == ["Adam"]
    assert [c["name"] for c in cli.json("list", "--owner", "SARA")] == ["Adam", "Zoe"]
    assert [c["name"] for c in cli.json("list", "--source", "referral")] == ["Zoe"]
    assert [c["name"] for c in cli.json("list", "--search", "sofa")] == ["Ζωή Νικολάου"]
    assert [c["name"] for c in cli.json("list", "--sort", "created")][0] == "Ζωή Νικολάου"
    assert len(cli.json("list", "--limit", "2")) == 2


def test_plain_table_when_piped_has_no_colour_codes_and_aligns(cli):
    cli.ok("add", "Adam Long-Name", "--company", "Co")
    cli.ok("add", "علی کریمی")
    out = cli.ok("list").stdout
    assert "\x1b[" not in out
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "Name", "Company", "Stage", "Value", "Score", "Owner", "Tags"]
    assert rows[0].index("Co") == header.index("Company")


def test_csv_output_parses_back_and_neutralises_formulas(cli):
    cli.ok("add", '=HYPERLINK("http://evil")', "--company", "@corp", "--tag", "a", "--tag", "b")
    rows = list(csv.DictReader(io.StringIO(cli.ok("list", "--csv").stdout)))
    assert rows[0]["name"].startswith("'=HYPERLINK")
    assert rows[0]["company"] == "'@corp"
    assert rows[0]["tags"] == "a,b"


def test_edit_fields_tags_and_clearing(cli):
    cli.ok("add", "Maria Lopez", "--company", "Old Co", "--tag", "cold")
    cli.ok("edit", "maria", "--company", "", "--city", "Madrid", "--tag", "+hot", "--tag", "-cold")
    shown = cli.json("show", "maria")
    assert shown["company"] is None
    assert shown["city"] == "Madrid"
    assert shown["tags"] == ["hot"]


def test_edit_stage_records_history_and_lost_needs_a_reason(cli):
    cli.ok("add", "Maria Lopez")
    cli.ok("edit", "maria", "--stage", "decision")
    before = cli.table_counts()
    cli.assert_user_error(cli("edit", "maria", "--stage", "lost"), "needs a reason")
    assert cli.table_counts() == before
    cli.ok("edit", "maria", "--stage", "lost", "--lost-reason", "no budget")
    changes = [e for e in cli.json("show", "maria")["timeline"] if e["type"] == "stage_change"]
    assert [(c["from_stage"], c["to_stage"], c["reason"]) for c in changes] == [
        ("decision", "lost", "no budget"),
        ("awareness", "decision", None),
        (None, "awareness", None),
    ]


def _write_editor(tmp_path, python_code: str) -> str:
    script = tmp_path / "fake_editor.py"
    script.write_text("import sys, pathlib\npath = pathlib.Path(sys.argv[1])\n" + python_code)
    return f"{sys.executable} {script}"


def test_edit_without_flags_opens_toml_in_editor_and_saves_changes(cli, tmp_path):
    cli.ok("add", "Maria Lopez", "--tag", "cold")
    editor = _write_editor(
        tmp_path,
        "text = path.read_text()\n"
        "text = text.replace('city = \"\"', 'city = \"Sevilla\"')\n"
        'text = text.replace(\'"cold"\', \'"warm", "vip"\')\n'
        "text = text.replace('[extra]', '[extra]\\nshoe_size = \"38\"')\n"
        "path.write_text(text)\n",
    )
    cli.ok("edit", "maria", env={"EDITOR": editor})
    shown = cli.json("show", "maria")
    assert shown["city"] == "Sevilla"
    assert shown["tags"] == ["vip", "warm"]
    assert shown["extra"] == {"shoe_size": "38"}


def test_editor_mistake_without_tty_exits_2_and_changes_nothing(cli, tmp_path):
    cli.ok("add", "Maria Lopez")
    editor = _write_editor(
        tmp_path, "path.write_text(path.read_text().replace('email = \"\"', 'email = \"x@\"'))\n"
    )
    before = cli.table_counts()
    cli.assert_user_error(cli("edit", "maria", env={"EDITOR": editor}), "invalid email")
    assert cli.table_counts() == before


def test_editor_saving_unchanged_file_changes_nothing(cli, tmp_path):
    cli.ok("add", "Maria Lopez")
    editor = _write_editor(tmp_path, "pass\n")
    result = cli.ok("edit", "maria", env={"EDITOR": editor})
    assert "no changes" in result.stderr
    assert cli.json("show", "maria")["updated_at"] == cli.json("show", "maria")["created_at"]


def test_rm_trash_restore_and_purge(cli):
    cli.ok("add", "Maria Lopez")
    cli.ok("rm", "maria")
    assert cli.json("list") == []
    assert [c["name"] for c in cli.json("trash")] == ["Maria Lopez"]
    cli.ok("restore", "maria")
    assert [c["name"] for c in cli.json("list")] == ["Maria Lopez"]
    cli.assert_user_error(cli("rm", "maria", "--purge"), "--yes")
    cli.ok("rm", "maria", "--purge", "--yes")
    assert cli.table_counts()["contact"] == 0
    assert cli.table_counts()["stage_change"] == 0


def test_search_finds_persian_and_greek_typed_either_way(cli):
    cli.ok("add", "علي كريمي")  # typed on an Arabic keyboard
    cli.ok("add", "مهر\u200cناز رضایی")  # with a zero-width non-joiner
    cli.ok("add", "Γιώργος Παπαδόπουλος")
    assert [h["name"] for h in cli.json("search", "علی کریمی")] == ["علي كريمي"]
    assert [h["name"] for h in cli.json("search", "مهرناز")] == ["مهر\u200cناز رضایی"]
    assert [h["name"] for h in cli.json("search", "ΓΙΩΡΓΟΣ")] == ["Γιώργος Παπαδόπουλος"]
    assert [h["name"] for h in cli.json("search", "παπαδ")] == ["Γιώργος Παπαδόπουλος"]
    # Names come back exactly as they were typed.
    assert cli.json("show", "کریمی")["name"] == "علي كريمي"


def test_ambiguous_ref_lists_the_candidates(cli):
    cli.ok("add", "Ann Smith")
    cli.ok("add", "Ann Jones")
    cli.assert_user_error(cli("show", "ann"), "#1 Ann Smith", "#2 Ann Jones")


def test_config_set_get_list(cli):
    cli.ok("config", "set", "currency", "eur")
    assert cli.ok("config", "get", "currency").stdout == "EUR\n"
    assert cli.json("config", "list")["currency"] == "EUR"
    cli.assert_user_error(cli("config", "set", "timezone", "Mars/Base"), "unknown time zone")


def test_default_region_setting_is_used_for_phone_numbers(cli):
    cli.ok("config", "set", "default_region", "DE")
    cli.ok("add", "Hans Müller", "--phone", "030 12345678")
    assert cli.json("show", "hans")["phone"] == "+493012345678"


def test_database_file_is_private_in_a_private_folder(tmp_path):
    from typer.testing import CliRunner

    from minicrm.commands import app

    result = CliRunner().invoke(app, ["add", "Maria"], env={"XDG_DATA_HOME": str(tmp_path / "d")})
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "d" / "minicrm"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "crm.db").st_mode) == 0o600


@pytest.mark.sqlite_only("file backups; PostgreSQL uses pg_dump")
def test_db_path_backup_restore_and_check(cli, tmp_path):
    assert cli.ok("db", "path").stdout.strip() == str(cli.db_path)
    cli.ok("add", "Kept Person")
    backup = tmp_path / "b.db"
    assert cli.ok("db", "backup", str(backup)).stdout.strip() == str(backup)
    cli.ok("add", "Later Person")
    cli.assert_user_error(cli("db", "restore", str(backup)), "--yes")
    cli.ok("db", "restore", str(backup), "--yes")
    assert [c["name"] for c in cli.json("list")] == ["Kept Person"]
    report = cli.json("db", "check")
    assert report["ok"] is True
    assert report["counts"]["contacts"] == 1
    cli.assert_user_error(cli("db", "backup", str(backup)), "already exists")


@pytest.mark.sqlite_only("file backups; PostgreSQL uses pg_dump")
def test_restore_refuses_a_file_that_is_not_a_database(cli, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    cli.ok("add", "Kept Person")
    cli.assert_user_error(cli("db", "restore", str(junk), "--yes"), "not a minicrm database")
    assert [c["name"] for c in cli.json("list")] == ["Kept Person"]


def test_internal_errors_are_one_line_without_debug_and_traceback_with_it(cli, monkeypatch):
    import minicrm.services.contacts.listing as contacts

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(contacts, "list_contacts", explode)
    result = cli("list")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "crm: error: internal error: RuntimeError: boom (run with CRM_DEBUG=1 for details)"
    ]
    monkeypatch.setenv("CRM_DEBUG", "1")
    result = cli("list")
    assert isinstance(result.exception, RuntimeError)


def test_json_output_is_only_json(cli):
    cli.ok("add", "Maria")
    for args in (["list", "--json"], ["show", "1", "--json"], ["search", "maria", "--json"]):
        json.loads(cli.ok(*args).stdout)


def test_mine_scopes_to_the_current_user(cli):
    cli.ok("add", "Maria Lopez", "--owner", "ana")
    cli.ok("add", "Nikos Papadakis", "--owner", "sam")
    cli.ok("followup", "add", "maria", "tomorrow", "call")
    cli.ok("followup", "add", "nikos", "tomorrow", "call")
    as_ana = {"CRM_USER": "ana"}
    listed = json.loads(cli.ok("list", "--mine", "--json", env=as_ana).stdout)
    assert [c["name"] for c in listed] == ["Maria Lopez"]
    agenda = json.loads(cli.ok("followup", "list", "--mine", "--json", env=as_ana).stdout)
    assert [f["contact_name"] for f in agenda] == ["Maria Lopez"]
    cli.assert_user_error(cli("list", "--mine", "--owner", "sam"), "choose one of --mine")


@pytest.mark.parametrize(
    ("delete", "listing"),
    [
        (("rm", "Ann"), ("list",)),
        (("rm", "Ann", "--purge"), ("list",)),
        (("deal", "rm", "1"), ("deal", "list")),
        (("company", "rm", "Olive Grove"), ("company", "list")),
    ],
)
def test_enter_at_a_delete_question_deletes_nothing(cli, monkeypatch, delete, listing):
    """Every destructive question defaults to No: [y/N]."""
    from minicrm.commands import _output

    cli.ok("add", "Ann Lee", "--company", "Olive Grove")
    before = cli.json(*listing)
    monkeypatch.setattr(_output, "interactive", lambda: True)
    result = cli(*delete, input="\n")
    assert result.exit_code == 1 and "[y/N]" in result.stdout + result.stderr
    assert cli.json(*listing) == before


@pytest.mark.sqlite_only("damages the SQLite file itself")
def test_db_check_on_a_damaged_file_reports_it_and_names_the_newest_backup(cli, tmp_path):
    for number in range(40):
        cli.ok("add", f"Person {number:02d} Example", "--force", "--note", "x" * 400)
    backups = cli.db_path.parent / "backups"
    older, newer = backups / f"{cli.db_path.stem}-1.db", backups / f"{cli.db_path.stem}-2.db"
    for backup in (older, newer):
        cli.ok("db", "backup", str(backup))
    import os

    os.utime(older, (1, 1))
    with cli.db_path.open("r+b") as file:  # clobber pages past the header
        file.seek(4096 * 2)
        file.write(b"\xde\xad\xbe\xef" * 4096)
    result = cli("db", "check")
    assert result.exit_code == 1, result.stderr
    assert "integrity:        not ok (" in result.stdout
    assert f"crm db restore {newer}" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    report = json.loads(cli("db", "check", "--json").stdout)
    assert (report["integrity"], report["newest_backup"]) == ("not ok", str(newer))
    listing = cli("list")  # any other command: one clear line, exit 1
    assert listing.exit_code == 1
    assert listing.stderr.startswith("crm: error: the database file is damaged")
    assert "`crm db check`" in listing.stderr


def test_what_you_add_is_yours_and_mine_finds_it(cli):
    """CRM_USER is who you are: a contact, its deal and a follow-up you add
    are yours unless --owner says whose ("" for nobody)."""
    me = {"CRM_USER": "Ana"}
    cli.ok("add", "Maria Lopez", env=me)
    cli.ok("add", "Bo Berg", "--owner", "Sam", env=me)
    cli.ok("add", "Nobody Owns", "--owner", "", env=me)
    cli.ok("deal", "add", "--title", "Loose deal", "--value", "5", env=me)
    cli.ok("followup", "add", "Maria", "tomorrow 10am", "call", env=me)
    mine = json.loads(cli.ok("list", "--mine", "--json", env=me).stdout)
    assert [c["name"] for c in mine] == ["Maria Lopez"]
    deals = {d["title"]: d["owner"] for d in cli.json("deal", "list")}
    assert deals == {"Maria Lopez": "Ana", "Bo Berg": "Sam", "Nobody Owns": None,
                     "Loose deal": "Ana"}  # fmt: skip
    followups = json.loads(cli.ok("followup", "list", "--all", "--mine", "--json", env=me).stdout)
    assert [f["contact_name"] for f in followups] == ["Maria Lopez"]


@pytest.mark.sqlite_only("a new SQLite file")
def test_a_new_database_is_announced_once_and_db_path_creates_none(cli, tmp_path):
    from minicrm.commands import app

    fresh = tmp_path / "typo" / "crm.db"
    first = cli.runner.invoke(app, ["--db", str(fresh), "list"])
    assert first.exit_code == 0 and f"crm: created a new database at {fresh}" in first.stderr
    again = cli.runner.invoke(app, ["--db", str(fresh), "list"])
    assert again.exit_code == 0 and "created" not in again.stderr
    other = tmp_path / "other.db"
    assert cli.runner.invoke(app, ["--db", str(other), "db", "path"]).stdout.strip() == str(other)
    assert not other.exists()


def test_a_trashed_record_says_it_is_in_the_trash_and_how_to_restore_it(cli):
    cli.ok("add", "Ann Lee", "--company", "Olive Grove")
    cli.ok("rm", "Ann", "--yes")
    for ref in ("Ann", "1"):
        cli.assert_user_error(cli("show", ref), "#1 Ann Lee is in the trash", "`crm restore 1`")
    cli.ok("restore", "1")
    cli.assert_user_error(cli("restore", "1"), "#1 Ann Lee is not in the trash", "`crm trash`")
    cli.ok("deal", "rm", "1", "--yes")
    cli.assert_user_error(cli("deal", "show", "1"), "is in the trash", "`crm deal restore 1`")
    cli.ok("deal", "restore", "1")
    cli.assert_user_error(cli("deal", "restore", "1"), "is not in the trash")
    cli.ok("company", "rm", "Olive", "--yes")
    cli.assert_user_error(cli("company", "show", "Olive"), "`crm company restore 1`")
    cli.ok("company", "restore", "Olive")
    cli.assert_user_error(cli("company", "restore", "Olive"), "is not in the trash")


def test_demo_refuses_a_database_that_holds_data_unless_forced(cli):
    cli.ok("add", "Ann Lee")
    cli.assert_user_error(cli("demo", "--contacts", "5"), "already holds 1 contacts", "--force")
    assert [c["name"] for c in cli.json("list")] == ["Ann Lee"]
    cli.ok("demo", "--contacts", "5", "--force")
    assert len(cli.json("list")) == 6


@pytest.mark.sqlite_only("file backups")
def test_tilde_and_dash_mean_the_same_for_every_file_argument(cli, tmp_path, monkeypatch):
    """`~` is the home folder even when quoted; `-` streams where a command
    can, and is a clear error where it cannot (never a file named - or ~)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    cli.ok("add", "Kept Person")
    assert cli.ok("db", "backup", "~/copy.db").stdout.strip() == str(home / "copy.db")
    assert (home / "copy.db").is_file() and not (tmp_path / "~").exists()
    cli.assert_user_error(cli("db", "backup", "-"), "must be a file, not -")
    cli.assert_user_error(cli("db", "restore", "-", "--yes"), "must be a file, not -")
    result = cli("import", "-", input="name,email\nAnn Lee,ann@example.com\n")
    assert result.exit_code == 0, result.stderr
    assert sorted(c["name"] for c in cli.json("list")) == ["Ann Lee", "Kept Person"]
    cli.ok("export", "contacts", "-o", "~/people.csv")
    assert (home / "people.csv").read_text().startswith("id,name")
    assert cli.ok("export", "contacts", "--format", "csv", "-o", "-").stdout.startswith("id,name")


@pytest.mark.parametrize("how", ["purge", "merge"])
def test_an_id_is_never_handed_out_twice(cli, how):
    """After the newest contact is purged or merged away, the next contact,
    deal and follow-up get new ids, never the old ones (SQLite AUTOINCREMENT,
    PostgreSQL sequences)."""
    cli.ok("add", "Ann Lee")
    newest = cli.json("add", "Bo Berg")["id"]
    cli.ok("followup", "add", "Bo", "tomorrow 10am", "call")
    old_deals = {d["id"] for d in cli.json("deal", "list", "--all")}
    old_followups = {f["id"] for f in cli.json("followup", "list", "--all")}
    if how == "purge":
        cli.ok("rm", str(newest), "--purge", "--yes")
    else:
        cli.ok("merge", "Ann", str(newest))
    again = cli.json("add", "Cy Cole")
    assert again["id"] > newest
    new_deals = {d["id"] for d in cli.json("deal", "list", "--all")} - old_deals
    assert new_deals and min(new_deals) > max(old_deals)
    followup = cli.json("followup", "add", "Cy", "tomorrow 11am", "call")
    assert followup["id"] > max(old_followups)
    imported = cli("import", "-", input="name,email\nDi Dorn,di@example.com\n")
    assert imported.exit_code == 0, imported.stderr
    assert max(c["id"] for c in cli.json("list")) > again["id"]


def test_demo_data_after_a_purge_takes_new_ids_too(cli):
    cli.ok("add", "Ann Lee")
    newest = cli.json("add", "Bo Berg")["id"]
    cli.ok("rm", str(newest), "--purge", "--yes")
    cli.ok("demo", "--contacts", "3", "--force")
    assert min(c["id"] for c in cli.json("list") if c["name"] != "Ann Lee") > newest


def test_commands_that_remove_or_restore_print_the_object_with_json(cli):
    cli.ok("add", "Ann Lee", "--company", "Olive Grove")
    followup = cli.json("followup", "add", "Ann", "tomorrow 10am", "call")
    assert cli.json("followup", "rm", str(followup["id"]))["id"] == followup["id"]
    assert cli.json("deal", "rm", "1", "--yes")["id"] == 1
    assert cli.json("deal", "restore", "1")["id"] == 1
    assert cli.json("company", "rm", "Olive", "--yes")["name"] == "Olive Grove"
    assert cli.json("company", "restore", "Olive")["name"] == "Olive Grove"
    assert cli.json("rm", "Ann", "--yes")["name"] == "Ann Lee"
    assert cli.json("restore", "Ann")["name"] == "Ann Lee"
    assert cli.json("rm", "Ann", "--purge", "--yes")["name"] == "Ann Lee"


def test_cadence_set_and_rm_print_the_cadence_with_json(cli):
    cli.ok("add", "Ann Lee", "--tag", "vip")
    one = cli.json("cadence", "set", "Ann", "2w")
    assert one == {
        "id": one["id"], "contact_id": 1, "contact_name": "Ann Lee", "tag": None, "every_days": 14,
    }  # fmt: skip
    by_tag = cli.json("cadence", "set", "--tag", "vip", "30d")
    assert (by_tag["tag"], by_tag["every_days"]) == ("vip", 30)
    assert cli.json("cadence", "rm", "Ann") == one
    assert cli.json("cadence", "rm", "--tag", "vip")["tag"] == "vip"
    assert cli.json("cadence", "list") == []
