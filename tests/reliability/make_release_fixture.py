"""Builds tests/fixtures/schema-0004-demo.db and schema-0004-demo-figures.json:
a demo database made by the PREVIOUS release (schema 0004, commit 1100c27,
where a contact was a deal) and the figures that release's reports gave on
it, for test_deals_migration.py.

It must run with the old code, never the current one:

    git -C /work/main worktree add /tmp/prev-release 1100c27
    PYTHONPATH=/tmp/prev-release/src .venv/bin/python tests/reliability/make_release_fixture.py

The data is what `crm demo --contacts 300 --seed 7` made at that release,
drawn against the fixed NOW below (the CLI uses the clock), and every figure
is taken at NOW too, so the test can ask the current code the same question.
Figures are the JSON of `crm report funnel` (no --by and every --by),
`crm report forecast`, `crm report segments` and `crm list --json`.
"""

import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DB = FIXTURES / "schema-0004-demo.db"
FIGURES = FIXTURES / "schema-0004-demo-figures.json"
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
CONTACTS, SEED = 300, 7
BY = (None, "owner", "source", "industry", "region")


def main() -> None:
    from sqlmodel import Session
    from typer.testing import CliRunner

    from minicrm.commands import app
    from minicrm.db import SCHEMA_HEAD, ensure_schema, make_engine
    from minicrm.services.demo.generate import generate_demo
    from minicrm.services.funnel.funnel import funnel_report
    from minicrm.services.funnel.reports import forecast_report, segments_report

    if SCHEMA_HEAD != "0004":
        sys.exit(f"run this with the 0004 release's code (PYTHONPATH), not {SCHEMA_HEAD}")
    DB.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{DB}")
    ensure_schema(engine)
    with Session(engine) as session:
        generate_demo(session, contacts=CONTACTS, seed=SEED, now=NOW)
        session.commit()
    with Session(engine) as session:
        figures = {
            "now": NOW.isoformat(),
            "funnel": {by or "": funnel_report(session, by=by, now=NOW).to_json() for by in BY},
            "forecast": forecast_report(session, now=NOW).to_json(),
            "segments": segments_report(session).to_json(),
        }
    engine.dispose()
    figures["segments_when_won_deals_count"] = _segments_when_won_deals_count()
    listed = CliRunner().invoke(app, ["--db", str(DB), "list", "--json", "--limit", "100000"])
    assert listed.exit_code == 0, listed.output
    figures["contacts"] = [
        {k: c[k] for k in ("id", "name", "stage", "value", "score", "lost_reason")}
        for c in json.loads(listed.stdout)
    ]
    with sqlite3.connect(DB) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    with sqlite3.connect(DB) as connection:
        connection.execute("VACUUM")
    FIGURES.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n")
    print(DB, DB.stat().st_size, "bytes")
    print(FIGURES)


def _segments_when_won_deals_count() -> dict:
    """What segments must say after the upgrade, by the old code itself: a
    won contact with no purchase logged gets one purchase of its value at the
    moment it was won (a won deal with no linked purchase counts its value at
    its close date), on a scratch copy of the database."""
    import shutil
    import tempfile

    from sqlalchemy import text
    from sqlmodel import Session

    from minicrm.db import make_engine
    from minicrm.services.funnel.reports import segments_report

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "crm.db"
        shutil.copyfile(DB, copy)
        engine = make_engine(f"sqlite:///{copy}")
        with Session(engine) as session:
            session.execute(text(WON_WITHOUT_PURCHASE_AS_PURCHASE))
            report = segments_report(session).to_json()
        engine.dispose()
    return report


WON_WITHOUT_PURCHASE_AS_PURCHASE = """
    INSERT INTO interaction (contact_id, kind, at, summary, search_text, amount_cents,
                             owner, created_at)
    SELECT c.id, 'purchase', c.stage_entered_at, 'won', 'won', c.value_cents, c.owner,
           c.stage_entered_at
    FROM contact c
    WHERE c.stage = 'won' AND c.value_cents IS NOT NULL AND c.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM interaction i
                      WHERE i.contact_id = c.id AND i.kind = 'purchase')
"""


if __name__ == "__main__":
    main()
