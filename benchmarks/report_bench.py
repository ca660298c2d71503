"""P3: `crm report funnel` (and `--by owner`) against hand-written SQL.

    .venv/bin/python benchmarks/report_bench.py [--runs 7] [--db benchmarks/.cache/big-100000.db]

Works on a COPY of the big database (the cached original is never opened for
writing; the copy is upgraded to the current schema before any timing, and
deleted at the end). In one process it times, median of --runs after a
warm-up, alternating which side goes first:

- ours: `funnel_report(session)` through the service layer (SQLAlchemy);
- baseline: the same figures from hand-written SQL over stdlib sqlite3,
  written separately from the service (a different query shape for the
  per-contact facts), and checked to give exactly the same report.

The ratio ours/baseline is judged against the P3 target (≤ 2×). Then, for
reference, `crm report funnel` runs as a subprocess beside a child that
imports sqlmodel and runs the baseline SQL (wall time and peak RSS).
Exit status 1 if the figures differ or the target is missed.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(HERE)]
TARGET = 2.0
LAUNCHER = (  # `crm` with `report` joined, for as long as commands/__init__.py lacks it
    "import sys; from minicrm.commands import app; from minicrm.commands import reports; "
    "app.add_typer(reports.app, name='report'); sys.argv[0] = 'crm'; app()"
)


# ------------------------------------------------------- hand-written baseline


def baseline_funnel(con: sqlite3.Connection, stages: list[str], by: str | None) -> dict:
    """The SPEC §10 JSON of the funnel from plain SQL (SQLite dialect)."""
    order = [*stages, "won"]
    rank = "CASE {col} " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(order, 1)) + " END"
    grp = f"coalesce(nullif(c.{by}, ''), '(none)')" if by else "''"
    facts = con.execute(f"""
        WITH hist AS (
            SELECT contact_id, max({rank.format(col="to_stage")}) AS top,
                   max(to_stage = 'lost') AS was_lost
            FROM stage_change GROUP BY contact_id)
        SELECT {grp} AS g, c.stage,
               max(coalesce(h.top, 0), coalesce({rank.format(col="c.stage")}, 0)) AS top,
               (c.stage = 'lost' OR coalesce(h.was_lost, 0)) AS ever_lost,
               count(*), coalesce(sum(c.value_cents), 0)
        FROM contact c LEFT JOIN hist h ON h.contact_id = c.id
        WHERE c.deleted_at IS NULL
        GROUP BY 1, 2, 3, 4""").fetchall()
    median = """
        SELECT {keys}, count(*), avg(d),
               avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN d END)
        FROM (SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY d) AS rn,
                        count(*) OVER (PARTITION BY {keys}) AS n FROM ({rows}))
        GROUP BY {keys}"""
    stints = con.execute(median.format(keys="g, stage", rows=f"""
        SELECT g, stage, d FROM (
            SELECT {grp} AS g, sc.to_stage AS stage,
                   julianday(lead(sc.at) OVER (PARTITION BY sc.contact_id ORDER BY sc.at, sc.id))
                   - julianday(sc.at) AS d
            FROM stage_change sc JOIN contact c ON c.id = sc.contact_id
            WHERE c.deleted_at IS NULL)
        WHERE d IS NOT NULL""")).fetchall()  # fmt: skip
    cycles = con.execute(median.format(keys="g", rows=f"""
        SELECT {grp} AS g, julianday(min(sc.at)) - julianday(c.created_at) AS d
        FROM contact c JOIN stage_change sc ON sc.contact_id = c.id AND sc.to_stage = 'won'
        WHERE c.deleted_at IS NULL AND c.stage = 'won' GROUP BY c.id""")).fetchall()  # fmt: skip
    reasons = con.execute(f"""
        SELECT {grp} AS g, coalesce(nullif(c.lost_reason, ''), 'unknown'), count(*)
        FROM contact c WHERE c.deleted_at IS NULL AND c.stage = 'lost'
        GROUP BY 1, 2 ORDER BY 3 DESC, 2""").fetchall()
    groups = sorted({row[0] for row in facts}, key=lambda g: (g == "(none)", g.casefold(), g))
    report = {}
    for g in groups:
        mine = [row[1:] for row in facts if row[0] == g]
        report[g] = _assemble(
            stages,
            mine,
            {row[1]: row[2:] for row in stints if row[0] == g},
            next((row[1:] for row in cycles if row[0] == g), (0, None, None)),
            {reason: n for gg, reason, n in reasons if gg == g},
        )
    return (
        {"groups": report} if by else report.get("", _assemble(stages, [], {}, (0, None, None), {}))
    )


def _assemble(stages, facts, stints, cycle, reasons) -> dict:
    from fractions import Fraction

    order = [*stages, "won"]
    now = {s: sum(n for st, _t, _l, n, _v in facts if st == s) for s in [*order, "lost"]}
    value = {s: sum(v for st, _t, _l, n, v in facts if st == s) for s in [*order, "lost"]}
    reach = {s: sum(n for _s, t, _l, n, _v in facts if t >= i) for i, s in enumerate(order, 1)}
    reach["lost"] = sum(n for _s, _t, lost, n, _v in facts if lost)
    rows = []
    for i, s in enumerate([*order, "lost"]):
        nxt = order[i + 1] if i < len(stages) else None
        _n, avg, med = stints.get(s, (0, None, None))
        conv = reach[nxt] / reach[s] if nxt and reach[s] else None
        rows.append({"stage": s, "current": now[s], "value": _major(value[s]), "reached": reach[s],
                     "conversion_to_next": conv, "avg_days_in_stage": avg,
                     "median_days_in_stage": med})  # fmt: skip
    forecast = Fraction(0)
    for i, s in enumerate(stages, 1):
        won = sum(n for st, t, _l, n, _v in facts if st == "won" and t >= i)
        closed = won + sum(n for st, t, _l, n, _v in facts if st == "lost" and t >= i)
        if closed:
            forecast += Fraction(value[s] * won, closed)
    won, lost = now["won"], now["lost"]
    return {
        "stages": rows, "won": won, "lost": lost,
        "win_rate": won / (won + lost) if won + lost else None,
        "avg_cycle_days": cycle[1], "median_cycle_days": cycle[2],
        "lost_reasons": reasons, "forecast": _major(round(forecast)),
    }  # fmt: skip


def _major(cents: int):
    return cents // 100 if cents % 100 == 0 else cents / 100


def same(a, b) -> bool:
    """Equal figures; day figures may differ in the last bits of a float."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b


# ---------------------------------------------------------------- measuring


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def in_process(path: Path, runs: int) -> tuple[list[dict], bool]:
    from minicrm.db import make_engine, session_scope
    from minicrm.services.config import open_stages
    from minicrm.services.funnel import funnel_report

    engine = make_engine(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    with session_scope(engine, write=False) as session:
        stages = open_stages(session)
    results, all_same = [], True
    for by in (None, "owner"):

        def ours(by=by):
            with session_scope(engine, write=False) as session:
                return funnel_report(session, by=by).to_json()

        def base(by=by):
            return baseline_funnel(con, stages, by)

        agree = same(ours(), base())  # also the warm-up
        all_same &= agree
        mine, theirs = [], []
        for i in range(runs):
            pair = [(ours, mine), (base, theirs)]
            for fn, bucket in pair if i % 2 == 0 else pair[::-1]:
                bucket.append(timed(fn))
        results.append(_row(f"funnel_report(by={by!r}) in-process", mine, theirs, agree))
    con.close()
    engine.dispose()
    return results, all_same


def subprocesses(path: Path, runs: int) -> list[dict]:
    from measure import paired_runs

    from minicrm.commands import app

    registered = any(group.name == "report" for group in app.registered_groups)
    crm = [sys.executable, "-m", "minicrm"] if registered else [sys.executable, "-c", LAUNCHER]
    home = Path(tempfile.mkdtemp(prefix="report-bench-home-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), TZ="UTC", COLUMNS="100")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(HERE)])
    rows = []
    try:
        for by in ([], ["--by", "owner"]):
            ours = [*crm, "--db", str(path), "report", "funnel", "--format", "json", *by]
            base = [sys.executable, __file__, "--child", str(path), *by[1:]]
            got_ours, got_base = paired_runs(ours, base, env, runs, min_lines=10)
            label = "crm report funnel " + " ".join(by)
            mine, theirs = [s.seconds for s in got_ours], [s.seconds for s in got_base]
            row = _row(label.strip() + " (subprocess)", mine, theirs, None)
            row["rss_mb"] = max(s.rss_mb for s in got_ours)
            row["base_rss_mb"] = max(s.rss_mb for s in got_base)
            rows.append(row)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return rows


def _row(label, mine, theirs, agree) -> dict:
    ours, base = statistics.median(mine), statistics.median(theirs)
    return {"what": label, "ours_s": ours, "base_s": base, "ratio": ours / base, "same": agree,
            "ours_runs": mine, "base_runs": theirs}  # fmt: skip


def child(path: str, by: str | None) -> None:
    """The subprocess baseline: python + `import sqlmodel` + the hand-written SQL."""
    import sqlmodel  # noqa: F401 - the floor pays for the same imports as crm does

    con = sqlite3.connect(path)
    stages = [s for s in (con.execute(
        "SELECT value FROM setting WHERE key = 'stages'").fetchone() or
        ["awareness,interest,decision,action"])[0].split(",") if s]  # fmt: skip
    json.dump(baseline_funnel(con, stages, by), sys.stdout, indent=2)


def prepare_copy(source: Path) -> Path:
    """A private copy at the current schema; upgrade backups are removed."""
    from minicrm.db import ensure_schema, make_engine

    folder = Path(tempfile.mkdtemp(prefix="report-bench-"))
    path = folder / "big.db"
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(path) as dst:
        src.backup(dst)  # a consistent snapshot even if the original is in WAL mode
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    for extra in folder.glob("big.db.before-*"):
        extra.unlink()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=HERE / ".cache" / "big-100000.db")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-subprocess", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] if len(args.child) > 1 else None)
        return 0
    if not args.db.exists():
        print(f"no database at {args.db}; build it with benchmarks/run.py first", file=sys.stderr)
        return 1
    print(f"copying {args.db} …", file=sys.stderr)
    path = prepare_copy(args.db)
    try:
        rows, all_same = in_process(path, args.runs)
        if not args.no_subprocess:
            rows += subprocesses(path, args.runs)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    print(f"{'what':<44} {'ours':>8} {'baseline':>9} {'ratio':>6}  verdict")
    for row in rows:
        judged = row["same"] is not None
        verdict = ("PASS" if row["ratio"] <= TARGET else "MISS") if judged else "(reference)"
        if judged and not row["same"]:
            verdict = "FIGURES DIFFER"
        rss = (
            f"  peak RSS {row['rss_mb']:.0f} MB / {row['base_rss_mb']:.0f} MB"
            if "rss_mb" in row
            else ""
        )
        print(f"{row['what']:<44} {row['ours_s']:>7.3f}s {row['base_s']:>8.3f}s "
              f"{row['ratio']:>5.2f}×  {verdict}{rss}")  # fmt: skip
    print(f"P3 target: ours ≤ {TARGET}× the hand-written SQL, in-process, median of {args.runs}; "
          f"figures {'identical' if all_same else 'DIFFER'}")  # fmt: skip
    results = HERE / ".cache" / "report_bench.json"
    results.write_text(json.dumps(rows, indent=2))
    ok = all_same and all(r["ratio"] <= TARGET for r in rows if r["same"] is not None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
