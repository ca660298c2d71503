"""CSV import: reading (encodings, delimiters, headers, dates), validation
with the rules of `crm add`, duplicates, history, dry runs, and that an
import lands whole or not at all."""

import hashlib
import json
import sqlite3
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from minicrm.db import session_scope
from minicrm.errors import UserError, ValidationError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.records.config import set_setting
from minicrm.services.records.contacts import get_contact
from minicrm.services.records.validation import normalize_email, normalize_phone
from minicrm.services.scoring.scores import recompute_scores
from minicrm.services.transfer.cleaning import Cleaner, Folder
from minicrm.services.transfer.csv_import import decode, read_csv, sniff_delimiter, split_tags
from minicrm.services.transfer.dates import parse_date
from minicrm.services.transfer.files import ImportOptions, import_file
from minicrm.services.transfer.headers import KNOWN_HEADERS, parse_mapping
from minicrm.services.transfer.importing import ImportRejected
from minicrm.text import fold, search_text

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TABLES = ("contact", "tag", "contact_tag", "stage_change", "import_batch", "import_change",
          "setting", "interaction", "followup")  # fmt: skip


def run_import(engine, tmp_path, content, name="contacts.csv", **options):
    """Import `content` (str or bytes) from a file; returns the report."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def contacts(engine) -> list[dict]:
    with session_scope(engine, write=False) as session:
        from minicrm.services.contacts.listing import list_contacts

        return [c.to_json() for c in list_contacts(session, sort="created", now=NOW)]


def by_name(engine) -> dict[str, dict]:
    return {c["name"]: c for c in contacts(engine)}


def history(db_path, contact_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(
            "SELECT from_stage, to_stage, at, reason FROM stage_change WHERE contact_id = ? "
            "ORDER BY at, id",
            (contact_id,),
        ).fetchall()


def snapshot(db_path) -> dict:
    """Row counts of every table and a checksum of the contact rows."""
    with sqlite3.connect(db_path) as db:
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        rows = db.execute("SELECT * FROM contact ORDER BY id").fetchall()
        fts = db.execute("SELECT count(*) FROM contact_fts").fetchone()[0]
        # the changes to people, without the batch's manifest row (contact_id 0)
        people = db.execute("SELECT count(*) FROM import_change WHERE contact_id != 0").fetchone()
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    return {**counts, "contact_fts": fts, "contacts": digest, "people_changes": people[0]}


# ------------------------------------------------------------------ reading


def test_utf8_with_and_without_bom_and_utf16_read_the_same(engine, tmp_path):
    text = "name,email\nZoë Ρήγα,zoe@example.com\n"
    for data in (text.encode(), b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        decoded, warning = decode(data, "f.csv")
        assert decoded.lstrip("\ufeff") == text
        assert warning is None


def test_cp1252_is_read_with_a_warning(engine, tmp_path):
    report = run_import(engine, tmp_path, "name,city\nJosé Müller,Köln\n".encode("cp1252"))
    assert report.created == 1
    assert any("cp1252" in note for note in report.notes)
    assert by_name(engine)["José Müller"]["city"] == "Köln"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(engine, tmp_path, delimiter):
    text = delimiter.join(["Name", "E-mail", "Notes"]) + "\n"
    text += delimiter.join(["Ann Lee", "ann@example.com", '"a, b; c"']) + "\n"
    assert sniff_delimiter(text) == delimiter
    report = run_import(engine, tmp_path, text)
    assert report.created == 1
    ann = by_name(engine)["Ann Lee"]
    assert (ann["email"], ann["notes"]) == ("ann@example.com", "a, b; c")


def test_multi_line_quoted_cells_keep_their_lines_and_line_numbers(engine, tmp_path):
    text = 'name,notes,email\nAnn,"line one\nline two",ann@example.com\nBob,,not-an-email\n'
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, text)
    assert caught.value.report.rejected == [(4, caught.value.report.rejected[0][1])]
    run_import(engine, tmp_path, text, skip_invalid=True)
    assert by_name(engine)["Ann"]["notes"] == "line one\nline two"


def test_a_plain_sheet_maps_without_map(engine, tmp_path):
    text = (
        "Name,Email,Phone,Company,Title,City,Country,Stage,Value,Owner,Source,Tags,Notes\n"
        "Ann Lee,ANN@Example.COM,+1 415 555 0101,Acme,buyer,Berlin,DE,interest,"
        '"1,250.50",alice,referral,"vip, local",hello\n'
    )
    run_import(engine, tmp_path, text)
    ann = by_name(engine)["Ann Lee"]
    assert ann["email"] == "ANN@example.com"  # the domain lowercased, as crm add does
    assert ann["phone"] == "+14155550101"
    assert (ann["company"], ann["title"], ann["city"], ann["country"]) == (
        "Acme", "buyer", "Berlin", "DE",
    )  # fmt: skip
    assert (ann["stage"], ann["value"], ann["owner"], ann["source"]) == (
        "interest", 1250.5, "alice", "referral",
    )  # fmt: skip
    assert ann["tags"] == ["local", "vip"]
    assert ann["notes"] == "hello"


def test_hubspot_headers(engine, tmp_path):
    text = (
        "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,"
        "Contact owner,Create Date,Lifecycle Stage\n"
        "101,Maria,Lopez,maria@shop.example.org,+49 30 1234567,Shop,Owner,bob,"
        "2025-06-01 09:30,lead\n"
    )
    report = run_import(engine, tmp_path, text)
    maria = by_name(engine)["Maria Lopez"]
    assert (maria["company"], maria["title"], maria["owner"]) == ("Shop", "Owner", "bob")
    assert maria["created_at"] == "2025-06-01T09:30:00+00:00"  # TZ=UTC in tests
    assert any("Record ID" in note and "Lifecycle Stage" in note for note in report.notes)


def test_outlook_title_is_a_prefix_when_there_is_a_job_title(engine, tmp_path):
    run_import(engine, tmp_path, "First Name,Last Name,Title,Job Title\nAnn,Lee,Dr.,Buyer\n")
    assert by_name(engine)["Ann Lee"]["title"] == "Buyer"


def test_extra_emails_and_phones_go_to_extra_numbered(engine, tmp_path):
    text = (
        "Display Name,E-mail Address,E-mail 2 Address,Home Phone,Business Phone,Mobile Phone\n"
        "Ann,ann@example.com,ann@work.example.com,reception,+1 212 555 0199,+1 415 555 0101\n"
    )
    run_import(engine, tmp_path, text)
    ann = by_name(engine)["Ann"]
    # The first phone with a digit is the contact's; every other value is kept.
    assert ann["phone"] == "+12125550199"
    assert ann["extra"] == {
        "email_2": "ann@work.example.com", "phone_1": "reception", "phone_3": "+1 415 555 0101",
    }  # fmt: skip


def test_a_lone_phone_column_is_validated_like_crm_add(engine, tmp_path):
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, "name,phone\nAnn,call me\n")
    assert caught.value.report.rejected == [(2, "invalid phone 'call me': it has no digits")]


def test_google_groups_become_tags_without_system_groups():
    assert split_tags("* myContacts ::: Customers ::: VIP") == ["Customers", "VIP"]
    assert split_tags("a; b,c , ,#") == ["a", "b", "c"]


def test_name_falls_back_to_parts_then_email_then_company(engine, tmp_path):
    text = (
        "Given Name,Family Name,E-mail 1 - Value,Organization 1 - Name\n"
        "Ann,Lee,,\n,,bob@example.com,\n,,,Acme Ltd\n"
    )
    run_import(engine, tmp_path, text)
    assert sorted(by_name(engine)) == ["Acme Ltd", "Ann Lee", "bob@example.com"]


def test_export_formula_guard_is_undone(engine, tmp_path):
    run_import(engine, tmp_path, "name,phone,notes\nAnn,'+1 415 555 0101,'=1+2\n")
    ann = by_name(engine)["Ann"]
    assert (ann["phone"], ann["notes"]) == ("+14155550101", "=1+2")


def test_no_recognised_column_is_an_error_naming_the_way_out(engine, tmp_path, db_path):
    before = snapshot(db_path)
    with pytest.raises(UserError, match="--map"):
        run_import(engine, tmp_path, "foo,bar\n1,2\n")
    assert snapshot(db_path) == before


# ------------------------------------------------------------------- --map


def test_map_names_columns_and_joins_several_into_one_field(engine, tmp_path):
    text = "acct,id,rep,what\nAcme,X1,alice,Widget\n,X2,bob,Gadget\n"
    run_import(engine, tmp_path, text, mapping=[
        "acct=name", "id=name", "acct=company", "rep=owner", "what=extra.product",
    ])  # fmt: skip
    found = by_name(engine)
    assert found["Acme X1"]["company"] == "Acme"
    assert found["X2"]["owner"] == "bob"
    assert found["X2"]["extra"] == {"product": "Gadget"}


def test_map_checks_fields_and_columns():
    assert parse_mapping(["Full name=NAME"]) == [("Full name", "name")]
    with pytest.raises(UserError, match="cannot map to 'nickname'; fields: name, email"):
        parse_mapping(["x=nickname"])
    with pytest.raises(UserError, match="COLUMN=field"):
        parse_mapping(["justacolumn"])


def test_map_of_a_missing_column_lists_the_columns(engine, tmp_path):
    with pytest.raises(UserError, match="columns: name, email"):
        run_import(engine, tmp_path, "name,email\nAnn,a@example.com\n", mapping=["mail=email"])


def test_map_overrides_the_known_header(engine, tmp_path):
    text = "Name,Nick\nAnn Lee,annie\n"
    run_import(engine, tmp_path, text, mapping=["Nick=name", "Name=extra.full_name"])
    assert by_name(engine)["annie"]["extra"] == {"full_name": "Ann Lee"}


# ------------------------------------------------------------------- dates


def test_slash_dates_are_month_first_unless_a_day_shows(engine, tmp_path):
    report = run_import(engine, tmp_path, "name,created_at\nA,03/04/2025\nB,05/06/2025\n")
    assert by_name(engine)["A"]["created_at"].startswith("2025-03-04")
    assert any("M/D/YYYY" in note and "no part above 12" in note for note in report.notes)


def test_a_day_above_12_makes_the_whole_column_day_first(engine, tmp_path):
    report = run_import(engine, tmp_path, "name,created_at\nA,03/04/2025\nB,25/06/2025\n")
    found = by_name(engine)
    assert found["A"]["created_at"].startswith("2025-04-03")
    assert found["B"]["created_at"].startswith("2025-06-25")
    assert any("D/M/YYYY" in note and "above 12" in note for note in report.notes)


def test_dot_dates_are_day_first(engine, tmp_path):
    run_import(engine, tmp_path, "name,created_at\nA,03.04.2025\n")
    assert by_name(engine)["A"]["created_at"].startswith("2025-04-03")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-02", "2025-01-02T00:00:00+00:00"),
        ("2025-01-02 14:30", "2025-01-02T14:30:00+00:00"),
        ("2025-01-02T14:30:00+02:00", "2025-01-02T12:30:00+00:00"),
        ("1/2/2025 2:05 PM", "2025-01-02T14:05:00+00:00"),
        ("2025/01/02", "2025-01-02T00:00:00+00:00"),
    ],
)
def test_date_forms(text, expected):
    assert parse_date(text, "md", UTC).isoformat() == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-02-30", "13/13/2025", "1/2/25", "0001-01-01"])
def test_bad_dates_reject_the_row(text):
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date(text, "md", ZoneInfo("Asia/Tehran"))


def test_naive_times_are_local(engine, tmp_path):
    with session_scope(engine) as session:
        set_setting(session, "timezone", "Europe/Berlin")
    run_import(engine, tmp_path, "name,created_at\nA,2025-07-01 09:00\n")
    assert by_name(engine)["A"]["created_at"] == "2025-07-01T07:00:00+00:00"


# ----------------------------------------------------------------- history


def test_stage_changed_at_writes_the_move_at_that_time(engine, tmp_path, db_path):
    text = "name,stage,created_at,stage_changed_at\nAnn,decision,2025-01-10,2025-02-01\n"
    run_import(engine, tmp_path, text)
    ann = by_name(engine)["Ann"]
    assert history(db_path, ann["id"]) == [
        (None, "awareness", "2025-01-10 00:00:00.000000", None),
        ("awareness", "decision", "2025-02-01 00:00:00.000000", None),
    ]
    with sqlite3.connect(db_path) as db:
        entered = db.execute("SELECT stage_entered_at FROM contact").fetchone()[0]
    assert entered == "2025-02-01 00:00:00.000000"


def test_a_contact_without_a_stage_time_is_created_in_its_stage(engine, tmp_path, db_path):
    run_import(engine, tmp_path, "name,stage,created_at\nAnn,decision,2025-01-10\n")
    ann = by_name(engine)["Ann"]
    assert history(db_path, ann["id"]) == [(None, "decision", "2025-01-10 00:00:00.000000", None)]


def test_lost_without_a_reason_is_unknown_and_closed_at_dates_the_loss(engine, tmp_path, db_path):
    text = "name,stage,created_at,closed_at,lost_reason\nA,lost,2025-01-01,2025-03-01,\n"
    text += "B,Lost,2025-01-01,,no budget\n"
    run_import(engine, tmp_path, text)
    found = by_name(engine)
    assert (found["A"]["lost_reason"], found["B"]["lost_reason"]) == ("unknown", "no budget")
    assert history(db_path, found["A"]["id"])[-1] == (
        "awareness", "lost", "2025-03-01 00:00:00.000000", "unknown",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A,interest,2025-01-01,2025-02-01,", "closed_at is set but the stage, interest, is open"),
        ("A,won,2025-03-01,,2025-02-01", "before the contact was created"),
        ("A,won,2025-03-01,,2027-01-01", "is in the future"),
        ("A,nowhere,,,", "unknown stage 'nowhere'"),
    ],
)
def test_impossible_histories_are_rejected(engine, tmp_path, row, reason):
    text = "name,stage,created_at,closed_at,stage_changed_at\n" + row + "\n"
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, text)
    [(line, why)] = caught.value.report.rejected
    assert line == 2 and reason in why


# -------------------------------------------------------------- validation


def test_any_rejected_row_imports_nothing_and_lists_every_rejection(engine, tmp_path, db_path):
    before = snapshot(db_path)
    text = "name,email,value\nAnn,ann@example.com,10\n,x@example.com,\nBob,bob@,\nCy,,12,50\n"
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, tmp_path, text)
    rejected = caught.value.report.rejected
    assert [line for line, _ in rejected] == [4, 5]
    assert "invalid email 'bob@'" in rejected[0][1]
    assert "4 cells but the header has 3 columns" in rejected[1][1]
    assert str(caught.value).startswith("2 rows rejected, nothing imported")
    assert snapshot(db_path) == before


def test_skip_invalid_imports_the_rest_and_reports_the_rejected(engine, tmp_path):
    text = "name,email,value\nAnn,ann@example.com,10\nBob,bob@,\nCy,,abc\n"
    report = run_import(engine, tmp_path, text, skip_invalid=True)
    assert (report.created, [line for line, _ in report.rejected]) == (1, [3, 4])
    assert "invalid value 'abc'" in report.rejected[1][1]
    assert list(by_name(engine)) == ["Ann"]


def test_dry_run_reports_everything_and_writes_nothing(engine, tmp_path, db_path):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Old Ann", email="ann@example.com"), now=NOW)
    before = snapshot(db_path)
    text = "name,email\nAnn,ann@example.com\nBob,bob@example.com\nBad,nope\n"
    report = run_import(engine, tmp_path, text, dry_run=True, skip_invalid=True)
    assert report.actions == [
        (2, "skip", "Ann <ann@example.com>, duplicate of #1 Old Ann (same email)"),
        (3, "create", "Bob <bob@example.com>"),
        (4, "reject", "invalid email 'nope': An email address must have an @-sign."),
    ]
    assert report.skipped == [(2, "duplicate of #1 Old Ann (same email)")]
    assert snapshot(db_path) == before
    with pytest.raises(ImportRejected, match="the import would write nothing"):
        run_import(engine, tmp_path, text, dry_run=True)
    assert snapshot(db_path) == before


# -------------------------------------------------------------- duplicates


@pytest.fixture
def existing(engine):
    with session_scope(engine) as session:
        return add_contact(
            session,
            ContactInput(name="Ann Lee", email="Ann@Example.com", phone="+1 415 555 0101",
                         company="Acme", tags=["old"], extra={"k": "v"}),
            now=NOW,
        )  # fmt: skip


SHEET = (
    "name,email,phone,company,city,tags,stage\n"
    "Ann L.,ann@example.COM,,,Berlin,new,decision\n"  # same email, other case
    "Someone,,(415) 555-0101,Beta,,,\n"  # same phone, typed differently
    "Bob,bob@example.com,,,,,\n"
    "Bobby,BOB@example.com,,,Rome,,\n"  # same as the row above
)


def test_duplicates_are_skipped_by_default(engine, tmp_path, existing):
    report = run_import(engine, tmp_path, SHEET)
    assert (report.created, report.updated) == (1, 0)
    assert report.skipped == [
        (2, "duplicate of #1 Ann Lee (same email)"),
        (3, "duplicate of #1 Ann Lee (same phone)"),
        (5, "duplicate of line 4 (same email)"),
    ]


def test_on_duplicate_update_fills_and_overwrites(engine, tmp_path, existing, db_path):
    report = run_import(engine, tmp_path, SHEET, on_duplicate="update")
    # Bob created, Ann updated; Bob's second row completes the contact his
    # first created (no update of a contact that was here before)
    assert (report.created, report.updated) == (1, 1)
    found = by_name(engine)
    ann = found["Someone"]  # the later row's name wins
    assert (ann["id"], ann["email"], ann["company"], ann["city"]) == (
        1, "ann@example.com", "Beta", "Berlin",
    )  # fmt: skip
    assert (ann["tags"], ann["extra"], ann["stage"]) == (["new", "old"], {"k": "v"}, "decision")
    assert history(db_path, 1)[-1][:2] == ("awareness", "decision")
    bob = found["Bobby"]
    assert (bob["email"], bob["city"]) == ("BOB@example.com", "Rome")
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT version FROM contact WHERE id = ?", (bob["id"],)).fetchone() == (
            1,
        )


def test_on_duplicate_create_adds_anyway(engine, tmp_path, existing):
    report = run_import(engine, tmp_path, SHEET, on_duplicate="create")
    assert (report.created, report.skipped) == (4, [])
    assert len(contacts(engine)) == 5


def test_trashed_contacts_are_not_duplicates(engine, tmp_path, existing):
    from minicrm.services.contacts.trash import trash_contact

    with session_scope(engine) as session:
        trash_contact(session, existing.id)
    assert run_import(engine, tmp_path, SHEET).created == 3


def test_a_guessed_name_does_not_overwrite_a_real_one(engine, tmp_path, existing):
    run_import(engine, tmp_path, "email,city\nann@example.com,Paris\n", on_duplicate="update")
    with session_scope(engine, write=False) as session:
        ann = get_contact(session, existing.id)
    assert (ann.name, ann.city) == ("Ann Lee", "Paris")


# ------------------------------------------------------------------ scores


def test_scores_of_imported_contacts_equal_a_full_recompute(engine, tmp_path):
    from minicrm.services.scoring.scores import load_rules

    rules = """
[[rule]]
name = "referral"
when = "source == 'referral' and value >= 100"
points = 25
[[rule]]
name = "vip"
when = "tag('vip') and has(email)"
points = 20
[[rule]]
name = "fresh"
when = "days_since_created < 30 and days_in_stage < 10"
points = 7
[[rule]]
name = "engaged"
per = "interactions_30d"
points = 3
[[rule]]
name = "nothing planned"
when = "open_followups == 0"
points = -2
[[rule]]
name = "birthday known"
when = "has(extra.birthday)"
points = 1
"""
    with session_scope(engine) as session:
        load_rules(session, rules, now=NOW)
    text = (
        "name,email,source,value,tags,birthday,created_at\n"
        "A,a@example.com,referral,500,vip,1990-01-01,2026-03-15\n"
        "B,,referral,50,,,2025-01-01\nC,c@example.com,,,vip,,\n"
    )
    run_import(engine, tmp_path, text)
    scores = {c["name"]: c["score"] for c in contacts(engine)}
    assert scores == {"A": 25 + 20 + 7 - 2 + 1, "B": -2, "C": 20 + 7 - 2}
    with session_scope(engine) as session:
        assert recompute_scores(session, now=NOW).changed == 0


# -------------------------------------------------- shortcuts = the full rules

_email_parts = st.text(alphabet=string.ascii_letters + string.digits + ".-_+'!#", max_size=20)


@settings(max_examples=300, deadline=None)
@given(local=_email_parts, domain=st.text(alphabet=string.ascii_letters + ".-1", max_size=20))
def test_the_email_shortcut_agrees_with_normalize_email(local, domain):
    value = f"{local}@{domain}"
    try:
        expected = normalize_email(value)
    except ValidationError as exc:
        expected = exc.message
    cleaner = Cleaner("US")
    for _ in range(2):  # the second time from the domain cache
        try:
            got = cleaner.email(value)
        except ValidationError as exc:
            got = exc.message
        assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().x#", max_size=20))
def test_the_phone_cache_agrees_with_normalize_phone(value):
    cleaner = Cleaner("DE")
    for _ in range(2):
        try:
            got = cleaner.phone(value)
        except ValidationError as exc:
            got = exc.message
        try:
            expected = normalize_phone(value, "DE")
        except ValidationError as exc:
            expected = exc.message
        assert got == expected


_texts = st.text(
    alphabet=st.sampled_from(list(string.printable) + list("ÉéßİıΣςيكة\u200c\u0301 Ωﬁ①")),
    max_size=30,
) | st.text(max_size=15)


@settings(max_examples=400, deadline=None)
@given(name=_texts, others=st.lists(st.none() | _texts, min_size=4, max_size=4))
def test_folding_shortcuts_agree_with_text_module(name, others):
    folder = Folder()
    row = {"name": name, "email": others[0], "phone": others[1], "company": others[2],
           "notes": others[3]}  # fmt: skip
    assert folder.folded_row(row) == (fold(name), search_text(name, *others))


# ---------------------------------------------------------- random content

_odd_cells = st.text(
    alphabet=st.sampled_from(list(string.printable) + ['"', "\x00", "é", "ی", "\u2028", ";"]),
    max_size=12,
) | st.sampled_from(["x" * 140_000, "=cmd()", "'+1", "\r\n", "13/01/2025", "1/2/3"])
_cells = (
    st.sampled_from(["", "Ann", "Zoë Ρήγα", "a@b.example.com", "+49 30 1234567", "won",
                     "lost", "2025-01-02", "vip; local", "100"])
    | st.text(alphabet=string.ascii_letters + " ,.-", max_size=10)
    | _odd_cells
)  # fmt: skip
_headers = st.sampled_from(sorted(KNOWN_HEADERS) + ["Notes", "weird", ""])
_header_rows = st.tuples(st.sampled_from(["name", "Display Name", "E-mail Address", "stuff"]),
                         st.lists(_headers, max_size=5)).map(lambda t: [t[0], *t[1]])  # fmt: skip


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=_header_rows,
    rows=st.lists(st.lists(_cells, max_size=7), max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    skip_invalid=st.booleans(),
    on_duplicate=st.sampled_from(["skip", "update", "create"]),
)
def test_random_csv_lands_whole_or_changes_nothing(
    engine, tmp_path, db_path, header, rows, encoding, delimiter, skip_invalid, on_duplicate
):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding, errors="replace")
    before = snapshot(db_path)
    try:
        report = run_import(engine, tmp_path, data, skip_invalid=skip_invalid,
                            on_duplicate=on_duplicate)  # fmt: skip
    except UserError as exc:
        event(f"refused: {type(exc).__name__}")
        assert snapshot(db_path) == before
        return
    event("imported")
    after = snapshot(db_path)
    assert after["import_batch"] == before["import_batch"] + 1
    assert after["people_changes"] - before["people_changes"] == report.created + report.updated
    assert after["contact"] - before["contact"] == report.created
    assert after["contact_fts"] == after["contact"]


def test_a_failure_while_writing_leaves_nothing(engine, tmp_path, db_path, monkeypatch):
    """One transaction: an error after rows went in rolls all of them back
    (the same holds for a killed process: nothing is committed in chunks)."""
    from minicrm.services.transfer import writing as import_writing

    calls = []

    def fail_on_second_chunk(self, creates):
        calls.append(len(creates))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_create(self, creates)

    real_create = import_writing.BulkWriter.create
    monkeypatch.setattr(import_writing.BulkWriter, "create", fail_on_second_chunk)
    before = snapshot(db_path)
    rows = "".join(f"P{i},p{i}@example.com\n" for i in range(6_000))
    with pytest.raises(RuntimeError):
        run_import(engine, tmp_path, "name,email\n" + rows)
    assert calls[0] > 0 and snapshot(db_path) == before


def test_a_later_row_completing_a_contact_of_the_same_file_is_no_update(engine, tmp_path, db_path):
    """The second row of the same person fills the contact the first row
    created: one contact created, none updated (there is nothing before the
    import to restore), and every count matches what was written."""
    data = "name,email,phone\nAnn Lee,ann@example.com,\nAnn Lee,ann@example.com,+49 30 1234567\n"
    before = snapshot(db_path)
    report = run_import(engine, tmp_path, data, on_duplicate="update")
    after = snapshot(db_path)
    assert (report.created, report.updated) == (1, 0)
    assert after["people_changes"] - before["people_changes"] == 1
    assert any("completed by a later row" in note for note in report.notes)
    assert by_name(engine)["Ann Lee"]["phone"] == "+49301234567"


def test_batch_counts_are_recorded(engine, tmp_path, db_path):
    report = run_import(engine, tmp_path, "name\nA\nB\n")
    with sqlite3.connect(db_path) as db:
        name, fmt, counts = db.execute(
            "SELECT file_name, format, counts FROM import_batch WHERE id = ?", (report.batch_id,)
        ).fetchone()
    assert (name, fmt, json.loads(counts)) == (
        "contacts.csv", "csv", {"created": 2, "updated": 0, "skipped": 0, "rejected": 0},
    )  # fmt: skip


def test_empty_and_header_only_files_are_errors(engine, tmp_path):
    for content, message in (("", "is empty"), ("name,email\n", "holds no contacts")):
        with pytest.raises(UserError, match=message):
            run_import(engine, tmp_path, content)


def test_read_csv_is_lazy(tmp_path):
    layout, rows = read_csv("name\n" + "x\n" * 10, "f.csv", [], UTC)
    assert layout.columns == [(0, "name", "name")]
    first = next(rows)
    assert (first.line, first.fields) == (2, {"name": "x"})


@pytest.mark.parametrize(
    ("name", "text", "given", "expected"),
    [
        ("a.csv", "name\n", None, "csv"),
        ("a.TSV", "name\n", None, "csv"),
        ("a.vcf", "", None, "vcf"),
        ("a.vcard", "", None, "vcf"),
        ("a.json", "", None, "json"),
        ("export", ' {"contacts": []}', None, "json"),
        ("cards", "BEGIN:VCARD\n", None, "vcf"),
        ("a.json", "", "CSV", "csv"),
        ("a.txt", "", "vCard", "vcf"),
    ],
)
def test_format_from_option_then_name_then_content(name, text, given, expected):
    from minicrm.services.transfer.files import detect_format

    assert detect_format(Path(name), text, given) == expected


def test_an_unknown_format_is_named():
    from minicrm.services.transfer.files import detect_format

    with pytest.raises(UserError, match="unknown format 'xls'; choose one of: csv, vcf, json"):
        detect_format(Path("a.xls"), "", "xls")
