"""Contact exports (CSV, JSON, vCard) and the everything-JSON backup,
read back with the standard library and counted against the tables."""

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from minicrm.db import session_scope
from minicrm.models import (
    Cadence,
    Contact,
    ContactRead,
    FollowUp,
    FollowUpRead,
    Interaction,
    InteractionRead,
    Setting,
    StageChange,
)
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.deals.stages import move_stage
from minicrm.services.followups.cadence import set_cadence
from minicrm.services.followups.followups import add_followup, complete_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.records.config import set_setting
from minicrm.services.transfer.exporting import (
    ALL_SECTIONS,
    CONTACT_COLUMNS,
    csv_cell,
    export_all_json,
    neutralize_formula,
    write_all_json,
    write_contacts_csv,
    write_contacts_json,
    write_contacts_vcf,
)
from minicrm.services.transfer.vcard import read_vcards

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
GREEK, PERSIAN = "Μαρία Παπαδοπούλου", "سارا احمدی"
SPEC_CONTACT_KEYS = [
    "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
    "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
    "score", "lost_reason", "open_deals", "created_at", "updated_at",
]  # fmt: skip
STARTERS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.fixture
def shop(engine) -> dict[str, int]:
    """Three live contacts (one with every starter CSV injection uses), one
    trashed, with interactions, follow-ups (one done), a stage move, a
    stored setting and a cadence."""
    with session_scope(engine) as session:

        def contact(name, **fields):
            return add_contact(session, ContactInput(name=name, **fields), now=NOW).id

        ids = {
            "greek": contact(
                GREEK, email="maria@example.com", phone="+302101234567", company="Ωμέγα",
                city="Athens", country="Greece", tags=["vip", "wholesale"], value="1250.50",
                notes="likes\nrugs", extra={"birthday": "1980-03-22", "email_2": "m2@example.com"},
                owner="alice",
            ),
            "persian": contact(PERSIAN, company="=HYPERLINK(\"http://x\")", owner="bob"),
            "hostile": contact("@SUM(A1)", title="-2+3", notes="=cmd|' /C calc'!A0", source="+1"),
            "gone": contact("Gone Person"),
        }  # fmt: skip
        log_interaction(session, ids["greek"], "purchase", "rug", amount="19.99", now=NOW)
        log_interaction(session, ids["gone"], "call", "left a message", now=NOW)
        open_one = add_followup(session, ids["greek"], NOW + timedelta(days=1), "call", now=NOW)
        done = add_followup(session, ids["persian"], NOW - timedelta(days=1), "quote", now=NOW)
        complete_followup(session, done.id, zone=UTC, now=NOW)
        add_followup(session, ids["gone"], NOW, "never", now=NOW)
        move_stage(session, ids["greek"], "decision", now=NOW)
        set_setting(session, "currency", "EUR", now=NOW)
        set_cadence(session, "30d", ref=str(ids["greek"]), now=NOW)
        trash_contact(session, ids["gone"], now=NOW)
        ids["open_followup"] = open_one.id
    return ids


def live(engine) -> list:
    with session_scope(engine, write=False) as session:
        return list(list_contacts(session))


# ----------------------------------------------------------------------- CSV


@pytest.mark.parametrize("starter", STARTERS)
def test_a_cell_starting_like_a_formula_is_neutralised(starter):
    assert neutralize_formula(f"{starter}1+1") == f"'{starter}1+1"


@pytest.mark.parametrize("safe", ["", "Maria", "1+1", "a=b", "'=already quoted", "٠١٢"])
def test_other_cells_are_left_alone(safe):
    assert neutralize_formula(safe) == safe


@pytest.mark.parametrize("number", ["-31", "-12.50", "-0.5", "-.5", "-1e3", "-1250"])
def test_a_negative_number_is_a_number_not_a_formula(number):
    assert neutralize_formula(number) == number
    assert csv_cell(float(number) if "." in number else number) == str(
        float(number) if "." in number else number
    )


@pytest.mark.parametrize("formula", ["-2+3", "-A1", "-1-1", "- 1", "-1,5", "+1", "+34612345678"])
def test_what_is_not_a_plain_negative_number_stays_guarded(formula):
    assert neutralize_formula(formula) == "'" + formula


def test_csv_cells_join_lists_and_write_objects_as_json():
    assert csv_cell(None) == ""
    assert csv_cell(["vip", "-x"]) == "vip,-x"  # the cell starts with v: safe
    assert csv_cell(["-x"]) == "'-x"
    assert csv_cell({"b": "2", "a": "=1"}) == '{"a": "=1", "b": "2"}'
    assert csv_cell(1250.5) == "1250.5"


def test_csv_export_parses_back_with_every_starter_neutralised(engine, shop):
    out = io.StringIO(newline="")
    assert write_contacts_csv(live(engine), out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(CONTACT_COLUMNS) == SPEC_CONTACT_KEYS
    by_id = {int(row[0]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert sorted(by_id) == sorted([shop["greek"], shop["persian"], shop["hostile"]])
    greek = by_id[shop["greek"]]
    assert greek["name"] == GREEK and greek["tags"] == "vip,wholesale"
    assert greek["phone"] == "'+302101234567"  # E.164 starts with +: neutralised too
    assert greek["value"] == "1250.5" and greek["notes"] == "likes\nrugs"
    assert json.loads(greek["extra"]) == {"birthday": "1980-03-22", "email_2": "m2@example.com"}
    assert by_id[shop["persian"]]["company"] == '\'=HYPERLINK("http://x")'
    hostile = by_id[shop["hostile"]]
    assert [hostile[k] for k in ("name", "title", "notes", "source")] == [
        "'@SUM(A1)", "'-2+3", "'=cmd|' /C calc'!A0", "'+1",
    ]  # fmt: skip
    for row in rows[1:]:  # only a negative number (a score of -10) may start with -
        for cell in row:
            assert not cell.startswith(tuple(STARTERS)) or float(cell) < 0, cell
    assert out.getvalue().endswith("\r\n")


def test_tab_and_cr_starters_are_neutralised_and_a_bare_cr_is_quoted():
    # The store strips leading whitespace from fields; a read model need not.
    contact = ContactRead(
        id=1, name="\tname", notes="\rnote", city="a\rb", stage="interest",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    out = io.StringIO(newline="")
    write_contacts_csv([contact], out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert (row["name"], row["notes"], row["city"]) == ("'\tname", "'\rnote", "a\rb")


# ---------------------------------------------------------------------- JSON


def test_json_export_is_an_array_of_spec_contacts(engine, shop):
    out = io.StringIO()
    assert write_contacts_json(live(engine), out) == 3
    contacts = json.loads(out.getvalue())
    assert [list(c) for c in contacts] == [SPEC_CONTACT_KEYS] * 3
    greek = next(c for c in contacts if c["id"] == shop["greek"])
    assert (greek["value"], greek["tags"], greek["stage"]) == (
        1250.5,
        ["vip", "wholesale"],
        "decision",
    )


def test_json_export_of_nothing_is_an_empty_array():
    out = io.StringIO()
    assert write_contacts_json([], out) == 0
    assert json.loads(out.getvalue()) == []


def test_vcard_export_reads_back(engine, shop):
    out = io.StringIO(newline="")
    assert write_contacts_vcf(live(engine), out, version="4.0") == 3
    cards = {c["name"]: c for c in read_vcards(out.getvalue())}
    assert sorted(cards) == sorted([GREEK, PERSIAN, "@SUM(A1)"])  # vCards are not spreadsheets
    greek = cards[GREEK]
    assert (greek["email"], greek["phone"], greek["company"]) == (
        "maria@example.com", "+302101234567", "Ωμέγα",
    )  # fmt: skip
    assert greek["tags"] == ["vip", "wholesale"] and greek["notes"] == "likes\nrugs"
    assert greek["extra"] == {"birthday": "1980-03-22", "email_2": "m2@example.com"}


# ---------------------------------------------------------------- everything


def table_count(engine, table) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_export_all_has_every_row_of_every_table(engine, shop):
    with session_scope(engine, write=False) as session:
        data = export_all_json(session, now=NOW)
    assert tuple(data) == ALL_SECTIONS
    assert ALL_SECTIONS[:5] == (
        "contacts",
        "interactions",
        "followups",
        "stage_changes",
        "settings",
    )
    for key, table in [
        ("contacts", Contact), ("interactions", Interaction), ("followups", FollowUp),
        ("stage_changes", StageChange), ("settings", Setting), ("cadences", Cadence),
    ]:  # fmt: skip
        assert len(data[key]) == table_count(engine, table), key
    assert len(data["contacts"]) == 4 and len(data["stage_changes"]) == 5


def test_export_all_carries_what_a_lossless_restore_needs(engine, shop):
    with session_scope(engine, write=False) as session:
        data = export_all_json(session, now=NOW)
    extra_keys = ["stage_entered_at", "deleted_at"]
    assert [list(c) for c in data["contacts"]] == [SPEC_CONTACT_KEYS + extra_keys] * 4
    gone = next(c for c in data["contacts"] if c["id"] == shop["gone"])
    assert gone["deleted_at"] == NOW.isoformat()
    greek = next(c for c in data["contacts"] if c["id"] == shop["greek"])
    assert greek["stage_entered_at"] == NOW.isoformat() and greek["value"] == 1250.5
    spec_interaction = InteractionRead(id=1, contact_id=1, kind="call", at=NOW).to_json()
    interaction_keys = [*spec_interaction, "created_at"]
    assert [list(i) for i in data["interactions"]] == [interaction_keys] * 2
    assert data["interactions"][0]["amount"] == 19.99
    spec_followup = FollowUpRead(id=1, contact_id=1, contact_name="x", due_at=NOW).to_json(NOW)
    followup_keys = [*spec_followup, "series_id", "series_revision", "created_at", "updated_at"]
    assert [list(f) for f in data["followups"]] == [followup_keys] * 3
    assert sum(f["done_at"] is not None for f in data["followups"]) == 1
    assert [f["overdue"] for f in data["followups"]] == [False, False, False]
    assert list(data["stage_changes"][0]) == [
        "id", "contact_id", "deal_id", "from_stage", "to_stage", "at", "reason"
    ]  # fmt: skip
    assert data["settings"] == {"currency": "EUR"}  # stored settings only, not defaults
    assert data["cadences"] == [
        {"id": 1, "contact_id": shop["greek"], "tag": None, "every_days": 30,
         "created_at": NOW.isoformat()}
    ]  # fmt: skip


def test_streamed_backup_is_the_same_document(engine, shop):
    out = io.StringIO()
    with session_scope(engine, write=False) as session:
        counts = write_all_json(session, out, now=NOW)
        whole = export_all_json(session, now=NOW)
    assert json.loads(out.getvalue()) == whole
    assert counts == {key: len(value) for key, value in whole.items()}
    assert out.getvalue().count("\n") > sum(counts.values())  # one item per line


def test_backup_of_an_empty_database_is_valid_json(engine):
    out = io.StringIO()
    with session_scope(engine, write=False) as session:
        write_all_json(session, out, now=NOW)
    assert json.loads(out.getvalue()) == {
        "contacts": [], "interactions": [], "followups": [], "stage_changes": [],
        "settings": {}, "cadences": [], "companies": [], "products": [], "deals": [],
    }  # fmt: skip


def test_the_cli_output_module_does_not_load_the_database_stack():
    probe = "import sys, minicrm.commands._output; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("sqlmodel", "sqlalchemy", "vobject", "icalendar"):
        assert f"'{heavy}'" not in loaded


@pytest.mark.sqlite_only("restores into a second SQLite file")
def test_backup_restore_backup_gives_back_the_same_file(engine, shop, tmp_path):
    """SPEC §10: importing the export into an empty database gives back the
    same export: trashed contacts, done follow-ups, history, settings, cadences."""
    from minicrm.db import ensure_schema, make_engine
    from minicrm.services.transfer.json_import import restore_export

    later = NOW + timedelta(days=40)  # restored later: nothing may take "now" from the restore
    add_sales(engine)
    with session_scope(engine, write=False) as session:
        first = io.StringIO()
        write_all_json(session, first, now=later)
    fresh = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    ensure_schema(fresh)
    with session_scope(fresh) as session:
        restore_export(session, json.loads(first.getvalue()), file_name="b.json", now=later)
    with session_scope(fresh, write=False) as session:
        second = io.StringIO()
        write_all_json(session, second, now=later)
    fresh.dispose()
    assert second.getvalue() == first.getvalue()
    data = json.loads(first.getvalue())
    lone = next(c for c in data["companies"] if c["name"] == "Lone Co")
    assert (lone["tags"], lone["extra"]) == (["key"], {"size": 3})
    assert "Ωμέγα" in [c["name"] for c in data["companies"]]
    assert [p["name"] for p in data["products"]] == ["Rug", "Old rug"]
    loose = next(d for d in data["deals"] if d["contact_id"] is None)
    assert (loose["title"], loose["value"], loose["expected_close"]) == (
        "Rugs for Lone Co",
        1412.3,
        "2026-06-30",
    )
    assert [
        (ln["product"], ln["quantity"], ln["unit_price"], ln["discount"], ln["total"])
        for ln in loose["lines"]
    ] == [("Rug", 3, 500, 10, 1350), (None, 1, 62.3, 0, 62.3)]
    assert all(s["deal_id"] for s in data["stage_changes"])


@pytest.mark.sqlite_only("restores into a second SQLite file")
def test_a_restored_series_keeps_its_calendar_entry(engine, tmp_path):
    """series_id and series_revision survive a backup and restore (ids are
    kept, so they need no remapping): the restored database's calendar
    export has the same UID and SEQUENCE, and `done` there goes on with them."""
    from zoneinfo import ZoneInfo

    from minicrm.db import ensure_schema, make_engine
    from minicrm.services.transfer.calendar_export import (
        followups_to_ics,
        open_followups_for_export,
    )
    from minicrm.services.transfer.json_import import restore_export

    berlin = ZoneInfo("Europe/Berlin")

    def calendar(engine) -> list[tuple[str, str]]:
        with session_scope(engine, write=False) as session:
            data = followups_to_ics(open_followups_for_export(session), now=NOW, zone=berlin)
        return [(ln.split(":")[0], ln) for ln in data.decode().split("\r\n")
                if ln.startswith(("UID:", "SEQUENCE:", "DTSTART;"))]  # fmt: skip

    with session_scope(engine) as session:
        contact = add_contact(session, ContactInput(name="Maria Lopez"), now=NOW).id
        first = add_followup(session, contact, NOW + timedelta(days=1), every="week", now=NOW)
        second = complete_followup(session, first.id, zone=berlin, now=NOW).next
        complete_followup(session, second.id, zone=berlin, now=NOW)
        backup = export_all_json(session, now=NOW)
    assert [(f["series_id"], f["series_revision"]) for f in backup["followups"]] == [
        (None, 0), (first.id, 1), (first.id, 2),
    ]  # fmt: skip
    fresh = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    ensure_schema(fresh)
    with session_scope(fresh) as session:
        restore_export(session, json.loads(json.dumps(backup)), file_name="b.json", now=NOW)
    assert calendar(fresh) == calendar(engine)
    assert ("UID", f"UID:followup-{first.id}@minicrm") in calendar(fresh)
    fresh.dispose()


def add_sales(engine):
    """A company with a tag, two products (one archived), and a deal with no
    contact, with a product line and a free-text line, for the round trip."""
    from datetime import date

    from minicrm.models import Company, CompanyTag, DealLine, Product, Tag
    from minicrm.services.records.deals import open_deal

    with session_scope(engine) as session:
        company = Company(
            name="Lone Co",
            name_folded="lone co",
            industry="retail",
            extra='{"size": 3}',
            created_at=NOW,
            updated_at=NOW,
        )
        rug = Product(
            name="Rug", name_key="rug", code="R1", price_cents=50000, created_at=NOW, updated_at=NOW
        )
        old = Product(
            name="Old rug",
            name_key="oldrug",
            price_cents=999,
            active=False,
            created_at=NOW,
            updated_at=NOW,
        )
        tag = Tag(name="key")
        session.add_all([company, rug, old, tag])
        session.flush()
        session.add(CompanyTag(company_id=company.id, tag_id=tag.id))
        deal = open_deal(
            session,
            title="Rugs for Lone Co",
            stage="interest",
            now=NOW,
            company_id=company.id,
            value_cents=141230,
            expected_close=date(2026, 6, 30),
            owner="alice",
        )
        session.add_all([
            DealLine(deal_id=deal.id, product_id=rug.id, quantity=3, unit_price_cents=50000,
                     discount=10, total_cents=135000),
            DealLine(deal_id=deal.id, description="Delivery", quantity=1,
                     unit_price_cents=6230, total_cents=6230),
        ])  # fmt: skip
