"""A contact import opens each new contact's first deal, links companies by
the organisation column, and undo takes deals and companies back; a JSON
file of the release before deals restores with one deal per contact."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from minicrm.db import session_scope
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.transfer.batches import undo_batch
from minicrm.services.transfer.files import ImportOptions, import_file

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
SHEET = (
    "name,email,company,stage,value,owner,source,created_at,closed_at,stage_changed_at,"
    "lost_reason\n"
    "Ann,ann@x.com,Acme GmbH,interest,100,alice,web,2026-01-05,,2026-02-01,\n"
    "Bob,bob@x.com,ACME gmbh,won,250.5,bob,fair,2026-01-10,2026-03-01,,\n"
    "Cy,cy@x.com,Zeta,lost,,alice,,,,,too dear\n"
    "Di,di@x.com,,awareness,,,,2026-01-02,,,\n"
)


def run_import(engine, tmp_path, content, name="people.csv", **options):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql)).all()]


def test_each_new_contact_gets_its_first_deal_with_its_history(engine, tmp_path):
    run_import(engine, tmp_path, SHEET)
    deals = {r[0]: r[1:] for r in rows(engine, """
        SELECT d.title, d.stage, d.value_cents, d.owner, d.source, d.lost_reason,
               d.lost_at_stage, d.closed_at IS NOT NULL, co.name, c.company_id = d.company_id,
               d.contact_id = c.id
        FROM deal d JOIN contact c ON c.id = d.contact_id
        LEFT JOIN company co ON co.id = d.company_id""")}  # fmt: skip
    assert deals == {
        "Ann": ("interest", 10000, "alice", "web", None, None, 0, "Acme GmbH", 1, 1),
        "Bob": ("won", 25050, "bob", "fair", None, None, 1, "Acme GmbH", 1, 1),
        "Cy": ("lost", None, "alice", None, "too dear", None, 1, "Zeta", 1, 1),
        "Di": ("awareness", None, None, None, None, None, 0, None, None, 1),
    }
    # one company per folded name; the contact shows the company's name
    assert rows(engine, "SELECT name FROM company ORDER BY id") == [("Acme GmbH",), ("Zeta",)]
    assert rows(engine, "SELECT company FROM contact WHERE name = 'Bob'") == [("Acme GmbH",)]
    history = rows(
        engine,
        """
        SELECT d.title, s.from_stage, s.to_stage, substr(CAST(s.at AS TEXT), 1, 10)
        FROM stage_change s
        JOIN deal d ON d.id = s.deal_id WHERE s.contact_id = d.contact_id ORDER BY s.id""",
    )
    assert history == [
        ("Ann", None, "awareness", "2026-01-05"), ("Ann", "awareness", "interest", "2026-02-01"),
        ("Bob", None, "awareness", "2026-01-10"), ("Bob", "awareness", "won", "2026-03-01"),
        ("Cy", None, "lost", "2026-03-20"), ("Di", None, "awareness", "2026-01-02"),
    ]  # fmt: skip
    closed = rows(engine, "SELECT substr(CAST(closed_at AS TEXT), 1, 10), "
                          "substr(CAST(created_at AS TEXT), 1, 10) FROM deal "
                          "WHERE title = 'Bob'")  # fmt: skip
    assert closed == [("2026-03-01", "2026-01-10")]
    assert rows(engine, "SELECT count(*) FROM stage_change WHERE deal_id IS NULL") == [(0,)]


def test_a_live_company_is_reused_and_undo_keeps_it(engine, tmp_path):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Old", company="acme gmbh"), now=NOW)
    report = run_import(engine, tmp_path, SHEET)
    assert rows(engine, "SELECT name FROM company ORDER BY id") == [("acme gmbh",), ("Zeta",)]
    with session_scope(engine) as session:
        undo_batch(session, report.batch_id, now=LATER)
    assert rows(engine, "SELECT name FROM company") == [("acme gmbh",)]
    assert rows(engine, "SELECT title FROM deal") == [("Old",)]


def test_an_update_moves_the_contacts_deal_and_undo_puts_it_back(engine, tmp_path):
    with session_scope(engine) as session:
        ann = add_contact(session, ContactInput(name="Ann", email="ann@x.com", value="5"),
                          now=NOW - timedelta(days=9))  # fmt: skip
    before = rows(engine, "SELECT * FROM deal")
    report = run_import(engine, tmp_path, "email,stage,value,company\nann@x.com,decision,80,Beta\n",
                        on_duplicate="update")  # fmt: skip
    assert rows(engine, "SELECT stage, value_cents FROM deal") == [("decision", 8000)]
    contact = rows(engine, f"SELECT stage, value_cents, company FROM contact WHERE id = {ann.id}")
    assert contact == [("decision", 8000, "Beta")]
    moves = rows(engine, "SELECT deal_id, from_stage, to_stage FROM stage_change ORDER BY id")
    assert moves[-1] == (before[0][0], "awareness", "decision")
    with session_scope(engine) as session:
        undo_batch(session, report.batch_id, now=LATER)
    assert rows(engine, "SELECT * FROM deal") == before
    assert rows(engine, "SELECT count(*) FROM company") == [(0,)]
    assert len(rows(engine, "SELECT id FROM stage_change")) == 1


def test_a_previous_release_backup_restores_with_one_deal_per_contact(engine, tmp_path):
    data = {
        "contacts": [
            {"id": 7, "name": "Maria", "company": "Lopez Bakery", "stage": "won", "value": 12.5,
             "score": 40, "owner": "al", "created_at": "2026-01-01T10:00:00+00:00"},
            {"id": 9, "name": "Pere", "company": "lopez bakery", "stage": "lost",
             "lost_reason": "price", "created_at": "2026-01-01T10:00:00+00:00"},
        ],
        "interactions": [{"id": 3, "contact_id": 7, "kind": "purchase", "amount": 12.5,
                          "at": "2026-02-01T10:00:00+00:00"}],
        "stage_changes": [
            {"id": 1, "contact_id": 7, "from_stage": None, "to_stage": "awareness",
             "at": "2026-01-01T10:00:00+00:00"},
            {"id": 2, "contact_id": 7, "from_stage": "awareness", "to_stage": "won",
             "at": "2026-02-01T10:00:00+00:00"},
            {"id": 3, "contact_id": 9, "from_stage": None, "to_stage": "interest",
             "at": "2026-01-01T10:00:00+00:00"},
            {"id": 4, "contact_id": 9, "from_stage": "interest", "to_stage": "lost",
             "at": "2026-01-09T10:00:00+00:00", "reason": "price"},
        ],
    }  # fmt: skip
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with session_scope(engine) as session:
        import_file(session, path, ImportOptions(), now=LATER)
    assert rows(engine, "SELECT id, contact_id, title, stage, value_cents, lost_reason, "
                        "lost_at_stage, owner, score, company_id FROM deal ORDER BY id") == [
        (7, 7, "Maria", "won", 1250, None, None, "al", 40, 1),
        (9, 9, "Pere", "lost", None, "price", "interest", None, 0, 1),
    ]  # fmt: skip
    assert rows(engine, "SELECT id, name FROM company") == [(1, "Lopez Bakery")]
    assert rows(engine, "SELECT company_id FROM contact ORDER BY id") == [(1,), (1,)]
    assert rows(engine, "SELECT id, deal_id FROM stage_change ORDER BY id") == [
        (1, 7), (2, 7), (3, 9), (4, 9)]  # fmt: skip
    assert rows(engine, "SELECT deal_id FROM interaction") == [(7,)]
