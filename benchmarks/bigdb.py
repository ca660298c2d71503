"""The big database's side of the benchmarks: realistic REFs and queries
picked from the data, the raw executemany baseline, and file clean-up."""

import re
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from measure import BenchError


def sqlite_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def remove_db(path: Path) -> None:
    for file in sqlite_files(path):
        file.unlink(missing_ok=True)


def raw_executemany_baseline(folder: Path, counts: dict[str, int]) -> float:
    """QUALITY.md's raw baseline at the demo's row counts: plain tables, no
    indexes or FTS, stdlib sqlite3.executemany, one transaction."""
    path = Path(tempfile.mkdtemp(prefix="raw-", dir=folder)) / "raw.db"
    stamp = "2026-01-01 10:00:00.000000"
    tables = {
        "contact": (
            "(id INTEGER PRIMARY KEY, name TEXT, name_folded TEXT, email TEXT, "
            "phone TEXT, company TEXT, city TEXT, country TEXT, stage TEXT, "
            "value_cents INTEGER, owner TEXT, search_text TEXT, created_at TEXT, "
            "updated_at TEXT)",
            lambda i: (
                i,
                f"Name {i}",
                f"name {i}",
                f"n{i}@example.com",
                f"+1212{i:07d}",
                "Acme",
                "Austin",
                "US",
                "interest",
                120000,
                "Sam",
                f"name {i} n{i}@example.com acme",
                stamp,
                stamp,
            ),
        ),
        "interaction": (
            "(id INTEGER PRIMARY KEY, contact_id INTEGER, kind TEXT, at TEXT, "
            "summary TEXT, search_text TEXT, amount_cents INTEGER, owner TEXT, "
            "created_at TEXT)",
            lambda i: (
                i,
                i // 10 + 1,
                "call",
                stamp,
                "Called about floor tiles",
                "called about floor tiles",
                None,
                "Sam",
                stamp,
            ),
        ),
        "followup": (
            "(id INTEGER PRIMARY KEY, contact_id INTEGER, due_at TEXT, note TEXT, "
            "done_at TEXT, recurrence TEXT, snoozed INTEGER, owner TEXT, "
            "created_at TEXT, updated_at TEXT, version INTEGER)",
            lambda i: (i, i // 2 + 1, stamp, "Send samples", None, None, 0, "Sam", stamp, stamp, 1),
        ),
        "stage_change": (
            "(id INTEGER PRIMARY KEY, contact_id INTEGER, from_stage TEXT, "
            "to_stage TEXT, at TEXT, reason TEXT)",
            lambda i: (i, i // 4 + 1, "awareness", "interest", stamp, None),
        ),
        "contact_tag": (
            "(contact_id INTEGER, tag_id INTEGER, PRIMARY KEY (contact_id, tag_id))",
            lambda i: (i, 1),
        ),
        "company": (
            "(id INTEGER PRIMARY KEY, name TEXT, name_folded TEXT, domain TEXT, industry TEXT, "
            "city TEXT, region TEXT, country TEXT, owner TEXT, created_at TEXT, "
            "updated_at TEXT, version INTEGER)",
            lambda i: (
                i,
                f"Acme {i}",
                f"acme {i}",
                f"acme{i}.example",
                "retail",
                "Austin",
                "Texas",
                "US",
                "Sam",
                stamp,
                stamp,
                1,
            ),  # fmt: skip
        ),
        "deal": (
            "(id INTEGER PRIMARY KEY, title TEXT, contact_id INTEGER, company_id INTEGER, "
            "stage TEXT, stage_entered_at TEXT, value_cents INTEGER, expected_close TEXT, "
            "closed_at TEXT, lost_reason TEXT, lost_at_stage TEXT, owner TEXT, source TEXT, "
            "score INTEGER, created_at TEXT, updated_at TEXT, version INTEGER)",
            lambda i: (
                i,
                f"Name {i}",
                i * 3 // 5 + 1,
                i // 4 + 1,
                "interest",
                stamp,
                120000,
                "2026-02-01",
                None,
                None,
                None,
                "Sam",
                "referral",
                0,
                stamp,
                stamp,
                1,
            ),
        ),  # fmt: skip
        "deal_line": (
            "(id INTEGER PRIMARY KEY, deal_id INTEGER, product_id INTEGER, description TEXT, "
            "quantity REAL, unit_price_cents INTEGER, discount REAL, total_cents INTEGER)",
            lambda i: (i, i * 5 // 8 + 1, i % 12 + 1, None, 2.0, 18900, 0.0, 37800),
        ),
    }
    try:
        con = sqlite3.connect(path, isolation_level=None)
        for name, (columns, _) in tables.items():
            con.execute(f"CREATE TABLE {name} {columns}")
        start = time.perf_counter()
        con.execute("BEGIN")
        for name, (_, make) in tables.items():
            width = make(1).__len__()
            marks = ", ".join("?" * width)
            rows = (make(i) for i in range(1, counts.get(name, 0) + 1))
            con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        con.execute("COMMIT")
        seconds = time.perf_counter() - start
        con.close()
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return seconds


def pick_refs(db: Path) -> dict:
    from minicrm.text import fold  # stdlib-only module: the app's own folding

    con = sqlite3.connect(db)
    try:
        heavy = con.execute(
            "SELECT i.contact_id FROM interaction i GROUP BY i.contact_id "
            "HAVING i.contact_id IN (SELECT id FROM contact WHERE deleted_at IS NULL) "
            "ORDER BY count(*) DESC, i.contact_id LIMIT 1"
        ).fetchone()
        if heavy is None:
            raise BenchError("the big database has no interactions")
        names = [
            r[0] for r in con.execute("SELECT name_folded FROM contact WHERE deleted_at IS NULL")
        ]
        surnames = Counter(
            n.split()[-1]
            for n in names
            if len(n.split()) > 1
            and n.split()[-1].isascii()
            and n.split()[-1].isalpha()
            and len(n.split()[-1]) >= 4
        )
        persian = Counter(
            w for n in names for w in n.split() if len(w) >= 3 and re.search("[\u0600-\u06ff]", w)
        )
        if not surnames or not persian:
            raise BenchError("no Latin surname or Persian word found in the demo names")
        fragment = unique_fragment(con, fold)
        deal = con.execute(  # P8: the deal with the most lines, and a company with most deals
            "SELECT deal_id FROM deal_line GROUP BY deal_id ORDER BY count(*) DESC, deal_id LIMIT 1"
        ).fetchone()
        company = con.execute(
            "SELECT k.name FROM deal d JOIN company k ON k.id = d.company_id "
            "WHERE d.deleted_at IS NULL GROUP BY k.id ORDER BY count(*) DESC, k.id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return {
        "heavy_deal_id": deal[0] if deal else None,
        "busy_company": company[0] if company else None,
        "heavy_contact_id": heavy[0],
        "unique_name_fragment": fragment,
        "surname_prefix": surnames.most_common(1)[0][0][:3],
        "persian_word": persian.most_common(1)[0][0],
    }


def unique_fragment(con: sqlite3.Connection, fold: Callable[[str], str]) -> str:
    """A part of one contact's name, no whole name, matching exactly that contact
    (the REF path that falls through to the LIKE scan)."""
    candidates = con.execute(
        "SELECT name_folded FROM contact WHERE deleted_at IS NULL GROUP BY name_folded "
        "HAVING count(*) = 1 AND length(name_folded) >= 12 ORDER BY name_folded LIMIT 300"
    ).fetchall()
    for (name,) in candidates:
        fragment = name[:-1].strip()
        if fold(fragment) != fragment or fragment.isdigit() or "@" in fragment:
            continue
        escaped = fragment.replace("/", "//").replace("%", "/%").replace("_", "/_")
        exact = con.execute(
            "SELECT count(*) FROM contact WHERE name_folded = ? AND deleted_at IS NULL",
            (fragment,),
        ).fetchone()[0]
        like = con.execute(
            "SELECT count(*) FROM contact WHERE name_folded LIKE '%' || ? || '%' ESCAPE '/' "
            "AND deleted_at IS NULL",
            (escaped,),
        ).fetchone()[0]
        if exact == 0 and like == 1:
            return fragment
    raise BenchError("no name fragment matches exactly one contact")
