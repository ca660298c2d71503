"""Import batches: listing, undo (created contacts removed, updated ones put
back exactly), and the JSON export restored into an empty database."""

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from minicrm.db import make_engine, session_scope
from minicrm.errors import NotFoundError, UserError
from minicrm.models import LOST
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.trash import purge_contact, trash_contact
from minicrm.services.deals.stages import move_stage
from minicrm.services.followups.cadence import set_cadence
from minicrm.services.followups.followups import add_followup, complete_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.records.config import set_setting
from minicrm.services.records.contacts import get_contact
from minicrm.services.transfer.batches import list_batches, undo_batch
from minicrm.services.transfer.files import ImportOptions, import_file
from minicrm.services.transfer.importing import ImportRejected

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


def run_import(engine, tmp_path, content, name="people.csv", now=NOW, **options):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=now)


def undo(engine, batch_id, **kwargs):
    with session_scope(engine) as session:
        return undo_batch(session, batch_id, now=LATER, **kwargs)


def full_state(engine, db_path, contact_id: int) -> dict:
    """Everything about a contact: its JSON, hidden columns, history, tags."""
    with session_scope(engine, write=False) as session:
        contact = get_contact(session, contact_id)
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT name_folded, search_text, stage_entered_at, version, deleted_at "
            "FROM contact WHERE id = ?",
            (contact_id,),
        ).fetchone()
        changes = db.execute(
            "SELECT id, from_stage, to_stage, at, reason FROM stage_change WHERE contact_id = ? "
            "ORDER BY id",
            (contact_id,),
        ).fetchall()
        fts = db.execute(
            "SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?", (row[1].split()[0],)
        ).fetchall()
    return {
        "json": contact.to_json(),
        "row": row,
        "changes": changes,
        "in_fts": (contact_id,) in fts,
    }


def count(db_path, table: str) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def ann(engine):
    with session_scope(engine) as session:
        made = add_contact(
            session,
            ContactInput(
                name="Ann Lee", email="ann@example.com", phone="+1 415 555 0101", company="Acme",
                city="Berlin", stage="interest", value="900", tags=["old", "vip"],
                extra={"size": "M"}, notes="first note",
            ),
            now=NOW - timedelta(days=30),
        )  # fmt: skip
        move_stage(session, made.id, "decision", at=NOW - timedelta(days=10), now=NOW)
    return made.id


UPDATE_SHEET = (
    "name,email,company,city,stage,tags,value,notes,stage_changed_at\n"
    "Ann Lee-Smith,ANN@example.com,Beta GmbH,,lost,new,1200,,2026-03-19\n"
    "New Person,new@example.com,,,,,,,\n"
)


def test_undo_restores_an_updated_contact_exactly_and_deletes_the_created(
    engine, tmp_path, db_path, ann
):
    before = full_state(engine, db_path, ann)
    report = run_import(engine, tmp_path, UPDATE_SHEET, on_duplicate="update")
    assert (report.created, report.updated) == (1, 1)
    changed = full_state(engine, db_path, ann)
    assert changed["json"]["name"] == "Ann Lee-Smith"
    assert (changed["json"]["stage"], changed["json"]["lost_reason"]) == (LOST, "unknown")
    assert changed["json"]["tags"] == ["new", "old", "vip"]
    assert changed["changes"][-1][1:] == (
        "decision",
        "lost",
        "2026-03-19 00:00:00.000000",
        "unknown",
    )
    result = undo(engine, report.batch_id)
    assert (result.deleted, result.restored, result.gone) == (1, 1, 0)
    assert full_state(engine, db_path, ann) == before
    with session_scope(engine, write=False) as session, pytest.raises(NotFoundError):
        get_contact(session, "new@example.com")
    assert count(db_path, "contact") == 1


def test_undo_twice_and_unknown_batches_are_errors(engine, tmp_path):
    report = run_import(engine, tmp_path, "name\nA\n")
    undo(engine, report.batch_id)
    with pytest.raises(UserError, match=f"batch #{report.batch_id} was already undone"):
        undo(engine, report.batch_id)
    with pytest.raises(NotFoundError, match="no import batch #99"):
        undo(engine, 99)


def test_batches_are_listed_newest_first_with_counts_and_undo_time(engine, tmp_path, ann):
    first = run_import(engine, tmp_path, "name,email\nB,b@example.com\nAnn,ann@example.com\n")
    second = run_import(engine, tmp_path, "name\nC\n", name="more.csv", now=LATER)
    undo(engine, first.batch_id)
    with session_scope(engine, write=False) as session:
        batches = [b.to_json() for b in list_batches(session)]
    assert batches == [
        {"id": second.batch_id, "file_name": "more.csv", "format": "csv",
         "created_at": LATER.isoformat(), "undone_at": None,
         "counts": {"created": 1, "updated": 0, "skipped": 0, "rejected": 0}},
        {"id": first.batch_id, "file_name": "people.csv", "format": "csv",
         "created_at": NOW.isoformat(), "undone_at": LATER.isoformat(),
         "counts": {"created": 1, "updated": 0, "skipped": 1, "rejected": 0}},
    ]  # fmt: skip


def test_undo_refuses_when_contacts_changed_since_unless_forced(engine, tmp_path, db_path):
    report = run_import(engine, tmp_path, "name,email\nA,a@example.com\nB,b@example.com\n")
    with session_scope(engine) as session:
        update_contact(session, "a@example.com", ContactChanges(fields={"city": "Rome"}), now=LATER)
        log_interaction(session, "b@example.com", "call", "hello", now=LATER)
    before = count(db_path, "contact")
    with pytest.raises(UserError) as caught:
        undo(engine, report.batch_id)
    assert "2 contact(s) of import" in str(caught.value)
    assert "#1 A" in str(caught.value) and "#2 B" in str(caught.value)
    assert "--force" in str(caught.value)
    assert count(db_path, "contact") == before
    result = undo(engine, report.batch_id, force=True)
    assert result.deleted == 2 and count(db_path, "contact") == 0
    assert count(db_path, "interaction") == 0  # went with its contact


def test_undo_of_an_edited_updated_contact_is_refused_too(engine, tmp_path, ann):
    report = run_import(engine, tmp_path, UPDATE_SHEET, on_duplicate="update")
    with session_scope(engine) as session:
        trash_contact(session, ann, now=LATER)
    with pytest.raises(UserError, match="#1 Ann Lee-Smith"):
        undo(engine, report.batch_id)


def test_undo_newest_first_walks_back_through_batches(engine, tmp_path, db_path, ann):
    original = full_state(engine, db_path, ann)
    one = run_import(engine, tmp_path, "email,city\nann@example.com,Paris\n", on_duplicate="update")
    middle = full_state(engine, db_path, ann)
    two = run_import(engine, tmp_path, "email,city\nann@example.com,Rome\n",
                     on_duplicate="update", now=LATER)  # fmt: skip
    undo(engine, two.batch_id)
    assert full_state(engine, db_path, ann) == middle
    undo(engine, one.batch_id)
    assert full_state(engine, db_path, ann) == original


def test_a_contact_purged_since_is_simply_gone(engine, tmp_path):
    report = run_import(engine, tmp_path, "name\nA\nB\n")
    with session_scope(engine) as session:
        purge_contact(session, "A")
    result = undo(engine, report.batch_id)
    assert (result.deleted, result.gone) == (1, 1)


def test_new_imports_never_reuse_the_ids_of_an_undone_one(engine, tmp_path):
    first = run_import(engine, tmp_path, "name\nA\nB\n")
    undo(engine, first.batch_id)
    run_import(engine, tmp_path, "name\nC\n", now=LATER)
    with session_scope(engine, write=False) as session:
        new_id = get_contact(session, "C").id
    # SQLite hands out the next unused id; PostgreSQL draws from its sequence.
    assert new_id == 3 if engine.dialect.name == "sqlite" else new_id > 2


def test_an_import_that_updated_nothing_records_no_change(engine, tmp_path, db_path, ann):
    report = run_import(engine, tmp_path, "email,city\nann@example.com,Berlin\n",
                        on_duplicate="update")  # fmt: skip
    assert report.updated == 0
    assert any("brought nothing new" in note for note in report.notes)
    assert count(db_path, "import_change") == 0


# ------------------------------------------------------------- JSON restore


def export_all(engine, now=NOW) -> dict:
    import minicrm.services.transfer.exporting as exporting

    with session_scope(engine, write=False) as session:
        return exporting.export_all_json(session, now=now)


def restore(engine, tmp_path, data, name="backup.json", **options):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=LATER)


@pytest.fixture
def fresh_engine(tmp_path, migrated_template):
    path = tmp_path / "fresh.db"
    shutil.copyfile(migrated_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def busy_database(engine, ann):
    """Something of everything: custom stages and rules, a trashed contact, a
    lost one, Persian text, interactions, done and recurring follow-ups."""
    with session_scope(engine) as session:
        set_setting(session, "currency", "EUR", now=NOW)
        set_setting(session, "default_region", "DE", now=NOW)
        rules = '[[rule]]\nname = "vip"\nwhen = "tag(\'vip\')"\npoints = 20\n'
        from minicrm.services.scoring.scores import load_rules

        load_rules(session, rules, now=NOW)
        reza = add_contact(session, ContactInput(name="رضا کریمی", phone="030 1234567",
                                                 tags=["vip"]), now=NOW)  # fmt: skip
        gone = add_contact(session, ContactInput(name="Gone Person"), now=NOW)
        trash_contact(session, gone.id, now=NOW)
        move_stage(session, reza.id, "lost", reason="no budget", at=NOW, now=NOW)
        log_interaction(session, ann, "purchase", "bought", amount="1250.50", at=NOW, now=NOW)
        log_interaction(session, reza.id, "note", "سلام", at=NOW, now=NOW)
        weekly = add_followup(session, ann, NOW + timedelta(days=1), "call", every="week", now=NOW)
        done = add_followup(session, reza.id, NOW - timedelta(days=1), "done", now=NOW)
        complete_followup(session, done.id, zone=UTC, now=NOW)
        set_cadence(session, "30d", ref=str(ann), now=NOW)
        set_cadence(session, "14d", tag="vip", now=NOW)
    return weekly


def test_json_export_restores_into_an_empty_database_and_exports_the_same(
    engine, fresh_engine, tmp_path, busy_database
):
    exported = export_all(engine)
    report = restore(fresh_engine, tmp_path, exported)
    assert report.created == len(exported["contacts"]) == 3
    assert export_all(fresh_engine) == exported
    with session_scope(fresh_engine) as session:  # and it is an ordinary, undoable batch
        undo_batch(session, report.batch_id, now=LATER)
    assert export_all(fresh_engine)["contacts"] == []


def test_the_spec_shape_written_by_hand_restores(fresh_engine, tmp_path):
    data = {
        "contacts": [
            {"id": 7, "name": "Maria", "email": "maria@example.com", "phone": None,
             "company": None, "title": None, "city": None, "region": None, "country": None,
             "industry": None, "source": "referral", "stage": "won", "value": 1250.5,
             "owner": "alice", "tags": ["vip"], "notes": None, "extra": {"size": "M"},
             "score": 40, "lost_reason": None, "created_at": "2026-01-01T10:00:00+00:00",
             "updated_at": "2026-02-01T10:00:00+00:00"},
        ],
        "interactions": [{"id": 3, "contact_id": 7, "kind": "purchase",
                          "at": "2026-02-01T10:00:00+00:00", "summary": "first order",
                          "amount": 99.9, "owner": "alice"}],
        "followups": [{"id": 4, "contact_id": 7, "contact_name": "Maria",
                       "due_at": "2026-04-01T09:00:00+00:00", "note": "again?", "done_at": None,
                       "recurrence": None, "snoozed": 0, "owner": "alice", "overdue": False}],
        "stage_changes": [
            {"id": 1, "contact_id": 7, "from_stage": None, "to_stage": "awareness",
             "at": "2026-01-01T10:00:00+00:00", "reason": None},
            {"id": 2, "contact_id": 7, "from_stage": "awareness", "to_stage": "won",
             "at": "2026-02-01T10:00:00+00:00", "reason": None},
        ],
        "settings": {"currency": "EUR"},
    }  # fmt: skip
    restore(fresh_engine, tmp_path, data)
    with session_scope(fresh_engine, write=False) as session:
        maria = get_contact(session, 7)
        assert maria.to_json()["value"] == 1250.5
        assert (maria.score, maria.tags, maria.extra) == (40, ["vip"], {"size": "M"})
        assert maria.stage_entered_at == datetime(2026, 2, 1, 10, tzinfo=UTC)
        assert maria.updated_at == datetime(2026, 2, 1, 10, tzinfo=UTC)
        from minicrm.services.records.config import get_setting

        assert get_setting(session, "currency") == "EUR"


def test_json_into_a_database_with_contacts_is_refused(engine, tmp_path, ann):
    with pytest.raises(UserError, match="only be imported into an empty database"):
        restore(engine, tmp_path, {"contacts": []})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "is not a minicrm export"),
        ({"contacts": [{"id": 1, "name": "", "created_at": "2026-01-01"}]}, "needs a name"),
        ({"contacts": [{"id": "x", "name": "A", "created_at": "2026-01-01"}]}, "positive whole"),
        ({"contacts": [], "interactions": [{"id": 1, "contact_id": 5, "kind": "call",
                                            "at": "2026-01-01"}]}, "not in the file: #5"),
        ({"contacts": [], "settings": {"nope": "1"}}, "unknown setting 'nope'"),
    ],
)  # fmt: skip
def test_broken_exports_are_refused_whole(fresh_engine, tmp_path, data, message):
    with pytest.raises(UserError) as caught:
        restore(fresh_engine, tmp_path, data)
    text = str(caught.value)
    if isinstance(caught.value, ImportRejected):
        text += " " + " ".join(reason for _line, reason in caught.value.report.rejected)
    assert message in text


def test_json_dry_run_writes_nothing(fresh_engine, tmp_path):
    data = {"contacts": [{"id": 1, "name": "A", "created_at": "2026-01-01T00:00:00+00:00"}],
            "settings": {"currency": "EUR"}}  # fmt: skip
    report = restore(fresh_engine, tmp_path, data, dry_run=True)
    assert (report.dry_run, report.created, report.batch_id) == (True, 1, None)
    with session_scope(fresh_engine, write=False) as session:
        from minicrm.services.contacts.listing import count_contacts
        from minicrm.services.records.config import get_setting

        assert (count_contacts(session), get_setting(session, "currency")) == (0, "USD")
