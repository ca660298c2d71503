"""`crm export followups --format ics`, and a clear error for what cannot be exported."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from minicrm.commands import app
from minicrm.commands import export as export_command
from minicrm.db import session_scope
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.followups import add_followup, complete_followup
from minicrm.services.records.config import set_setting

if "export" not in {command.name for command in app.registered_commands}:
    export_command.register(app)  # until commands/__init__.py registers it

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
GREEK = "Μαρία Παπαδοπούλου"


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    monkeypatch.setattr(export_command, "_now", lambda: NOW)


@pytest.fixture
def followups(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        maria = add_contact(session, ContactInput(name="Maria Lopez", owner="alice"), now=NOW)
        greek = add_contact(session, ContactInput(name=GREEK, owner="bob"), now=NOW)
        gone = add_contact(session, ContactInput(name="Gone Person"), now=NOW)
        made = {
            "quote": add_followup(session, maria.id, DUE, "send the quote", now=NOW).id,
            "weekly": add_followup(session, greek.id, DUE, "call", every="week", now=NOW).id,
            "done": add_followup(session, maria.id, DUE, "done already", now=NOW).id,
            "trashed": add_followup(session, gone.id, DUE, "gone", now=NOW).id,
        }
        complete_followup(session, made["done"], zone=UTC, now=NOW)
        trash_contact(session, gone.id, now=NOW)
    return made


def todos(data: bytes, name: str = "VTODO") -> dict[str, object]:
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk(name)}


def uid(followup_id: int) -> str:
    return f"followup-{followup_id}@minicrm"


def test_followups_as_ics_on_stdout(cli, followups):
    result = cli.ok("export", "followups", "--format", "ics")
    assert result.stderr == ""
    found = todos(result.stdout_bytes)
    assert sorted(found) == sorted([uid(followups["quote"]), uid(followups["weekly"])])
    quote = found[uid(followups["quote"])]
    assert str(quote["SUMMARY"]) == "Follow up: Maria Lopez — send the quote"
    assert quote.decoded("DUE") == DUE
    assert quote.decoded("DTSTAMP") == NOW
    assert dict(found[uid(followups["weekly"])]["RRULE"]) == {"FREQ": ["WEEKLY"]}
    assert result.stdout_bytes.startswith(b"BEGIN:VCALENDAR\r\n")


def test_output_file_holds_exactly_what_stdout_would(cli, followups, tmp_path):
    on_stdout = cli.ok("export", "followups", "--format", "ics").stdout_bytes
    target = tmp_path / "out" / "followups.ics"
    target.parent.mkdir()
    result = cli.ok("export", "followups", "--format", "ics", "-o", str(target))
    assert result.stdout == ""
    assert result.stderr == f"crm: wrote 2 follow-ups to {target}\n"
    assert target.read_bytes() == on_stdout
    assert GREEK in target.read_text(encoding="utf-8").replace("\r\n ", "")
    assert [p.name for p in target.parent.iterdir()] == ["followups.ics"]  # no temp left


def test_overwriting_a_file_replaces_it_whole_and_keeps_its_permissions(cli, followups, tmp_path):
    target = tmp_path / "followups.ics"
    target.write_text("old calendar")
    target.chmod(0o644)
    cli.ok("export", "followups", "--format", "ics", "--output", str(target))
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert target.stat().st_mode & 0o777 == 0o644


def test_as_events_and_only_one_owner(cli, followups):
    result = cli.ok("export", "followups", "--format", "ics", "--as", "event", "--owner", "Bob")
    assert todos(result.stdout_bytes) == {}
    events = todos(result.stdout_bytes, "VEVENT")
    assert list(events) == [uid(followups["weekly"])]
    assert events[uid(followups["weekly"])].decoded("DTEND") == datetime(
        2026, 3, 23, 8, 15, tzinfo=UTC
    )


def test_a_recurring_follow_up_is_written_in_the_timezone_setting(cli, followups, engine):
    with session_scope(engine) as session:
        set_setting(session, "timezone", "Europe/Berlin", now=NOW)
    found = todos(cli.ok("export", "followups", "--format", "ics").stdout_bytes)
    weekly = found[uid(followups["weekly"])]
    assert weekly["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert weekly.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 3, 23, 9, 0)
    assert found[uid(followups["quote"])]["DUE"].to_ical() == b"20260323T080000Z"


def test_after_followup_done_the_next_export_moves_the_same_entry(cli, followups, engine):
    """One series, one UID: `crm followup done` makes a new follow-up for the
    next occurrence, and the export updates the entry a calendar already has."""
    with session_scope(engine) as session:
        set_setting(session, "timezone", "Europe/Madrid", now=NOW)
    before = todos(cli.ok("export", "followups", "--format", "ics").stdout_bytes)
    cli.ok("followup", "done", str(followups["weekly"]))
    data = cli.ok("export", "followups", "--format", "ics").stdout_bytes
    after = todos(data)
    assert sorted(after) == sorted(before)  # the same two entries, none added
    old, new = before[uid(followups["weekly"])], after[uid(followups["weekly"])]
    assert (int(old["SEQUENCE"]), int(new["SEQUENCE"])) == (0, 1)
    assert new.decoded("DTSTART") > old.decoded("DTSTART")
    assert new.decoded("DTSTART").strftime("%a %H:%M") == "Mon 09:00"  # Madrid wall time
    [vtimezone] = Calendar.from_ical(data).walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Madrid"
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in data  # no last year


FOLLOWUPS_AS = "followups can be exported as ics"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["contacts", "--format", "ics"], ("cannot export contacts as ics", "csv, json or vcf")),
        (["all", "--format", "csv"], ("cannot export all as csv", "all can be exported as json")),
        (["followups", "--format", "csv"], ("cannot export followups as csv", FOLLOWUPS_AS)),
        (["followups", "-f", "JSON"], ("cannot export followups as json", FOLLOWUPS_AS)),
        (["contacts"], ("say which format with --format", "csv, json or vcf")),
        (["followups", "--format", "xml"], ("unknown format 'xml'", "csv, vcf, ics, json")),
        (["calendar", "--format", "ics"], ("cannot export 'calendar'", "contacts, followups, all")),
        (["followups", "--format", "ics", "--as", "task"], ("--as 'task'", "todo or event")),
        (["contacts", "-f", "vcf", "--vcard-version", "2"], ("--vcard-version '2'", "3.0 or 4.0")),
        (["all", "-f", "json", "--owner", "bob"], ("--owner does not apply",)),
    ],
)  # fmt: skip
def test_anything_else_is_a_one_line_user_error(cli, followups, tmp_path, args, says):
    folder = tmp_path / "out"
    folder.mkdir()
    result = cli("export", *args, "-o", str(folder / "never.out"))
    cli.assert_user_error(result, *says)
    assert list(folder.iterdir()) == []  # not even a temp file


def test_a_file_that_cannot_be_written_is_a_user_error_and_leaves_nothing(cli, tmp_path):
    missing = tmp_path / "no such folder" / "f.ics"
    cli.assert_user_error(
        cli("export", "followups", "--format", "ics", "-o", str(missing)), "cannot write"
    )
    assert list(tmp_path.glob("**/*.ics*")) == []


PROBE = """
import json, sys
from minicrm.commands import app, export
if "export" not in {c.name for c in app.registered_commands}:
    export.register(app)
sys.argv = ["crm", *sys.argv[1:]]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["export", "--help"]])
def test_help_does_not_import_icalendar(args):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert "typer" in loaded
    assert not [name for name in loaded if name.split(".")[0] in ("icalendar", "sqlmodel")]


# ------------------------------------------------------------------- deals


@pytest.fixture
def deals(engine):
    from minicrm.models import Deal, DealLine, Product
    from minicrm.services.records.deals import open_deal

    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="=Ann", company="Acme", value="10"), now=NOW)
        rug = Product(name="Rug", name_key="rug", price_cents=50000, created_at=NOW,
                      updated_at=NOW)  # fmt: skip
        session.add(rug)
        session.flush()
        deal = open_deal(session, title="-Big rugs", stage="interest", now=NOW, owner="bob",
                         value_cents=135000)  # fmt: skip
        session.add(
            DealLine(
                deal_id=deal.id,
                product_id=rug.id,
                quantity=3,
                unit_price_cents=50000,
                discount=10,
                total_cents=135000,
            )
        )
        gone = open_deal(session, title="Trashed", stage="interest", now=NOW)
        session.get(Deal, gone.id).deleted_at = NOW


def test_deals_as_json_are_the_spec_deal_objects(cli, deals):
    from minicrm.models import DealRead

    exported = json.loads(cli.ok("export", "deals", "-f", "json").stdout)
    assert [d["title"] for d in exported] == ["=Ann", "-Big rugs"]  # live ones, by id
    spec = DealRead(id=1, title="x", stage="s", stage_entered_at=NOW, created_at=NOW,
                    updated_at=NOW).to_json()  # fmt: skip
    assert [list(d) for d in exported] == [list(spec)] * 2
    assert exported[0]["company"] == "Acme" and exported[0]["value"] == 10
    assert exported[1]["lines"] == [{"id": 1, "product": "Rug", "description": None,
                                     "quantity": 3, "unit_price": 500, "discount": 10,
                                     "total": 1350}]  # fmt: skip


def test_deals_as_csv_are_formula_safe_with_lines_as_json(cli, deals, tmp_path):
    import csv

    from minicrm.services.transfer.deal_export import DEAL_COLUMNS

    path = tmp_path / "deals.csv"
    result = cli.ok("export", "deals", "--format", "csv", "-o", str(path), "--owner", "bob")
    assert "wrote 1 deal to" in result.stderr
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == 2
    [row] = list(csv.DictReader(raw.decode().splitlines()))
    assert list(row) == list(DEAL_COLUMNS)
    assert row["title"] == "'-Big rugs" and row["owner"] == "bob"
    assert json.loads(row["lines"])[0]["total"] == 1350


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (("all", "-o", "{dir}/all.json"), "{"),
        (("contacts", "-o", "{dir}/people.vcf"), "BEGIN:VCARD"),
        (("contacts", "-o", "{dir}/people.CSV"), "id,name"),
        (("followups", "-o", "{dir}/calendar.ics"), "BEGIN:VCALENDAR"),
        (("all",), "{"),  # one format only: no need to say it
    ],
)
def test_the_format_follows_the_file_name_or_the_only_one_there_is(cli, tmp_path, args, starts):
    cli.ok("add", "Ann Lee", "--email", "ann@example.com")
    cli.ok("followup", "add", "Ann", "tomorrow 10am", "call")
    args = tuple(a.format(dir=tmp_path) for a in args)
    result = cli.ok("export", *args)
    written = Path(args[-1]).read_text() if "-o" in args else result.stdout
    assert written.lstrip().startswith(starts)


def test_a_name_that_says_no_format_still_asks_for_one(cli, tmp_path):
    cli.assert_user_error(cli("export", "contacts", "-o", str(tmp_path / "x.txt")), "--format")
