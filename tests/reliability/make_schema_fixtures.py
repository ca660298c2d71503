"""Builds tests/fixtures/schema-<revision>.db: a small database as each
released schema revision left it, for the upgrade test (QUALITY R6).

Run once per new migration: `python tests/reliability/make_schema_fixtures.py`.
Rows are written with plain SQL, not the current models, because the models
always follow the newest schema.
"""

import sys
from pathlib import Path

from sqlalchemy import text

from minicrm.db import make_engine, upgrade_schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
# Rows above are in the shape of 0004 and earlier: a newer fixture is the
# 0004 one upgraded by the real migrations, then given the rows of its time.
OLD_SHAPE = "0004"

BASE_ROWS = [
    "INSERT INTO setting (key, value, updated_at) VALUES "
    "('stages', 'lead,qualified,proposal', '2025-01-01 09:00:00'), "
    "('currency', 'EUR', '2025-01-01 09:00:00')",
    "INSERT INTO contact (id, name, name_folded, email, phone, company, stage, value_cents, "
    "owner, notes, extra, score, search_text, created_at, updated_at, stage_entered_at, version) "
    "VALUES (1, 'Maria López', 'maria lopez', 'maria@lopez.example', '+34600123456', "
    "'Lopez Bakery', 'qualified', 125050, 'ana', 'likes red', '{\"birthday\": \"1980-02-03\"}', "
    "0, 'maria lopez maria lopez example 34600123456 lopez bakery likes red', "
    "'2025-01-02 10:00:00', '2025-01-05 10:00:00', '2025-01-05 10:00:00', 2), "
    "(2, 'علی کریمی', 'علی کریمی', NULL, NULL, NULL, 'lost', NULL, 'sam', NULL, NULL, 0, "
    "'علی کریمی', '2025-01-03 10:00:00', '2025-02-01 10:00:00', '2025-02-01 10:00:00', 2)",
    "UPDATE contact SET lost_reason = 'no budget' WHERE id = 2",
    "INSERT INTO tag (id, name) VALUES (1, 'vip')",
    "INSERT INTO contact_tag (contact_id, tag_id) VALUES (1, 1)",
    "INSERT INTO interaction (id, contact_id, kind, at, summary, search_text, amount_cents, "
    "owner, created_at) VALUES (1, 1, 'purchase', '2025-01-04 12:00:00', 'two cakes', "
    "'two cakes', 2400, 'ana', '2025-01-04 12:00:00')",
    "INSERT INTO followup (id, contact_id, due_at, note, recurrence, snoozed, owner, "
    "created_at, updated_at, version) VALUES (1, 1, '2025-03-01 08:00:00', 'call back', "
    "'FREQ=WEEKLY', 1, 'ana', '2025-01-04 12:00:00', '2025-01-04 12:00:00', 1)",
    "INSERT INTO stage_change (id, contact_id, from_stage, to_stage, at, reason) VALUES "
    "(1, 1, NULL, 'lead', '2025-01-02 10:00:00', NULL), "
    "(2, 1, 'lead', 'qualified', '2025-01-05 10:00:00', NULL), "
    "(3, 2, NULL, 'lead', '2025-01-03 10:00:00', NULL), "
    "(4, 2, 'lead', 'lost', '2025-02-01 10:00:00', 'no budget')",
]
ROWS_SINCE = {
    "0002": [
        "INSERT INTO cadence (id, contact_id, tag, every_days, created_at) VALUES "
        "(1, NULL, 'vip', 30, '2025-01-06 10:00:00')",
        "INSERT INTO reminder_ledger (key, sent_at) VALUES "
        "('followup:1:2025-03-01T08:00:00+00:00', '2025-03-01 06:00:00')",
    ],
    "0003": [
        "INSERT INTO import_batch (id, file_name, format, created_at, counts) VALUES "
        "(1, 'old.csv', 'csv', '2025-01-07 10:00:00', '{\"created\": 1}')",
        "INSERT INTO import_change (id, batch_id, contact_id, action, before) VALUES "
        "(1, 1, 2, 'created', NULL)",
    ],
    "0005": [  # what `crm merge` wrote before 0006: a note on KEEP's timeline
        "INSERT INTO interaction (id, contact_id, kind, at, summary, search_text, owner, "
        "created_at) VALUES (2, 1, 'note', '2025-01-08 10:00:00', "
        "'Merged #3 Maria Lopez (maria@old.example) into this contact', "
        "'merged 3 maria lopez maria old example into this contact', 'ana', "
        "'2025-01-08 10:00:00'), "
        "(3, 1, 'note', '2025-01-09 10:00:00', 'Merged #4 into this shop? no, a real note', "
        "'merged 4 into this shop no a real note', 'ana', '2025-01-09 10:00:00')",
    ],
    "0006": [  # what `crm followup done` left before 0007: a snoozed weekly one
        # done, and a new row for its next occurrence with nothing linking them
        "INSERT INTO followup (id, contact_id, due_at, note, done_at, recurrence, snoozed, "
        "owner, created_at, updated_at, version) VALUES (2, 2, '2025-02-03 08:00:00', "
        "'weekly check', '2025-02-03 08:30:00', 'FREQ=WEEKLY;BYDAY=MO', 2, 'sam', "
        "'2025-01-27 10:00:00', '2025-02-03 08:30:00', 4), "
        "(3, 2, '2025-02-10 08:00:00', 'weekly check', NULL, 'FREQ=WEEKLY;BYDAY=MO', 0, 'sam', "
        "'2025-02-03 08:30:00', '2025-02-03 08:30:00', 1)",
    ],
}


def build(revision: str) -> Path:
    path = FIXTURES / f"schema-{revision}.db"
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine, min(revision, OLD_SHAPE))
    _insert(engine, BASE_ROWS, revision, lambda since: since <= OLD_SHAPE)
    # Each later revision's rows go in at that revision, then the real
    # migrations carry them on (0006 turns 0005's merge notes into events).
    for since in sorted(s for s in ROWS_SINCE if OLD_SHAPE < s <= revision):
        upgrade_schema(engine, since)
        _insert(engine, [], since, lambda later, since=since: later == since)
    if revision > OLD_SHAPE:
        upgrade_schema(engine, revision)
    engine.dispose()
    with __import__("sqlite3").connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    return path


def _insert(engine, base: list[str], revision: str, wanted) -> None:
    statements = list(base)
    for since, rows in ROWS_SINCE.items():
        if since <= revision and wanted(since):
            statements += rows
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


if __name__ == "__main__":
    for revision in sys.argv[1:] or REVISIONS:
        print(build(revision))
