"""The import's speed paths store exactly what the plain ones store: phones
worked out in a worker process, rule verdicts remembered per rule, rows
written as tuples (and, off SQLite's fast path, through the column types)."""

import math
import shutil
import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.db import make_engine, session_scope
from minicrm.services.records.config import set_setting
from minicrm.services.scoring.rulebook import parse_rules
from minicrm.services.scoring.scores import load_rules
from minicrm.services.transfer import bulk_load, importing, phones_ahead
from minicrm.services.transfer.cleaning import Cleaner
from minicrm.services.transfer.files import ImportOptions, import_file
from minicrm.services.transfer.importing import Planned
from minicrm.services.transfer.new_scores import NewContactScorer, _Chunk, _Remembered

TWO_FILES = pytest.mark.sqlite_only("compares the SQLite files of two imports")

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PHONES = ["+1 415 555 {n:04d}", "(212) 555-{n:04d}", "+49 30 {n:07d}", "030 {n:07d}",
          "+44 20 7946 {n:04d}", "555-{n:04d} x12", "no phone", "1-800-FLOWERS", "{n}",
          "++49 {n}", "  ", "+98 912 {n:07d}"]  # fmt: skip
RULES = """
[[rule]]
name = "reachable"
when = "has(email) and has(phone)"
points = 3
[[rule]]
name = "worth"
when = "value >= 100"
points = 5
[[rule]]
name = "vip"
when = "tag('vip')"
points = 7
"""


def sheet(rows: int) -> str:
    lines = ["name,email,phone,company,tags,value,stage"]
    for i in range(rows):
        phone = PHONES[i % len(PHONES)].format(n=i * 37 % 10_000)
        if phone == "no phone":  # each one different, so the worker sees some
            phone += " " + "".join(chr(ord("a") + int(d)) for d in str(i))
        email = f"p{i % 97}@example.com" if i % 5 else ""  # some duplicates to skip
        tags = ("vip", "local;vip", "")[i % 3]
        stage = ("", "won", "lost", "decision")[i % 4]
        lines.append(f"P{i},{email},{phone},Co {i % 4},{tags},{i % 300},{stage}")
    return "\n".join(lines) + "\n"


def imported(template, tmp_path, name: str, text: str, *, on_duplicate: str = "skip") -> list:
    """Every row of every table after importing `text` into a copy of `template`."""
    (tmp_path / name).mkdir()
    path = tmp_path / name / "crm.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        set_setting(session, "default_region", "US", now=NOW)
        load_rules(session, RULES, now=NOW)
    source = tmp_path / name / "contacts.csv"
    source.write_text(text, encoding="utf-8")
    options = ImportOptions(skip_invalid=True, on_duplicate=on_duplicate)
    with session_scope(engine) as session:
        import_file(session, source, options, now=NOW)
    engine.dispose()
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(t, sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr))
                for t in sorted(tables)]  # fmt: skip


@pytest.fixture
def in_chunks_of_seven(monkeypatch):
    monkeypatch.setattr(importing, "CHUNK", 7)


@TWO_FILES
def test_phones_from_the_worker_are_the_phones_worked_out_here(
    migrated_template, tmp_path, monkeypatch, in_chunks_of_seven
):
    if "fork" not in phones_ahead.multiprocessing.get_all_start_methods():
        pytest.skip("no fork here: the worker is never used")
    text = sheet(150)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 10**9)
    plain = imported(migrated_template, tmp_path, "plain", text)
    learnt = []
    real_learn = Cleaner.learn_phones

    def learn(self, texts, answers):
        learnt.extend(answers)
        real_learn(self, texts, answers)

    monkeypatch.setattr(Cleaner, "learn_phones", learn)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 0)
    # (a test runner may keep threads of its own; the worker only normalises phones)
    monkeypatch.setattr(phones_ahead.threading, "active_count", lambda: 1)
    monkeypatch.setattr(phones_ahead.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert imported(migrated_template, tmp_path, "ahead", text) == plain
    assert any(isinstance(a, str) and a.startswith("+1") for a in learnt), "valid numbers"
    assert any(a[:1] == ("error",) and "it has no digits" in a[1] for a in learnt), "refusals"


@TWO_FILES
def test_a_worker_gone_midway_leaves_the_work_to_this_process(
    migrated_template, tmp_path, monkeypatch, in_chunks_of_seven
):
    if "fork" not in phones_ahead.multiprocessing.get_all_start_methods():
        pytest.skip("no fork here: the worker is never used")
    text = sheet(80)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 10**9)
    plain = imported(migrated_template, tmp_path, "plain", text, on_duplicate="update")
    asked = []
    real_ask = phones_ahead._Worker.ask

    def ask_then_die(self, texts, region):
        asked.append(len(texts))
        if len(asked) == 3:
            self.process.kill()
            self.process.join()
        return real_ask(self, texts, region)

    monkeypatch.setattr(phones_ahead._Worker, "ask", ask_then_die)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(phones_ahead.threading, "active_count", lambda: 1)
    monkeypatch.setattr(phones_ahead.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert imported(migrated_template, tmp_path, "ahead", text, on_duplicate="update") == plain
    assert len(asked) >= 3


@TWO_FILES
def test_rows_through_the_column_types_store_what_the_fast_path_stores(
    migrated_template, tmp_path, monkeypatch, in_chunks_of_seven
):
    text = sheet(60)
    fast = imported(migrated_template, tmp_path, "fast", text)
    # A stamper that disagrees with UTCDateTime is refused: rows go in as
    # dicts of datetimes, the way they go into PostgreSQL.
    monkeypatch.setattr(bulk_load, "_sqlite_stamper", lambda: lambda ts: "1999-01-01 00:00:00")
    assert imported(migrated_template, tmp_path, "typed", text) == fast


# ------------------------------------------------------- remembered verdicts

_RULE_TEXT = """
[[rule]]
name = "one value"
when = "source == 'referral'"
points = 2
[[rule]]
name = "numbers"
when = "value >= 1 and value < 1000"
points = 3
[[rule]]
name = "presence"
when = "not has(email) and has(source)"
points = -4
[[rule]]
name = "value and presence"
when = "has(source) or source in ('walk-in', 'fair')"
points = 5
[[rule]]
name = "two names"
when = "days_in_stage > value"
points = 6
[[rule]]
name = "tags"
when = "tag('vip') and not tag('no-budget')"
points = 7
[[rule]]
name = "per"
per = "value"
points = 0.5
max = 20
[[rule]]
name = "extra"
when = "has(extra.size) and extra.size != 'small'"
points = 1
"""
_values = st.sampled_from([None, "", "  ", "referral", "Referral ", "walk-in", "1000", "small",
                           0, 1, 1.0, True, False, -2, 999.5, 1000, 1e12, math.nan, math.inf,
                           [1]])  # fmt: skip
_row = st.fixed_dictionaries({
    "source": _values, "value": _values, "email": _values, "days_in_stage": _values,
    "extra.size": _values,
})  # fmt: skip
_tags = st.sets(st.sampled_from(["vip", "no-budget", "other"])).map(frozenset)


class _Rows:
    """What _Remembered reads of a chunk, made of plain dicts."""

    def __init__(self, values: list[dict], tags: list[frozenset]):
        self.values, self.tags = values, tags

    def column(self, name: str) -> list:
        return [v.get(name) for v in self.values]

    def rows(self) -> list[dict]:
        return self.values


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(_row, _tags), max_size=12), repeat=st.booleans())
def test_remembered_points_are_the_rules_own(rows, repeat):
    values, tags = [r for r, _t in rows], [t for _r, t in rows]
    for rule in parse_rules(_RULE_TEXT).rules:
        remembered = _Remembered(rule)
        expected = [rule.points_for(v, t) for v, t in zip(values, tags, strict=True)]
        assert remembered.points(_Rows(values, tags)) == expected, rule.name
        if repeat:  # the second time from the memo
            assert remembered.points(_Rows(values, tags)) == expected, rule.name


def test_a_chunks_columns_are_what_the_rules_would_read_row_by_row(session):
    load_rules(session, _RULE_TEXT, now=NOW)
    scorer = NewContactScorer(session, NOW)
    at = [NOW, datetime(2026, 1, 2, tzinfo=UTC), datetime(2025, 12, 31, 23, 59, tzinfo=UTC)]
    planned = [
        Planned(line, values, frozenset(values), tags, extra, at[line % 3], at[(line + 1) % 3],
                None)
        for line, (values, tags, extra) in enumerate([
            ({"name": "A", "stage": "won", "value_cents": 150_000, "source": "fair",
              "email": "a@example.com"}, ("vip",), {"size": "big"}),
            ({"name": "B", "stage": "interest", "value_cents": 250}, (), None),
            ({"name": "C", "stage": "lost", "lost_reason": "price", "company": "Co"}, (),
             {"size": "", "other": "x"}),
        ])
    ]  # fmt: skip
    chunk = _Chunk(scorer, planned)
    names = ["value", "value_cents", "days_in_stage", "days_since_created", "source",
             "email", "name", "stage", "extra.size", "extra.none", "interactions_30d",
             "unknown"]  # fmt: skip
    for name in names:
        assert chunk.column(name) == [scorer.values(p).get(name) for p in planned], name
