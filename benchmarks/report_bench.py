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
    """The SPEC §10 JSON of the funnel over deals from plain SQL (SQLite)."""
    order = [*stages, "won"]
    rank = "CASE {col} " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(order, 1)) + " END"
    opened = "(" + ", ".join(f"'{s}'" for s in stages) + ")"
    grp = f"coalesce(nullif(d.{by}, ''), '(none)')" if by else "''"
    live = "d.deleted_at IS NULL"
    facts = con.execute(f"""
        WITH hist AS (
            SELECT deal_id, max({rank.format(col="to_stage")}) AS top,
                   max(to_stage = 'lost') AS was_lost, max(to_stage IN {opened}) AS was_open
            FROM stage_change GROUP BY deal_id)
        SELECT {grp} AS g, d.stage,
               max(coalesce(h.top, 0), coalesce({rank.format(col="d.stage")}, 0)) AS top,
               (d.stage = 'lost' OR coalesce(h.was_lost, 0)) AS ever_lost,
               (d.stage IN {opened} OR coalesce(h.was_open, 0)) AS ever_open,
               count(*), coalesce(sum(d.value_cents), 0)
        FROM deal d LEFT JOIN hist h ON h.deal_id = d.id
        WHERE {live}
        GROUP BY 1, 2, 3, 4, 5""").fetchall()
    median = """
        SELECT {keys}, count(*), avg(x),
               avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN x END)
        FROM (SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY x) AS rn,
                        count(*) OVER (PARTITION BY {keys}) AS n FROM ({rows}))
        GROUP BY {keys}"""
    stints = con.execute(median.format(keys="g, stage", rows=f"""
        SELECT g, stage, x FROM (
            SELECT {grp} AS g, sc.to_stage AS stage,
                   julianday(lead(sc.at) OVER (PARTITION BY sc.deal_id ORDER BY sc.at, sc.id))
                   - julianday(sc.at) AS x
            FROM stage_change sc JOIN deal d ON d.id = sc.deal_id
            WHERE {live})
        WHERE x IS NOT NULL""")).fetchall()  # fmt: skip
    cycles = con.execute(median.format(keys="g", rows=f"""
        SELECT {grp} AS g, julianday(min(sc.at)) - julianday(d.created_at) AS x
        FROM deal d JOIN stage_change sc ON sc.deal_id = d.id AND sc.to_stage = 'won'
        WHERE {live} AND d.stage = 'won' GROUP BY d.id""")).fetchall()  # fmt: skip
    reasons = con.execute(f"""
        SELECT {grp} AS g, coalesce(nullif(d.lost_reason, ''), 'unknown'), count(*)
        FROM deal d WHERE {live} AND d.stage = 'lost'
        GROUP BY 1, 2 ORDER BY 3 DESC, 2""").fetchall()
    lost_from = con.execute(f"""
        SELECT {grp} AS g, coalesce(d.lost_at_stage, '(none)'), count(*)
        FROM deal d WHERE {live} AND d.stage = 'lost' GROUP BY 1, 2""").fetchall()
    groups = sorted({row[0] for row in facts}, key=lambda g: (g == "(none)", g.casefold(), g))
    report = {}
    for g in groups:
        report[g] = _assemble(
            stages,
            [row[1:] for row in facts if row[0] == g],
            {row[1]: row[2:] for row in stints if row[0] == g},
            next((row[1:] for row in cycles if row[0] == g), (0, None, None)),
            {reason: n for gg, reason, n in reasons if gg == g},
            {stage: n for gg, stage, n in lost_from if gg == g},
        )
    empty = _assemble(stages, [], {}, (0, None, None), {}, {})
    return {"groups": report} if by else report.get("", empty)


def _assemble(stages, facts, stints, cycle, reasons, lost_from) -> dict:
    from fractions import Fraction

    order = [*stages, "won"]
    now = {s: sum(n for st, _t, _l, _o, n, _v in facts if st == s) for s in [*order, "lost"]}
    value = {s: sum(v for st, _t, _l, _o, n, v in facts if st == s) for s in [*order, "lost"]}
    reach = {s: sum(n for _s, t, _l, _o, n, _v in facts if t >= i) for i, s in enumerate(order, 1)}
    reach["lost"] = sum(n for _s, _t, lost, _o, n, _v in facts if lost)
    rows = []
    for i, s in enumerate([*order, "lost"]):
        nxt = order[i + 1] if i < len(stages) else None
        _n, avg, med = stints.get(s, (0, None, None))
        conv = reach[nxt] / reach[s] if nxt and reach[s] else None
        rows.append({"stage": s, "current": now[s], "value": _major(value[s]), "reached": reach[s],
                     "conversion_to_next": conv, "avg_days_in_stage": avg,
                     "median_days_in_stage": med})  # fmt: skip
    won, lost = now["won"], now["lost"]
    overall = Fraction(won, won + lost) if won + lost else None
    forecast = Fraction(0)
    for i, s in enumerate(stages, 1):
        w = sum(n for st, t, _l, o, n, _v in facts if st == "won" and o and t >= i)
        closed = w + sum(n for st, t, _l, o, n, _v in facts if st == "lost" and o and t >= i)
        p = Fraction(w, closed) if closed >= 10 else overall
        if p is not None:
            forecast += value[s] * p
    place = {s: i for i, s in enumerate(stages)}
    return {
        "stages": rows, "won": won, "lost": lost,
        "win_rate": won / (won + lost) if won + lost else None,
        "avg_cycle_days": cycle[1], "median_cycle_days": cycle[2],
        "lost_reasons": reasons,
        "lost_at_stage": dict(sorted(lost_from.items(), key=lambda kv: (
            place.get(kv[0], len(place)), kv[0] == "(none)", kv[0]))),
        "forecast": _major(round(forecast)),
    }  # fmt: skip


def baseline_sales(con: sqlite3.Connection, by: str | None) -> dict:
    """`crm report sales` JSON (everything, no period) from plain SQL."""
    from fractions import Fraction

    won = "d.deleted_at IS NULL AND d.stage = 'won'"
    count, cents = con.execute(
        f"SELECT count(*), coalesce(sum(d.value_cents), 0) FROM deal d WHERE {won}"
    ).fetchone()
    if by == "product":
        rows = con.execute(f"""
            SELECT coalesce(p.name, l.description), count(DISTINCT d.id), sum(l.total_cents)
            FROM deal d JOIN deal_line l ON l.deal_id = d.id
            LEFT JOIN product p ON p.id = l.product_id
            WHERE {won} GROUP BY 1""").fetchall()
        bare = con.execute(f"""
            SELECT count(*), coalesce(sum(d.value_cents), 0) FROM deal d
            WHERE {won} AND NOT EXISTS (SELECT 1 FROM deal_line l WHERE l.deal_id = d.id)
        """).fetchone()
        if bare[0]:
            rows.append(("(no product)", *bare))
    elif by == "owner":
        rows = con.execute(f"""
            SELECT coalesce(nullif(d.owner, ''), '(none)'), count(*),
                   coalesce(sum(d.value_cents), 0)
            FROM deal d WHERE {won} GROUP BY 1""").fetchall()
    else:
        rows = []

    def figures(n, c):
        return {"won": n, "revenue": _major(c),
                "avg_deal": _major(round(Fraction(c, n))) if n else None}  # fmt: skip

    rows.sort(key=lambda r: (-r[2], r[0].casefold(), r[0]))
    return {**figures(count, cents), "groups": [{"key": k, **figures(n, c)} for k, n, c in rows]}


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
    from minicrm.services.funnel.funnel import funnel_report
    from minicrm.services.funnel.sales import sales_report
    from minicrm.services.records.config import open_stages

    engine = make_engine(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    with session_scope(engine, write=False) as session:
        stages = open_stages(session)
    results, all_same = [], True
    cases = [
        ("funnel_report", by, lambda s, by=by: funnel_report(s, by=by),
         lambda by=by: baseline_funnel(con, stages, by))
        for by in (None, "owner")
    ] + [
        ("sales_report", by, lambda s, by=by: sales_report(s, by=by),
         lambda by=by: baseline_sales(con, by))
        for by in (None, "product", "owner")
    ]  # fmt: skip
    for name, by, service, base in cases:

        def ours(service=service):
            with session_scope(engine, write=False) as session:
                return service(session).to_json()

        agree = same(ours(), base())  # also the warm-up
        all_same &= agree
        mine, theirs = [], []
        for i in range(runs):
            pair = [(ours, mine), (base, theirs)]
            for fn, bucket in pair if i % 2 == 0 else pair[::-1]:
                bucket.append(timed(fn))
        results.append(_row(f"{name}(by={by!r}) in-process", mine, theirs, agree))
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


def build_deals_db(folder: Path, deals: int) -> Path:
    """A database at the current schema with `deals` deals (≈60 % as many
    contacts, so many have several; 5 % with no contact), 2.5 lines per deal
    on average, companies, products and a stage history per deal, written
    with stdlib executemany (bigdb.py has no deals yet)."""
    import random

    from minicrm.db import ensure_schema, make_engine

    path = folder / "deals.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    rnd = random.Random(11)
    stages = ["awareness", "interest", "decision", "action"]
    base = 1_767_225_600  # 2026-01-01 UTC

    def stamp(seconds: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + seconds)) + ".000000"

    people, firms = deals * 6 // 10, max(1, deals // 40)
    owners = ["Ana", "Sam", "Lee", "Mo", "", None]
    products = [(f"Product {n}", f"product{n}", 1_000 + 250 * n) for n in range(20)]
    deal_rows, change_rows, line_rows = [], [], []
    for i in range(1, deals + 1):
        contact = rnd.randint(1, people) if rnd.random() > 0.05 else None
        at = rnd.uniform(0, 700 * 86_400)
        created = at
        if rnd.random() < 0.08:
            path_ = [rnd.choice(["won", "lost"])]  # imported straight into won/lost
        else:
            path_ = [rnd.choice(stages[:2])]
            for _ in range(rnd.randint(0, 5)):
                if path_[-1] in ("won", "lost"):
                    break
                here = stages.index(path_[-1])
                nxt = rnd.choice([*stages[max(0, here - 1) : here + 3], "won", "lost"])
                if nxt != path_[-1]:
                    path_.append(nxt)
        changes, frm = [], None
        for n, stage in enumerate(path_):
            if n:
                at += rnd.uniform(3_600, 40 * 86_400)
            changes.append((i, contact, frm, stage, stamp(at)))
            frm = stage
        stage = path_[-1]
        before = path_[-2] if len(path_) > 1 else None
        lost_at = before if stage == "lost" and before not in (None, "won", "lost") else None
        lines = []
        for _ in range(rnd.choices(range(6), weights=[1, 2, 3, 3, 2, 1])[0]):
            product = rnd.randrange(len(products))
            qty = rnd.randint(1, 5)
            discount = rnd.choice([0.0, 0.0, 5.0, 10.0])
            unit = products[product][2]
            lines.append((i, product + 1, None, float(qty), unit, discount,
                          round(qty * unit * (1 - discount / 100))))  # fmt: skip
        value = sum(line[-1] for line in lines) if lines else rnd.choice([None, 50_000, 120_000])
        deal_rows.append((
            i, f"Deal {i}", contact, rnd.randint(1, firms) if rnd.random() > 0.3 else None,
            stage, stamp(at), value, stamp(at) if stage in ("won", "lost") else None,
            rnd.choice(["no budget", "no need", None]) if stage == "lost" else None, lost_at,
            rnd.choice(owners), rnd.choice(["referral", "web", None]), rnd.randint(-20, 80),
            stamp(created), stamp(at),
        ))  # fmt: skip
        change_rows += changes
        line_rows += lines
    con = sqlite3.connect(path)
    with con:
        now = stamp(0)
        con.executemany(
            "INSERT INTO product (name, name_key, price_cents, active, created_at, updated_at) "
            "VALUES (?, ?, ?, 1, ?, ?)", [(*p, now, now) for p in products],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO company (id, name, name_folded, industry, region, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(n, f"Firm {n}", f"firm {n}", rnd.choice(["retail", "food", None]),
              rnd.choice(["north", "south", None]), now, now) for n in range(1, firms + 1)],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO contact (id, name, name_folded, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(n, f"Person {n}", f"person {n}", now, now) for n in range(1, people + 1)],
        )
        con.executemany(
            "INSERT INTO deal (id, title, contact_id, company_id, stage, stage_entered_at, "
            "value_cents, closed_at, lost_reason, lost_at_stage, owner, source, score, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            deal_rows,
        )
        con.executemany(
            "INSERT INTO stage_change (deal_id, contact_id, from_stage, to_stage, at) "
            "VALUES (?, ?, ?, ?, ?)", change_rows,
        )  # fmt: skip
        con.executemany(
            "INSERT INTO deal_line (deal_id, product_id, description, quantity, "
            "unit_price_cents, discount, total_cents) VALUES (?, ?, ?, ?, ?, ?, ?)", line_rows,
        )  # fmt: skip
    con.execute("ANALYZE")
    con.close()
    print(f"built {deals:,} deals, {len(line_rows):,} lines, {len(change_rows):,} stage "
          f"changes, {people:,} contacts", file=sys.stderr)  # fmt: skip
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=None, help="a big database to copy")
    parser.add_argument("--deals", type=int, default=100_000, help="deals to generate")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-subprocess", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] if len(args.child) > 1 else None)
        return 0
    if args.db is not None:
        if not args.db.exists():
            print(f"no database at {args.db}", file=sys.stderr)
            return 1
        print(f"copying {args.db} …", file=sys.stderr)
        path = prepare_copy(args.db)
    else:
        path = build_deals_db(Path(tempfile.mkdtemp(prefix="report-bench-")), args.deals)
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
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(rows, indent=2))
    ok = all_same and all(r["ratio"] <= TARGET for r in rows if r["same"] is not None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
