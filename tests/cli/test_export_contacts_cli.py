"""`crm export contacts --format csv|json|vcf` and `crm export all --format json`."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from minicrm.commands import export as export_command
from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.followups import add_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.transfer import exporting
from minicrm.services.transfer.vcard import read_vcards

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PERSIAN = "سارا احمدی"


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    monkeypatch.setattr(export_command, "_now", lambda: NOW)


@pytest.fixture
def contacts(engine) -> dict[str, int]:
    with session_scope(engine) as session:

        def contact(name, **fields):
            return add_contact(session, ContactInput(name=name, **fields), now=NOW).id

        ids = {
            "sara": contact(PERSIAN, email="sara@example.com", owner="alice", tags=["vip"]),
            "evil": contact("=1+1", company="@corp", owner="bob"),
            "gone": contact("Gone Person", owner="alice"),
        }
        log_interaction(session, ids["sara"], "call", "asked for a quote", now=NOW)
        add_followup(session, ids["sara"], NOW + timedelta(days=2), "send it", now=NOW)
        trash_contact(session, ids["gone"], now=NOW)
    return ids


def test_contacts_as_csv_on_stdout(cli, contacts):
    result = cli.ok("export", "contacts", "--format", "csv")
    assert result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode(), newline="")))
    assert [row["name"] for row in rows] == ["'=1+1", PERSIAN]  # live ones, by name
    assert rows[0]["company"] == "'@corp" and rows[1]["tags"] == "vip"
    assert result.stdout_bytes.endswith(b"\r\n")


def test_contacts_as_json_with_only_the_spec_keys(cli, contacts):
    exported = json.loads(cli.ok("export", "contacts", "-f", "json").stdout)
    assert [c["name"] for c in exported] == ["=1+1", PERSIAN]  # JSON needs no neutralising
    assert list(exported[0]) == list(exporting.CONTACT_COLUMNS)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_contacts_as_vcards(cli, contacts, version):
    result = cli.ok("export", "contacts", "-f", "vcf", "--vcard-version", version)
    text = result.stdout_bytes.decode()
    assert text.count(f"VERSION:{version}\r\n") == 2
    cards = read_vcards(text)
    assert [(c["name"], c.get("email")) for c in cards] == [
        ("=1+1", None), (PERSIAN, "sara@example.com"),
    ]  # fmt: skip


def test_owner_picks_one_salespersons_contacts(cli, contacts):
    exported = json.loads(cli.ok("export", "contacts", "-f", "json", "--owner", "ALICE").stdout)
    assert [c["id"] for c in exported] == [contacts["sara"]]


def test_output_file_and_the_confirmation_line(cli, contacts, tmp_path):
    on_stdout = cli.ok("export", "contacts", "-f", "csv").stdout_bytes
    target = tmp_path / "contacts.csv"
    result = cli.ok("export", "contacts", "-f", "csv", "-o", str(target))
    assert (result.stdout, result.stderr) == ("", f"crm: wrote 2 contacts to {target}\n")
    assert target.read_bytes() == on_stdout


def test_export_all_is_json_with_every_section_and_every_row(cli, contacts, tmp_path):
    data = json.loads(cli.ok("export", "all", "--format", "json").stdout)
    assert list(data) == list(exporting.ALL_SECTIONS)
    tables = {
        "contacts": "contact",
        "interactions": "interaction",
        "followups": "followup",
        "stage_changes": "stage_change",
        "settings": "setting",
        "cadences": "cadence",
    }
    for key, table in tables.items():
        assert len(data[key]) == cli.count(table), key
    assert len(data["contacts"]) == 3  # the trashed one too
    target = tmp_path / "backup.json"
    result = cli.ok("export", "all", "-f", "json", "-o", str(target))
    assert result.stderr == (
        f"crm: wrote 3 contacts, 1 interaction, 1 follow-up and 3 stage changes to {target}\n"
    )
    assert json.loads(target.read_text(encoding="utf-8")) == data


def test_export_all_of_an_empty_database(cli):
    data = json.loads(cli.ok("export", "all", "-f", "json").stdout)
    assert data == {key: {} if key == "settings" else [] for key in exporting.ALL_SECTIONS}


def half_then_fail(contacts, text, **_options):
    text.write("id,name\r\n1,half a file\r\n")
    raise UserError("the disk gave up halfway")


def test_a_failure_halfway_writes_nothing_to_stdout(cli, contacts, monkeypatch):
    monkeypatch.setattr(exporting, "write_contacts_csv", half_then_fail)
    cli.assert_user_error(cli("export", "contacts", "-f", "csv"), "the disk gave up halfway")


def test_a_failure_halfway_leaves_an_existing_file_alone(cli, contacts, monkeypatch, tmp_path):
    target = tmp_path / "out" / "contacts.csv"
    target.parent.mkdir()
    target.write_text("the old export")
    monkeypatch.setattr(exporting, "write_contacts_csv", half_then_fail)
    cli.assert_user_error(cli("export", "contacts", "-f", "csv", "-o", str(target)), "halfway")
    assert target.read_text() == "the old export"
    assert [p.name for p in target.parent.iterdir()] == ["contacts.csv"]  # no temp file left


PROBE = """
import json, sys
from minicrm.commands import main
sys.argv = ["crm", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


@pytest.mark.sqlite_only("runs crm in a subprocess against the database file")
@pytest.mark.parametrize(
    ("fmt", "needs", "never"), [("csv", None, "vobject"), ("vcf", "vobject", "icalendar")]
)
def test_a_contacts_export_loads_only_its_own_format_library(db_path, contacts, fmt, needs, never):
    env = {**os.environ, "CRM_DB": str(db_path)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "export", "contacts", "-f", fmt],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert never not in loaded and "icalendar" not in loaded
    assert needs is None or needs in loaded
