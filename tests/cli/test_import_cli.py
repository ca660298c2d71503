"""`crm import FILE`, `crm import --list`, `crm import --undo BATCH`: exit
codes, what goes to stdout and stderr, and that a refused import writes
nothing."""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicrm.commands import app
from minicrm.commands import imports as import_command

if "import" not in {command.name for command in app.registered_commands}:
    import_command.register(app)  # until commands/__init__.py registers it

SHEET = "name,email,phone\nAnn Lee,ann@example.com,+1 415 555 0101\nBob,bob@example.com,\n"


def write(tmp_path, content, name="people.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_import_prints_a_summary_on_stderr_and_nothing_on_stdout(cli, tmp_path):
    result = cli.ok("import", write(tmp_path, SHEET))
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "crm: imported people.csv as batch #1: 2 created, 0 updated, "
        "0 skipped (duplicates), 0 rejected"
    )
    listed = cli.json("list")
    assert sorted(c["name"] for c in listed) == ["Ann Lee", "Bob"]


def test_import_json_report(cli, tmp_path):
    cli.ok("import", write(tmp_path, SHEET))
    result = cli.ok("import", write(tmp_path, SHEET), "--json")
    report = json.loads(result.stdout)
    assert (report["batch_id"], report["created"], report["skipped"]) == (2, 0, 2)
    assert report["file_name"] == "people.csv" and report["dry_run"] is False
    assert report["skipped_rows"] == [
        {"line": 2, "reason": "duplicate of #1 Ann Lee (same email)"},
        {"line": 3, "reason": "duplicate of #2 Bob (same email)"},
    ]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no file at"),
        ("DIR", "is a folder"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (bytes(range(256)) * 8, "looks like a binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
        (b"name,email\n", "holds no contacts"),
        (b"foo,bar\n1,2\n", "no column of people.csv is recognised"),
        (b'name\n"unclosed' + b"x" * 200_000 + b"\n", "cannot read people.csv"),
    ],
)
def test_files_that_cannot_be_imported_are_one_line_and_write_nothing(
    cli, tmp_path, content, fragment
):
    if content is None:
        path = str(tmp_path / "missing.csv")
    elif content == "DIR":
        (tmp_path / "people.csv").mkdir()
        path = str(tmp_path / "people.csv")
    else:
        path = write(tmp_path, content)
    before = cli.table_counts()
    result = cli("import", path)
    cli.assert_user_error(result, fragment)
    assert cli.table_counts() == before


def test_rejected_rows_exit_2_with_a_summary_line_then_each_row(cli, tmp_path):
    content = "name,email,stage\nAnn,ann@example.com,\nBob,bob@,\n,x@example.com,nowhere\n"
    before = cli.table_counts()
    result = cli("import", write(tmp_path, content))
    assert result.exit_code == 2 and result.stdout == ""
    no_traceback(result)
    assert result.stderr.splitlines() == [
        "crm: error: 2 rows rejected, nothing imported (use --skip-invalid to import the rest)",
        "  line 3: invalid email 'bob@': There must be something after the @-sign.",
        "  line 4: unknown stage 'nowhere'; stages: awareness, interest, decision, action, won, "
        "lost",
    ]
    assert cli.table_counts() == before


def test_skip_invalid_imports_the_rest_and_lists_the_rejected(cli, tmp_path):
    content = "name,email\nAnn,ann@example.com\nBob,bob@\n"
    result = cli.ok("import", write(tmp_path, content), "--skip-invalid")
    assert "crm: rejected line 3: invalid email 'bob@'" in result.stderr
    assert "1 created, 0 updated, 0 skipped (duplicates), 1 rejected" in result.stderr
    assert [c["name"] for c in cli.json("list")] == ["Ann"]


def test_dry_run_prints_the_plan_and_writes_nothing(cli, tmp_path):
    cli.ok("add", "Ann Lee", "--email", "ann@example.com")
    before = cli.table_counts()
    content = SHEET + "Cy,cy@,\n"
    result = cli("import", write(tmp_path, content), "--dry-run", "--on-duplicate", "update")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "line 2: update Ann Lee <ann@example.com> into #1 Ann Lee (same email)",
        "line 3: create Bob <bob@example.com>",
        "line 4: reject invalid email 'cy@': There must be something after the @-sign.",
    ]
    assert result.stderr.splitlines()[0].startswith("crm: error: 1 row rejected, the import would")
    result = cli.ok("import", write(tmp_path, content), "--dry-run", "--skip-invalid")
    assert "crm: dry run of people.csv, nothing written: would be 1 created" in result.stderr
    assert cli.table_counts() == before


def test_map_with_an_unknown_field_lists_the_fields(cli, tmp_path):
    result = cli("import", write(tmp_path, SHEET), "--map", "name=fullname")
    cli.assert_user_error(result, "cannot map to 'fullname'", "fields: name, email, phone")


def test_map_to_a_missing_column(cli, tmp_path):
    result = cli("import", write(tmp_path, SHEET), "--map", "Full name=name")
    cli.assert_user_error(result, "--map names column 'Full name'", "columns: name, email, phone")


def test_map_and_dates(cli, tmp_path):
    content = "Kunde;Seit;Stufe;Geändert\nAnn;03.04.2025;decision;05.04.2025\n"
    result = cli.ok(
        "import", write(tmp_path, content), "--map", "Kunde=name", "--map", "Seit=created_at",
        "--map", "Stufe=stage", "--map", "Geändert=stage_changed_at",
    )  # fmt: skip
    assert "dates in column 'Seit' read as D.M.YYYY" in result.stderr
    [ann] = cli.json("list")
    assert (ann["created_at"], ann["stage"]) == ("2025-04-03T00:00:00+00:00", "decision")


def test_cp1252_warning_goes_to_stderr(cli, tmp_path):
    result = cli.ok("import", write(tmp_path, "name\nJosé\n".encode("cp1252")))
    assert "crm: note: people.csv is not UTF-8; read it as Windows cp1252" in result.stderr


def test_list_and_undo(cli, tmp_path):
    cli.ok("import", write(tmp_path, SHEET))
    listed = json.loads(cli.ok("import", "--list", "--json").stdout)
    assert [(b["id"], b["file_name"], b["counts"]["created"]) for b in listed] == [
        (1, "people.csv", 2)
    ]
    table = cli.ok("import", "--list").stdout
    assert table.splitlines()[0].split() == [
        "Batch", "When", "File", "Format", "Created", "Updated", "Skipped", "Rejected", "Undone",
    ]  # fmt: skip
    result = cli.ok("import", "--undo", "1")
    assert result.stderr.strip() == (
        "crm: undid import #1 (people.csv): deleted 2 contacts it created, restored 0 it updated"
    )
    assert cli.json("list") == []
    cli.assert_user_error(cli("import", "--undo", "1"), "already undone")
    cli.assert_user_error(cli("import", "--undo", "7"), "no import batch #7")


def test_undo_of_a_changed_contact_needs_force(cli, tmp_path):
    cli.ok("import", write(tmp_path, SHEET))
    cli.ok("edit", "Bob", "--city", "Rome")
    cli.assert_user_error(cli("import", "--undo", "1"), "#2 Bob", "--force")
    cli.ok("import", "--undo", "1", "--force")
    assert cli.json("list") == []


def test_nothing_to_do_is_a_usage_error(cli, tmp_path):
    cli.assert_user_error(cli("import"), "give a FILE to import, or --list, or --undo BATCH")
    cli.assert_user_error(cli("import", "--list", "--undo", "1"), "give a FILE")


def test_vcard_files_go_through_the_same_pipeline(cli, tmp_path):
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
        "EMAIL:ann@example.com\r\nTEL:+1 415 555 0101\r\nORG:Acme\r\n"
        "CATEGORIES:vip\r\nEND:VCARD\r\n"
    )
    cli.ok("import", write(tmp_path, card, "people.vcf"))
    [ann] = cli.json("list")
    assert (ann["name"], ann["email"], ann["phone"], ann["company"], ann["tags"]) == (
        "Ann Lee", "ann@example.com", "+14155550101", "Acme", ["vip"],
    )  # fmt: skip
    again = cli.ok("import", write(tmp_path, card, "people.txt"), "--format", "vcf")
    assert "1 skipped (duplicates)" in again.stderr


def test_an_unparsable_vcard_is_one_line_of_the_rejection_list(cli, tmp_path):
    result = cli("import", write(tmp_path, "BEGIN:VCARD\nVERSION:3.0\nFN:A\n", "bad.vcf"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "  line 1: card 1 (line 1) is not closed: END:VCARD is missing"
    ]
    no_traceback(result)


def test_the_readable_cards_of_a_file_with_a_broken_one_import_with_skip_invalid(cli, tmp_path):
    text = "BEGIN:VCARD\nFN:Ann\nEND:VCARD\nBEGIN:VCARD\nFN:Broken\nBEGIN:VCARD\nFN:Bo\nEND:VCARD\n"
    result = cli("import", write(tmp_path, text, "mixed.vcf"), "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert "2 created" in result.stderr and "1 rejected" in result.stderr
    assert [c["name"] for c in cli.json("list")] == ["Ann", "Bo"]


@pytest.mark.sqlite_only("restores into a second database file")
def test_json_export_round_trip_through_the_cli(cli, tmp_path, migrated_template):
    import shutil

    from cli_support import Cli

    cli.ok("add", "Ann Lee", "--email", "ann@example.com", "--tag", "vip", "--value", "12.5")
    cli.ok("log", "Ann", "call", "hello")
    exported = cli.ok("export", "all", "--format", "json").stdout
    other_db = tmp_path / "other.db"
    shutil.copyfile(migrated_template, other_db)
    other = Cli(f"sqlite:///{other_db}")
    result = other.ok("import", write(tmp_path, exported, "backup.json"))
    assert "1 created" in result.stderr
    assert other.ok("export", "all", "--format", "json").stdout == exported
    cli.assert_user_error(cli("import", str(tmp_path / "backup.json")), "empty database")


def test_map_does_not_apply_to_json_or_vcard(cli, tmp_path):
    result = cli("import", write(tmp_path, '{"contacts": []}', "b.json"), "--map", "a=name")
    cli.assert_user_error(result, "--map applies to CSV files only")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    options=st.lists(
        st.sampled_from(["--dry-run", "--skip-invalid", "--json", "--force", "--list"])
        | st.tuples(st.sampled_from(["--on-duplicate", "--format", "--map", "--undo"]),
                    st.text(alphabet=string.printable, max_size=8)),
        max_size=4,
    )
)  # fmt: skip
def test_any_options_give_success_or_a_user_error(cli, tmp_path, options):
    args = [write(tmp_path, SHEET)]
    for option in options:
        args += [option] if isinstance(option, str) else list(option)
    result = cli("import", *args)
    no_traceback(result)
    assert result.exit_code in (0, 2), (args, result.stderr)
    if result.exit_code == 2:
        assert result.stderr.startswith("crm: error: ")


def test_the_progress_bar_shows_for_large_files_only():
    bar = import_command._ProgressBar()
    bar(1_000, 4_000)
    assert bar.progress is None
    bar(5_000, 50_000)
    try:
        assert bar.progress is not None
        assert bar.progress.tasks[0].completed == 5_000
    finally:
        bar.stop()


@pytest.mark.parametrize("fmt", ["csv", "vcf"])
def test_importing_your_own_export_again_makes_no_copies(cli, tmp_path, fmt):
    """Each row is matched by its id (the CSV's id, the vCard's UID); without
    ids, contacts with no email and no phone are matched by name and company,
    as `crm add` matches them, and the others by email or phone."""
    cli.ok("add", "Ann Lee", "--company", "Olive Grove")
    cli.ok("add", "Ann Lee", "--company", "Other Shop", "--force")  # a namesake elsewhere
    cli.ok("add", "Bo Berg", "--email", "bo@example.com")
    cli.ok("add", "علی کریمی")
    exported = tmp_path / f"mine.{fmt}"
    cli.ok("export", "contacts", "-o", str(exported))
    result = cli.ok("import", str(exported))
    assert "0 created" in result.stderr and "4 skipped" in result.stderr
    assert result.stderr.count("(same id)") == 4
    assert "columns not imported" not in result.stderr
    without_ids = tmp_path / f"no-ids.{fmt}"
    without_ids.write_text(_without_ids(exported.read_text(encoding="utf-8"), fmt), "utf-8")
    result = cli.ok("import", str(without_ids))
    assert "0 created" in result.stderr and "4 skipped" in result.stderr
    assert "same name and company" in result.stderr and "same email" in result.stderr
    assert len(cli.json("list")) == 4


def _without_ids(text: str, fmt: str) -> str:
    """An export with its ids taken out (the id column, the UID lines)."""
    import csv
    import io

    if fmt == "vcf":
        return "".join(line for line in text.splitlines(True) if not line.startswith("UID:"))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO()
    csv.writer(out).writerows(row[1:] for row in rows)  # id is the first column
    return out.getvalue()
