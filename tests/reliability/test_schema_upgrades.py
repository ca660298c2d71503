"""R6: a database made by every earlier schema revision upgrades with nothing lost.

The fixtures are real files written at each revision by
make_schema_fixtures.py; a new migration adds a new fixture.
"""

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from minicrm.commands import app
from minicrm.db import SCHEMA_HEAD, current_revision, ensure_schema, make_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REVISIONS = sorted(
    p.stem.removeprefix("schema-")
    for p in FIXTURES.glob("schema-*.db")
    if p.stem.removeprefix("schema-").isdigit()  # not schema-0004-demo.db
)


def test_there_is_a_fixture_for_every_revision_but_the_head_may_be_new():
    versions = Path(__file__).resolve().parents[2] / "src/minicrm/migrations/versions"
    released = sorted(p.name[:4] for p in versions.glob("0*.py"))
    assert set(released) - set(REVISIONS) <= {SCHEMA_HEAD}, "add a fixture for each release"


@pytest.fixture(params=REVISIONS)
def old_database(request, tmp_path) -> tuple[str, Path]:
    path = tmp_path / "crm.db"
    shutil.copyfile(FIXTURES / f"schema-{request.param}.db", path)
    path.chmod(0o600)
    return request.param, path


def crm(path: Path, *args: str):
    result = CliRunner().invoke(app, ["--db", str(path), *args])
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def test_old_database_upgrades_with_every_row_intact(old_database):
    revision, path = old_database
    engine = make_engine(f"sqlite:///{path}")
    upgrade = ensure_schema(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()
    if revision != SCHEMA_HEAD:
        assert upgrade.from_revision == revision and upgrade.backup.exists()

    maria = json.loads(crm(path, "show", "maria", "--json").stdout)
    assert (maria["name"], maria["email"], maria["phone"]) == (
        "Maria López", "maria@lopez.example", "+34600123456",
    )  # fmt: skip
    assert (maria["value"], maria["tags"], maria["extra"]) == (
        1250.5,
        ["vip"],
        {"birthday": "1980-02-03"},
    )
    since_0005 = [
        "Merged #4 into this shop? no, a real note",
        "Merged #3 Maria Lopez (maria@old.example) into this contact",
    ]
    assert [e.get("summary") or e["to_stage"] for e in maria["timeline"]] == [
        *(since_0005 if revision >= "0005" else []), "qualified", "two cakes", "lead",
    ]  # fmt: skip
    assert [f["note"] for f in maria["followups"]] == ["call back"]

    ali = json.loads(crm(path, "show", "علي كريمي", "--json").stdout)
    assert (ali["stage"], ali["lost_reason"]) == ("lost", "no budget")
    assert (
        json.loads(crm(path, "config", "list", "--json").stdout)["stages"]
        == "lead,qualified,proposal"
    )
    assert [h["name"] for h in json.loads(crm(path, "search", "cakes", "--json").stdout)] == [
        "Maria López"
    ]
    assert json.loads(crm(path, "db", "check", "--json").stdout)["ok"] is True


def test_each_old_contact_became_a_deal_with_the_same_id_and_its_company(old_database):
    """0005: contact #N is deal #N with its funnel fields and history; the
    company text became a company the contact links to."""
    _revision, path = old_database
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    with engine.connect() as connection:
        deals = connection.execute(
            text("SELECT id, contact_id, title, stage, value_cents, lost_reason, lost_at_stage "
                 "FROM deal ORDER BY id")
        ).all()  # fmt: skip
        companies = connection.execute(text("SELECT id, name, name_folded FROM company")).all()
        links = connection.execute(text("SELECT id, company_id FROM contact ORDER BY id")).all()
        history = connection.execute(
            text("SELECT id, deal_id, contact_id FROM stage_change ORDER BY id")
        ).all()
        purchases = connection.execute(
            text("SELECT id, deal_id FROM interaction WHERE kind = 'purchase'")
        ).all()
    engine.dispose()
    assert [tuple(d) for d in deals] == [
        (1, 1, "Maria López", "qualified", 125050, None, None),
        (2, 2, "علی کریمی", "lost", None, "no budget", "lead"),
    ]
    assert [tuple(c) for c in companies] == [(1, "Lopez Bakery", "lopez bakery")]
    assert [tuple(c) for c in links] == [(1, 1), (2, None)]
    assert [tuple(h) for h in history] == [(1, 1, 1), (2, 1, 1), (3, 2, 2), (4, 2, 2)]
    assert [tuple(p) for p in purchases] == [(1, None)]  # Maria is not won: no deal to link
    company = json.loads(crm(path, "show", "maria", "--json").stdout)
    assert (company["company"], company["company_id"]) == ("Lopez Bakery", 1)


def test_rows_added_by_later_revisions_survive_too(old_database):
    revision, path = old_database
    cadences = json.loads(crm(path, "cadence", "list", "--json").stdout)
    assert [c["tag"] for c in cadences] == (["vip"] if revision >= "0002" else [])


def test_a_merge_line_becomes_a_merge_event_and_stops_counting_as_contact(tmp_path):
    """0006: the line `crm merge` wrote as a note is kind `merge`, which no
    figure counts; a real note that merely starts alike stays a note. The
    funnel and forecast are the same before and after (0006 changes no
    schema, so today's code reads the 0005 file as it is)."""
    from datetime import UTC, datetime

    from minicrm.db import session_scope
    from minicrm.services.funnel.funnel import funnel_report
    from minicrm.services.funnel.reports import forecast_report
    from minicrm.services.scoring.figures import facts_for

    path = tmp_path / "crm.db"
    shutil.copyfile(FIXTURES / "schema-0005.db", path)
    now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)

    def figures(engine):
        with session_scope(engine, write=False) as session:
            [maria] = facts_for(session, [1], now=now)
            kinds = dict(session.execute(text("SELECT id, kind FROM interaction")).all())
            return (
                kinds,
                maria.values["interactions_30d"],
                funnel_report(session, now=now).to_json(),
                forecast_report(session, now=now).to_json(),
            )

    engine = make_engine(f"sqlite:///{path}")
    before = figures(engine)
    ensure_schema(engine)
    after = figures(engine)
    engine.dispose()
    assert before[0] == {1: "purchase", 2: "note", 3: "note"}
    assert after[0] == {1: "purchase", 2: "merge", 3: "note"}
    assert (before[1], after[1]) == (3, 2)  # the merge line no longer counts
    assert after[2:] == before[2:]


def test_follow_ups_stay_their_own_series_and_keep_their_calendar_entries(tmp_path):
    """0007: every existing follow-up keeps its row and is a series of its own
    (series_id NULL, series_revision 0), so the calendar export gives it the
    UID and SEQUENCE it had before (followup-<id>, its snoozes). The next
    `done` on a recurring one starts linking: the new row keeps the UID."""
    from datetime import UTC, datetime

    from icalendar import Calendar

    from minicrm.db import session_scope
    from minicrm.services.followups.followups import complete_followup
    from minicrm.services.transfer.calendar_export import (
        followups_to_ics,
        open_followups_for_export,
    )

    path = tmp_path / "crm.db"
    shutil.copyfile(FIXTURES / "schema-0006.db", path)
    old_columns = (
        "id, contact_id, deal_id, due_at, note, done_at, recurrence, snoozed, owner, "
        "created_at, updated_at, version"
    )

    def rows(engine, columns=old_columns):
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT {columns} FROM followup ORDER BY id")).all()

    def calendar(engine, now):
        with session_scope(engine, write=False) as session:
            data = followups_to_ics(open_followups_for_export(session), now=now)
        return {
            str(todo["UID"]): (int(todo["SEQUENCE"]), todo.decoded("DTSTART"))
            for todo in Calendar.from_ical(data).walk("VTODO")
        }

    engine = make_engine(f"sqlite:///{path}")
    before = rows(engine)
    ensure_schema(engine)
    assert rows(engine) == before
    assert rows(engine, "id, series_id, series_revision") == [
        (1, None, 0),
        (2, None, 0),
        (3, None, 0),
    ]
    now = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
    assert calendar(engine, now) == {
        "followup-1@minicrm": (1, datetime(2025, 3, 1, 8, 0, tzinfo=UTC)),  # snoozed once
        "followup-3@minicrm": (0, datetime(2025, 2, 10, 8, 0, tzinfo=UTC)),
    }
    with session_scope(engine) as session:
        following = complete_followup(session, 3, zone=UTC, now=now).next
    assert (following.id, following.series_id, following.series_revision) == (4, 3, 1)
    assert calendar(engine, now)["followup-3@minicrm"] == (
        1, datetime(2025, 2, 17, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    engine.dispose()


def _every_row(path: Path, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of every table; with `columns`, only those columns (a later
    migration's new columns left out)."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '%_fts%' AND name != 'alembic_version'"
        )]  # fmt: skip

        def rows(table: str) -> list[tuple]:
            names = ", ".join(f'"{c}"' for c in columns[table]) if columns else "*"
            return connection.execute(f'SELECT {names} FROM "{table}" ORDER BY 1').fetchall()

        return {t: rows(t) for t in tables}


def _columns(path: Path) -> dict[str, list[str]]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '%_fts%' AND name != 'alembic_version'"
        )]  # fmt: skip
        return {
            t: [row[1] for row in connection.execute(f'PRAGMA table_info("{t}")')] for t in tables
        }


def test_merged_history_columns_are_added_and_earlier_merges_stay_unlabelled(tmp_path):
    """0009 adds merged_from_id/name to interactions and stage changes: every
    row as it was, nothing labelled (no earlier merge recorded its origin),
    and a merge after the upgrade labels what it moves."""
    path = tmp_path / "crm.db"
    shutil.copyfile(FIXTURES / "schema-0008.db", path)
    path.chmod(0o600)
    old_columns = _columns(path)
    before = _every_row(path)
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    assert _every_row(path, old_columns) == before
    maria = json.loads(crm(path, "show", "maria", "--json").stdout)
    assert len(maria["timeline"]) == len(
        [r for r in before["interaction"] if r[1] == 1]
    ) + len([r for r in before["stage_change"] if r[1] == 1])
    assert {entry["merged_from"] for entry in maria["timeline"]} == {None}
    crm(path, "merge", "maria", "2")
    timeline = json.loads(crm(path, "show", "1", "--json").stdout)["timeline"]
    blocks = [entry["merged_from"] for entry in timeline]
    assert {"id": 2, "name": "علی کریمی"} in blocks


def test_ids_are_never_reused_after_the_upgrade_and_every_row_is_kept(tmp_path):
    """0008 rebuilds each table with AUTOINCREMENT: every row and id as it
    was, the indexes and search triggers back, and from then on a purged
    newest contact's id is not given to the next one."""
    path = tmp_path / "crm.db"
    shutil.copyfile(FIXTURES / "schema-0007.db", path)
    path.chmod(0o600)
    old_columns = _columns(path)
    before = _every_row(path)
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    assert _every_row(path, old_columns) == before
    assert json.loads(crm(path, "db", "check", "--json").stdout)["ok"] is True
    assert [c["name"] for c in json.loads(crm(path, "search", "cakes", "--json").stdout)] == [
        "Maria López"
    ]  # the full-text triggers and index survived the rebuild
    newest = max(row[0] for row in before["contact"])
    crm(path, "rm", str(newest), "--purge", "--yes")
    added = json.loads(crm(path, "add", "Nuevo Cliente", "--json").stdout)
    assert added["id"] == newest + 1
    deals = json.loads(crm(path, "deal", "list", "--all", "--json").stdout)
    assert max(d["id"] for d in deals) > max(row[0] for row in before["deal"])
