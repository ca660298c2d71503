"""minicrm benchmarks: QUALITY.md targets P1, P2, P5 and P7, each beside a
baseline measured in the same run (this machine is shared and noisy, so
speed is judged as a ratio, median over several runs).

    .venv/bin/python benchmarks/run.py [--contacts N] [--runs K] [--only P1,P2,P5,P7]
                                       [--rebuild]

  --contacts N  size of the big database (default 100000: ~1M interactions,
                ~200k follow-ups, ~400k stage changes)
  --runs K      timed runs per command for P1/P2, after one warm-up (default 10)
  --only LIST   which targets to run (default all: P1,P2,P5,P7)
  --rebuild     regenerate the cached big database

What is measured (every command a subprocess of the venv's `crm`, wall time
from spawn to exit, peak RSS of that one child from os.wait4):

  P1  `crm --help` vs a bare Typer app with the same command tree, generated
      from the real tree by bare_app.py (its help text must be identical),
      and which of textual, sqlmodel, alembic, vobject, icalendar the
      `crm --help` import path loads (none allowed).       target ≤ 1.3×
  P2  `crm list --limit 50`, `crm show ID` (the contact with most
      interactions), `crm show FRAGMENT` (a name fragment matching one
      contact), `crm search PREFIX` (a common surname's first letters),
      `crm search WORD` (a common Persian word), `crm followup list --today`
      (shown as not yet implemented until the command exists) vs floor.py:
      `import sqlmodel` plus the same SQL through sqlite3.  target ≤ 1.5×
  P5  `crm demo --contacts N` into a fresh file; beside it, for context only,
      raw sqlite3.executemany of the same row counts.       target ≤ 30 s
  P7  peak RSS of each P2 command, `crm list --json` and `crm list --csv`
      over all contacts (stdout drained and counted, not kept), and
      `crm demo`; the floor's RSS beside it for context.    target ≤ 200 MB

The big database is built once by `crm demo` and cached at
benchmarks/.cache/big-N.db (that build is the P5 measurement); with a cache,
P5 runs `crm demo` again on a fresh file. Children get CRM_DB/--db pointing
at benchmark files and HOME/XDG_* at a temp dir, so real data is never
touched, and bytecode is cached under .cache/pycache for both sides
(PYTHONPYCACHEPREFIX) as an installed app's would be. A command that
exits non-zero or prints less than expected is an ERROR, never a time.
The table goes to stdout, progress to stderr, and everything (each run's
figures too) to benchmarks/.cache/results.json.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bigdb import pick_refs, raw_executemany_baseline, remove_db
from measure import (  # benchmarks/measure.py: sys.path[0] is this folder
    MB,
    BenchError,
    Row,
    Sample,
    check,
    log,
    median_seconds,
    paired_runs,
    print_table,
    run_child,
)

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PYTHON = Path(sys.executable)  # run as .venv/bin/python: its crm sits beside it
CRM = PYTHON.parent / "crm"
TARGETS = ("P1", "P2", "P5", "P7")
FORBIDDEN_ON_HELP = ("textual", "sqlmodel", "alembic", "vobject", "icalendar")
HEAVY_ON_HELP = (
    "sqlalchemy",
    "pydantic",
    "rich",
    "platformdirs",
    "dateutil",
    "phonenumbers",
    "rapidfuzz",
    "email_validator",
    "minicrm.db",
    "minicrm.services",
)
P1_RATIO, P2_RATIO, P5_SECONDS, P7_MB = 1.3, 1.5, 30.0, 200.0
# The `crm --help` import path, checked in a fresh interpreter.
HELP_IMPORT_CHECK = f"""
import contextlib, io, json, sys
sys.argv = ["crm", "--help"]
from minicrm.commands import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
def loaded(names):
    return sorted(m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names))
print(json.dumps({{"forbidden": loaded({FORBIDDEN_ON_HELP!r}),
                  "heavy": loaded({HEAVY_ON_HELP!r})}}))
"""


# ---------------------------------------------------------------------- P1


def bench_p1(ctx: "Context") -> list[Row]:
    bare_dir = Path(tempfile.mkdtemp(prefix="bare-", dir=ctx.tmp))
    bare = bare_dir / "crm"  # named crm so its help text reads like the real one
    made = subprocess.run(
        [str(PYTHON), str(HERE / "bare_app.py"), str(bare)],
        capture_output=True,
        text=True,
        env=ctx.env(),
    )
    if made.returncode != 0:
        raise BenchError(f"bare_app.py failed: {made.stderr.strip().splitlines()[-1:]}")
    ctx.command_paths = set(json.loads(made.stdout))
    shutil.copy(bare, CACHE / "bare_app_generated.py")  # to read; the run uses `bare`
    env = ctx.env()
    ours_help = check(run_child([str(CRM), "--help"], env), "crm --help", min_lines=5)
    bare_help = check(run_child([str(PYTHON), str(bare), "--help"], env), "bare --help")
    same_help = ours_help.stdout == bare_help.stdout
    log(f"P1: bare app with {len(ctx.command_paths)} commands; help identical: {same_help}")
    ours, base = paired_runs(
        [str(CRM), "--help"], [str(PYTHON), str(bare), "--help"], env, ctx.runs, min_lines=5
    )
    rows = [
        Row(
            "P1",
            "crm --help (vs bare Typer app, same tree)",
            "s",
            median_seconds(ours),
            median_seconds(base),
            P1_RATIO,
            note="" if same_help else "help text differs from the bare app's",
            details={
                "help_identical": same_help,
                "ours": [s.seconds for s in ours],
                "baseline": [s.seconds for s in base],
            },
        ),
    ]
    probe = check(
        run_child([str(PYTHON), "-c", HELP_IMPORT_CHECK], env), "import check", min_lines=1
    )
    loaded = json.loads(probe.stdout.decode().strip().splitlines()[-1])
    forbidden = sorted({m.split(".")[0] for m in loaded["forbidden"]})
    heavy = sorted({m.split(".")[0] if "minicrm" not in m else m for m in loaded["heavy"]})
    rows.append(
        Row(
            "P1",
            "crm --help imports " + "/".join(FORBIDDEN_ON_HELP),
            "",
            kind="info",
            verdict="PASS" if not forbidden else "MISS",
            note=", ".join(forbidden) if forbidden else "none",
            details={"forbidden": loaded["forbidden"], "also_loaded": heavy},
        )
    )
    log(f"P1: forbidden on --help: {forbidden or 'none'}; also loaded: {heavy}")
    return rows


# ---------------------------------------------------------------------- P5


def run_demo(ctx: "Context", path: Path) -> Sample:
    remove_db(path)
    argv = [str(CRM), "--db", str(path), "demo", "--contacts", str(ctx.contacts)]
    log(f"P5: {' '.join(argv[1:])}")
    sample = check(run_child(argv, ctx.env(path), timeout=3600), "crm demo")
    log(f"P5: {sample.seconds:.1f} s, peak RSS {sample.rss_mb:.0f} MB; {sample.stderr.strip()}")
    return sample


def ensure_big_db(ctx: "Context") -> None:
    """The cached big database; building it is a P5 measurement."""
    if ctx.big_db.exists() and not ctx.rebuild:
        log(f"using cached {ctx.big_db} ({ctx.big_db.stat().st_size / MB:.0f} MB)")
        return
    building = ctx.big_db.with_name(ctx.big_db.stem + ".building.db")
    ctx.demo_sample = run_demo(ctx, building)
    with sqlite3.connect(building) as con:  # fold the WAL in so one file is the database
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    remove_db(ctx.big_db)
    building.rename(ctx.big_db)
    remove_db(building)


def bench_p5(ctx: "Context") -> list[Row]:
    sample = ctx.demo_sample
    fresh = None
    if sample is None:
        fresh = CACHE / "p5-fresh.db"
        try:
            sample = ctx.demo_sample = run_demo(ctx, fresh)
        finally:
            remove_db(fresh)
    counts = ctx.db_counts()
    total = sum(counts.values())
    log(f"P5: raw executemany of the same {total:,} rows")
    raw = raw_executemany_baseline(CACHE, counts)
    log(f"P5: raw executemany {raw:.2f} s ({total / raw:,.0f} rows/s)")
    return [
        Row(
            "P5",
            f"crm demo --contacts {ctx.contacts} ({total:,} rows)",
            "s",
            sample.seconds,
            raw,
            P5_SECONDS,
            kind="abs",
            note="baseline: raw sqlite3.executemany, same row counts (context only)",
            details={
                "counts": counts,
                "rows_per_second": total / sample.seconds,
                "raw_rows_per_second": total / raw,
                "measured_on": "cache build" if fresh is None else "fresh file",
                "stderr": sample.stderr.strip(),
            },
        ),
    ]


# ---------------------------------------------------------------- P2 / P7


@dataclass(frozen=True)
class Case:
    """One read command of P2/P7 and its floor; adding a command is one Case."""

    label: str
    command: str  # its path in the command tree; absent → "not yet implemented"
    crm_args: tuple[str, ...]
    floor_args: tuple[str, ...]
    min_lines: int  # the least a correct answer prints (catches silent failures)


def p2_cases(ctx: "Context") -> list[Case]:
    refs = ctx.refs()
    heavy, fragment = refs["heavy_contact_id"], refs["unique_name_fragment"]
    prefix, persian = refs["surname_prefix"], refs["persian_word"]
    return [
        Case("crm list --limit 50", "list", ("list", "--limit", "50"), ("list", "50"), 51),
        Case(
            "crm followup list --today",
            "followup list",
            ("followup", "list", "--today"),
            ("followups-today",),
            1,
        ),
        Case(
            f"crm show {heavy}  (most interactions)",
            "show",
            ("show", str(heavy)),
            ("show", str(heavy)),
            8,
        ),
        Case(
            f"crm show '{fragment}'  (unique name fragment)",
            "show",
            ("show", fragment),
            ("show", fragment),
            5,
        ),
        Case(
            f"crm search {prefix}  (surname prefix)",
            "search",
            ("search", prefix),
            ("search", prefix),
            2,
        ),
        Case(
            f"crm search {persian}  (Persian word)",
            "search",
            ("search", persian),
            ("search", persian),
            2,
        ),
    ]


def export_cases(ctx: "Context") -> list[Case]:
    ctx.db_counts()
    live = ctx.live_contacts
    return [
        Case(
            "crm list --json  (all contacts)", "list", ("list", "--json"), ("list-json",), live + 2
        ),
        Case("crm list --csv  (all contacts)", "list", ("list", "--csv"), ("list-csv",), live + 1),
    ]


def argv_pair(ctx: "Context", case: Case) -> tuple[list[str], list[str]]:
    ours = [str(CRM), "--db", str(ctx.big_db), *case.crm_args]
    floor = [str(PYTHON), str(HERE / "floor.py"), str(ctx.big_db), *case.floor_args]
    return ours, floor


def implemented(ctx: "Context", case: Case) -> bool:
    if ctx.command_paths is None:
        probe = run_child([str(CRM), *case.command.split(), "--help"], ctx.env())
        return probe.returncode == 0
    return case.command in ctx.command_paths


def bench_read_commands(ctx: "Context", want_p2: bool, want_p7: bool) -> list[Row]:
    p2_rows, p7_rows = [], []
    runs = ctx.runs if want_p2 else 1
    for case in p2_cases(ctx):
        if not implemented(ctx, case):
            log(f"P2: {case.label}: not yet implemented")
            for target, rows in (("P2", p2_rows), ("P7", p7_rows)):
                rows.append(placeholder(target, case.label, "TODO", "not yet implemented"))
            continue
        log(f"P2: {case.label}: {runs} runs each, interleaved with its floor")
        ours_argv, floor_argv = argv_pair(ctx, case)
        try:
            ours, base = paired_runs(ours_argv, floor_argv, ctx.env(), runs, case.min_lines)
        except BenchError as exc:
            log(f"P2: ERROR {exc}")
            for target, rows in (("P2", p2_rows), ("P7", p7_rows)):
                rows.append(placeholder(target, case.label, "ERROR", str(exc)))
            continue
        log(
            f"P2:   ours {median_seconds(ours):.3f} s, floor {median_seconds(base):.3f} s, "
            f"RSS {max(s.rss_mb for s in ours):.0f} MB"
        )
        p2_rows.append(
            Row(
                "P2",
                case.label,
                "s",
                median_seconds(ours),
                median_seconds(base),
                P2_RATIO,
                details={
                    "ours": [s.seconds for s in ours],
                    "baseline": [s.seconds for s in base],
                    "argv": ours_argv[1:],
                    "floor": floor_argv[1:],
                    "stdout_lines": ours[-1].out_lines,
                },
            )
        )
        p7_rows.append(rss_row(case.label, ours, base))
    if want_p7:
        for case in export_cases(ctx):
            log(f"P7: {case.label}")
            ours_argv, floor_argv = argv_pair(ctx, case)
            try:
                ours = [
                    check(run_child(ours_argv, ctx.env()), case.label, min_lines=case.min_lines)
                ]
                base = [
                    check(
                        run_child(floor_argv, ctx.env()),
                        "floor " + case.label,
                        min_lines=case.min_lines,
                    )
                ]
            except BenchError as exc:
                log(f"P7: ERROR {exc}")
                p7_rows.append(placeholder("P7", case.label, "ERROR", str(exc)))
                continue
            log(
                f"P7:   ours {ours[0].rss_mb:.0f} MB in {ours[0].seconds:.1f} s "
                f"({ours[0].out_bytes / MB:.0f} MB out); floor {base[0].rss_mb:.0f} MB "
                f"in {base[0].seconds:.1f} s"
            )
            p7_rows.append(rss_row(case.label, ours, base))
    return (p2_rows if want_p2 else []) + (p7_rows if want_p7 else [])


def placeholder(target: str, label: str, verdict: str, note: str) -> Row:
    """A row without a measurement (not implemented yet, or failed), with its target."""
    if target == "P2":
        return Row(
            target,
            label,
            "s",
            limit=P2_RATIO,
            verdict=verdict,
            note=note[:60],
            details={"error": note},
        )
    return Row(
        target,
        label,
        "MB",
        limit=P7_MB,
        kind="abs",
        verdict=verdict,
        note=note[:60],
        details={"error": note},
    )


def rss_row(label: str, ours: list[Sample], base: list[Sample]) -> Row:
    return Row(
        "P7",
        label,
        "MB",
        max(s.rss_mb for s in ours),
        max(s.rss_mb for s in base),
        P7_MB,
        kind="abs",
        details={
            "seconds": median_seconds(ours),
            "floor_seconds": median_seconds(base),
            "stdout_bytes": ours[-1].out_bytes,
            "stdout_lines": ours[-1].out_lines,
        },
    )


def demo_rss_row(ctx: "Context") -> Row:
    if ctx.demo_sample is None:
        fresh = CACHE / "p5-fresh.db"
        try:
            ctx.demo_sample = run_demo(ctx, fresh)
        finally:
            remove_db(fresh)
    return Row(
        "P7",
        f"crm demo --contacts {ctx.contacts}",
        "MB",
        ctx.demo_sample.rss_mb,
        None,
        P7_MB,
        kind="abs",
    )


# ----------------------------------------------------------------- context


@dataclass
class Context:
    contacts: int
    runs: int
    rebuild: bool
    tmp: Path
    big_db: Path
    command_paths: set[str] | None = None
    demo_sample: Sample | None = None
    live_contacts: int = 0
    _counts: dict[str, int] | None = None
    _refs: dict | None = None

    def env(self, db: Path | None = None) -> dict[str, str]:
        """The user's environment, minus CRM_*, with every data dir in a temp dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        # Bytecode cached like an installed app's (this sandbox sets
        # PYTHONDONTWRITEBYTECODE, which would recompile minicrm on every run),
        # kept under .cache so src/ gets no __pycache__.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
        home = self.tmp / "home"
        env.update(
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_STATE_HOME=str(home / ".local/state"),
            CRM_DB=str(db or self.big_db),
            NO_COLOR="1",
            COLUMNS="100",
        )
        return env

    def db_counts(self) -> dict[str, int]:
        if self._counts is None:
            with sqlite3.connect(self.big_db) as con:
                one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
                self._counts = {
                    "contact": one("SELECT count(*) FROM contact"),
                    "interaction": one("SELECT count(*) FROM interaction"),
                    "followup": one("SELECT count(*) FROM followup"),
                    "stage_change": one("SELECT count(*) FROM stage_change"),
                    "contact_tag": one("SELECT count(*) FROM contact_tag"),
                    "company": one("SELECT count(*) FROM company"),
                    "deal": one("SELECT count(*) FROM deal"),
                    "deal_line": one("SELECT count(*) FROM deal_line"),
                }
                self.live_contacts = one("SELECT count(*) FROM contact WHERE deleted_at IS NULL")
            con.close()
        return dict(self._counts)

    def refs(self) -> dict:
        """Realistic arguments for show and search, picked from the data."""
        if self._refs is None:
            self._refs = pick_refs(self.big_db)
            log(f"refs: {self._refs}")
        return self._refs


# -------------------------------------------------------------------- main


def source_fingerprint() -> dict:
    """Which code was measured: the commit, and a hash of src/ as it was."""
    src = HERE.parent / "src"
    digest = hashlib.sha256()
    for path in sorted(src.rglob("*.py")):
        digest.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True, text=True
    )
    return {"commit": head.stdout.strip() or None, "src_sha256": digest.hexdigest()[:16]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default=",".join(TARGETS), help="e.g. P1,P2")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the big database")
    args = parser.parse_args(argv)
    args.only = [t.strip().upper() for t in args.only.split(",") if t.strip()]
    unknown = set(args.only) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; choose from {TARGETS}")
    if args.contacts < 1 or args.runs < 1:
        parser.error("--contacts and --runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CRM.exists():
        sys.exit(f"no crm console script beside {PYTHON}; run with the project's .venv/bin/python")
    started = time.perf_counter()
    CACHE.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="minicrm-bench-"))
    ctx = Context(args.contacts, args.runs, args.rebuild, tmp, CACHE / f"big-{args.contacts}.db")
    rows: list[Row] = []
    load_before = os.getloadavg()

    def section(target: str, fn: Callable[[], list[Row]]) -> None:
        began = time.perf_counter()
        try:
            rows.extend(fn())
        except BenchError as exc:
            log(f"{target}: ERROR {exc}")
            rows.append(
                Row(
                    target,
                    "(could not run)",
                    "s",
                    verdict="ERROR",
                    note=str(exc)[:70],
                    details={"error": str(exc)},
                )
            )
        log(f"{target}: done in {time.perf_counter() - began:.0f} s")

    try:
        if "P1" in args.only:
            section("P1", lambda: bench_p1(ctx))
        need_db = {"P2", "P5", "P7"} & set(args.only)
        db_ok = True
        if need_db:
            try:
                ensure_big_db(ctx)
            except BenchError as exc:
                db_ok = False
                log(f"big database: ERROR {exc}")
                for target in sorted(need_db):
                    rows.append(
                        Row(
                            target,
                            "(no big database)",
                            "s",
                            verdict="ERROR",
                            note=str(exc)[:70],
                            details={"error": str(exc)},
                        )
                    )
        if db_ok and "P5" in args.only:
            section("P5", lambda: bench_p5(ctx))
        if db_ok and ({"P2", "P7"} & set(args.only)):
            want_p2, want_p7 = "P2" in args.only, "P7" in args.only
            section("P2/P7", lambda: bench_read_commands(ctx, want_p2, want_p7))
            if want_p7:
                section("P7", lambda: [demo_rss_row(ctx)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [r.judge() for r in sorted(rows, key=lambda r: TARGETS.index(r.target))]
    total = time.perf_counter() - started
    print_table(rows)
    misses = [r for r in rows if r.verdict in ("MISS", "ERROR")]
    print(
        f"\n{len(rows)} rows: {sum(r.verdict == 'PASS' for r in rows)} PASS, "
        f"{sum(r.verdict == 'MISS' for r in rows)} MISS, "
        f"{sum(r.verdict == 'ERROR' for r in rows)} ERROR; "
        f"medians of {args.runs} runs; {args.contacts:,} contacts; total {total:.0f} s"
    )
    results = {
        "finished_at": datetime.now(UTC).isoformat(),
        "source": source_fingerprint(),
        "contacts": args.contacts,
        "runs": args.runs,
        "only": args.only,
        "total_seconds": total,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "database": str(ctx.big_db),
        "db_counts": ctx._counts,
        "refs": ctx._refs,
        "rows": [r.to_json() for r in rows],
    }
    (CACHE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results written to {CACHE / 'results.json'}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
