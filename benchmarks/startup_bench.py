"""P12: everyday read commands on 10,000 contacts against a floor that
imports typer, rich and sqlite3 and runs the same SQL.

    .venv/bin/python benchmarks/startup_bench.py [--contacts N] [--runs K] [--rebuild]
                                                 [--imports]

  --contacts N  size of the demo database (default 10000)
  --runs K      timed runs per command, after one warm-up each (default 10)
  --rebuild     regenerate the cached demo database
  --imports     also show, per command, what `python -X importtime` says
                the ORM costs and which minicrm module first imports it

The database is made once by `crm demo --contacts N` and cached at
benchmarks/.cache/p12-N.db. One `crm list --limit 1` first settles it (a
pending schema upgrade, the once-a-day work of a first read), so no timed
run pays for that.

For each command, one run of the real `crm` records every statement it
sends to SQLite (a SQLAlchemy before_cursor_execute hook, in that run only)
and how many lines it prints. The floor for that command is then
`python -c` that imports typer, rich and sqlite3, opens the database with
the app's pragmas, runs exactly those SELECTs with those parameters through
sqlite3 in one transaction and prints every row: the least a command could
cost with the same queries and no ORM. Ours is the real `crm` process.
Both are timed spawn to exit, interleaved (with a third child, the floor
with `import sqlmodel` added, which tells the ORM import apart from the rest
of ours), median of --runs, with bytecode cached under .cache/pycache and
HOME/XDG_* in a temp dir. Judged: ours / floor ≤ 1.5×. The note counts
the statements the floor replays; a statement ours writes is not replayed,
and is named in the note.

Beside them, for context: `python -c pass`, `import typer, rich, sqlite3`
(the floor's imports), a bare Typer app running one command with an int
option (Typer coerces options with pydantic, which importing it does not
pay), `import sqlmodel`, and `import typer, rich, sqlite3, sqlmodel`: its
difference to the floor's imports is what the ORM import adds to every
command. Results also go to benchmarks/.cache/startup_results.json.
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bigdb import pick_refs, remove_db  # benchmarks/: sys.path[0] is this folder
from measure import (
    MB,
    BenchError,
    Row,
    Sample,
    check,
    log,
    median_seconds,
    print_table,
    run_child,
)
from run import CACHE, CRM, PYTHON  # noqa: E402  # one definition of the paths

P12_RATIO = 1.5

# One run of the real command, recording what it sends to SQLite.
CAPTURE = """
import contextlib, io, json, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
sent = []
@event.listens_for(Engine, "before_cursor_execute")
def _sent(conn, cursor, statement, parameters, context, executemany):
    sent.append([statement, parameters, executemany])
out_path = sys.argv[1]
sys.argv = ["crm", *sys.argv[2:]]
from minicrm.commands import main
stdout, code = io.StringIO(), 0
with contextlib.redirect_stdout(stdout):
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
with open(out_path, "w") as f:
    json.dump({"code": code, "lines": stdout.getvalue().count("\\n"), "sent": sent}, f)
sys.exit(code)
"""

# The floor: the imports every command of ours pays at least, then the same
# SELECTs through sqlite3, every row printed.
FLOOR = """
import json, sqlite3, sys
import typer, rich
_, db, replay = sys.argv[1:]
con = sqlite3.connect(db, isolation_level=None)
for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=FULL"):
    con.execute("PRAGMA " + pragma)
with open(replay) as f:
    statements = json.load(f)
write = sys.stdout.write  # print(*row) would make a write per value: 10x slower piped
con.execute("BEGIN")
for sql, params in statements:
    for row in con.execute(sql, params):
        write("\\t".join(map(str, row)) + "\\n")
con.execute("COMMIT")
con.close()
"""

# `crm ARGS` in-process, for -X importtime.
RUN_CRM = "import sys; sys.argv = ['crm', *sys.argv[1:]]; from minicrm.commands import main; main()"

# A Typer app that runs one command: Typer (0.26 and later) coerces options
# through pydantic TypeAdapters, which `import typer` alone does not pay.
BARE_TYPER_RUN = """
import sys, typer, rich, sqlite3
app = typer.Typer()
@app.command()
def show(limit: int = 10, verbose: bool = False) -> None:
    print(limit)
sys.argv = ["bare", "--limit", "3"]
app()
"""
CONTEXT = {
    "python -c pass": "pass",
    "import typer, rich, sqlite3  (the floor's imports)": "import typer, rich, sqlite3",
    "bare Typer app running one command (--limit 3)": BARE_TYPER_RUN,
    "import sqlmodel": "import sqlmodel",
    "import typer, rich, sqlite3, sqlmodel": "import typer, rich, sqlite3, sqlmodel",
}
ORM_PACKAGES = ("sqlmodel", "sqlalchemy", "pydantic", "pydantic_core")


@dataclass(frozen=True)
class Case:
    label: str
    crm_args: tuple[str, ...]
    min_lines: int  # the least a correct answer of ours prints


def cases(refs: dict, live: int) -> list[Case]:
    heavy, prefix = refs["heavy_contact_id"], refs["surname_prefix"]
    page = min(live, 100) + 1  # a header, then the rows
    return [
        Case("crm list --limit 100  (a terminal's page)", ("list", "--limit", "100"), page),
        Case("crm list  (every contact, piped)", ("list",), live + 1),
        Case(f"crm show {heavy}  (most interactions)", ("show", str(heavy)), 8),
        Case(f"crm search {prefix}  (surname prefix)", ("search", prefix), 2),
        Case("crm followup list  (this week)", ("followup", "list"), 2),
        Case("crm remind", ("remind",), 2),
        Case("crm report funnel", ("report", "funnel"), 5),
    ]


# ------------------------------------------------------------------ set-up


def child_env(tmp: Path, db: Path) -> dict[str, str]:
    """The user's environment, minus CRM_*, with every data dir in a temp dir
    and bytecode cached like an installed app's (as run.py does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    home = tmp / "home"
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        CRM_DB=str(db),
        NO_COLOR="1",
        COLUMNS="100",
    )
    return env


def ensure_db(db: Path, contacts: int, rebuild: bool, env: dict[str, str]) -> None:
    if db.exists() and not rebuild:
        log(f"using cached {db} ({db.stat().st_size / MB:.0f} MB)")
    else:
        building = db.with_name(db.stem + ".building.db")
        remove_db(building)
        argv = [str(CRM), "--db", str(building), "demo", "--contacts", str(contacts)]
        log(f"building: {' '.join(argv[1:])}")
        made = check(run_child(argv, env, timeout=1800), "crm demo")
        log(f"built in {made.seconds:.1f} s; {made.stderr.strip()}")
        with sqlite3.connect(building) as con:  # fold the WAL in: one file is the database
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        remove_db(db)
        building.rename(db)
        remove_db(building)
    settled = check(
        run_child([str(CRM), "--db", str(db), "list", "--limit", "1"], env), "crm list --limit 1"
    )
    if settled.stderr.strip():
        log(f"settling run: {settled.stderr.strip()}")


def capture(case: Case, db: Path, env: dict[str, str], folder: Path) -> tuple[Path, dict]:
    """The SELECTs one run of `crm ARGS` sends, saved for the floor to replay."""
    raw = folder / ("sent-" + re.sub(r"\W+", "-", " ".join(case.crm_args)) + ".json")
    argv = [str(PYTHON), "-c", CAPTURE, str(raw), "--db", str(db), *case.crm_args]
    check(run_child(argv, env), f"capture {case.label}")
    got = json.loads(raw.read_text())
    if got["lines"] < case.min_lines:
        raise BenchError(f"{case.label}: printed {got['lines']} lines, expected {case.min_lines}+")
    reads, writes = [], []
    for statement, params, many in got["sent"]:
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "WITH") and not many:
            reads.append([statement, params])
        else:
            writes.append(" ".join(statement.split())[:60])
    replay = folder / raw.name.replace("sent-", "floor-")
    replay.write_text(json.dumps(reads))
    return replay, {"statements": len(reads), "writes": writes, "ours_lines": got["lines"]}


# ---------------------------------------------------------------- measuring


def interleaved(
    argvs: dict[str, list[str]], env: dict[str, str], runs: int, min_lines: dict[str, int]
) -> dict[str, list[Sample]]:
    """One warm-up each, then `runs` rounds with the starting child rotating,
    so drift in machine load hits every side alike."""
    for label, argv in argvs.items():
        check(run_child(argv, env), label, min_lines=min_lines.get(label, 0))
    got: dict[str, list[Sample]] = {label: [] for label in argvs}
    order = list(argvs.items())
    for i in range(runs):
        for label, argv in order[i % len(order) :] + order[: i % len(order)]:
            sample = check(run_child(argv, env), label, min_lines=min_lines.get(label, 0))
            got[label].append(sample)
    return got


def bench_context(env: dict[str, str], runs: int) -> list[Row]:
    argvs = {label: [str(PYTHON), "-c", code] for label, code in CONTEXT.items()}
    rows = []
    for label, samples in interleaved(argvs, env, runs, {}).items():
        log(f"{label}: {median_seconds(samples) * 1000:.0f} ms")
        rows.append(
            Row("P12", label, "s", median_seconds(samples), kind="info", note="context",
                details={"seconds": [s.seconds for s in samples]})
        )  # fmt: skip
    return rows


def bench_command(case: Case, db: Path, env: dict[str, str], runs: int, folder: Path) -> Row:
    """Ours against the floor, and the floor with `import sqlmodel` added
    (not judged: it tells the ORM import from the rest of ours)."""
    replay, facts = capture(case, db, env, folder)
    floor = [str(PYTHON), "-c", FLOOR, "p12-floor", str(db), str(replay)]
    argvs = {
        "ours": [str(CRM), "--db", str(db), *case.crm_args],
        "floor": floor,
        "floor+orm": [str(PYTHON), "-c", "import sqlmodel\n" + FLOOR, *floor[3:]],
    }
    log(f"{case.label}: {facts['statements']} statements; {runs} runs each, interleaved")
    got = interleaved(argvs, env, runs, {"ours": case.min_lines, "floor": 1, "floor+orm": 1})
    ours, base, with_orm = (median_seconds(got[k]) for k in ("ours", "floor", "floor+orm"))
    log(f"  ours {ours:.3f} s, floor {base:.3f} s, floor + import sqlmodel {with_orm:.3f} s")
    note = f"{facts['statements']} statements"
    if facts["writes"]:
        note += f"; ours also wrote: {facts['writes'][0]}…"
    return Row(
        "P12",
        case.label,
        "s",
        ours,
        base,
        P12_RATIO,
        note=note,
        details={
            **facts,
            "floor_with_orm": with_orm,
            **{side: [s.seconds for s in samples] for side, samples in got.items()},
            "argv": argvs["ours"][1:],
        },
    )


# ------------------------------------------------------------- importtime


@dataclass
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse_importtime(stderr: str) -> list[ImportLine]:
    lines = []
    for text in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$", text)
        if match:
            self_us, cumulative, indent, name = match.groups()
            lines.append(ImportLine(int(self_us), int(cumulative), len(indent) // 2, name))
    return lines


def first_importer(lines: list[ImportLine], package: str) -> list[str]:
    """The chain of modules that first imported `package`, outermost first.
    importtime lists a module after everything it imported, one level deeper."""
    for i, line in enumerate(lines):
        if line.name == package or line.name.startswith(package + "."):
            chain, depth = [line.name], line.depth
            for later in lines[i + 1 :]:
                if later.depth < depth:
                    chain.append(later.name)
                    depth = later.depth
                    if depth == 0:
                        break
            return chain[::-1]
    return []


def import_report(case: Case, db: Path, env: dict[str, str]) -> dict:
    argv = [str(PYTHON), "-X", "importtime", "-c", RUN_CRM, "--db", str(db), *case.crm_args]
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = parse_importtime(done.stderr.decode("utf-8", "replace"))
    by_package: dict[str, int] = {}
    for line in lines:
        top = line.name.split(".")[0]
        by_package[top] = by_package.get(top, 0) + line.self_us
    chain = first_importer(lines, "sqlalchemy")
    # The last few of our modules on the way, and the library they pulled in.
    ours = next((i for i, name in enumerate(chain) if not name.startswith("minicrm")), len(chain))
    via = chain[max(0, ours - 3) : ours + 1]
    return {
        "total_ms": sum(by_package.values()) / 1000,
        "orm_ms": sum(by_package.get(p, 0) for p in ORM_PACKAGES) / 1000,
        "typer_rich_ms": sum(by_package.get(p, 0) for p in ("typer", "click", "rich")) / 1000,
        "minicrm_ms": by_package.get("minicrm", 0) / 1000,
        "sqlalchemy_first_via": " → ".join(via),
    }


def print_imports(reports: dict[str, dict]) -> None:
    header = ["command", "imports", "ORM", "typer+rich", "minicrm", "sqlalchemy first via"]
    body = [
        [
            label,
            f"{r['total_ms']:.0f} ms",
            f"{r['orm_ms']:.0f} ms",
            f"{r['typer_rich_ms']:.0f} ms",
            f"{r['minicrm_ms']:.0f} ms",
            r["sqlalchemy_first_via"] or "(not imported)",
        ]
        for label, r in reports.items()
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numbers = range(1, 5)
    print("\n-X importtime, self times summed per package (importtime's overhead included):")
    for row in [header, ["-" * w for w in widths], *body]:
        cells = [
            cell.rjust(width) if i in numbers else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    print("ORM = sqlmodel, sqlalchemy, pydantic, pydantic_core; typer+rich includes click.")


# -------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the demo database")
    parser.add_argument("--imports", action="store_true", help="add the -X importtime table")
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.runs < 1:
        parser.error("--contacts and --runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CRM.exists():
        sys.exit(f"no crm console script beside {PYTHON}; run with the project's .venv/bin/python")
    started = time.perf_counter()
    CACHE.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="minicrm-p12-"))
    db = CACHE / f"p12-{args.contacts}.db"
    env = child_env(tmp, db)
    load_before = os.getloadavg()
    rows: list[Row] = []
    imports: dict[str, dict] = {}
    try:
        ensure_db(db, args.contacts, args.rebuild, env)
        refs = pick_refs(db)
        log(f"refs: heavy contact #{refs['heavy_contact_id']}, prefix {refs['surname_prefix']!r}")
        rows += bench_context(env, args.runs)
        with sqlite3.connect(db) as con:
            live = con.execute("SELECT count(*) FROM contact WHERE deleted_at IS NULL").fetchone()[
                0
            ]
        con.close()
        for case in cases(refs, live):
            try:
                rows.append(bench_command(case, db, env, args.runs, tmp))
            except BenchError as exc:
                log(f"ERROR {exc}")
                rows.append(
                    Row("P12", case.label, "s", limit=P12_RATIO, verdict="ERROR",
                        note=str(exc)[:60], details={"error": str(exc)})
                )  # fmt: skip
            if args.imports:
                imports[case.label] = import_report(case, db, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [r.judge() for r in rows]
    print_table(rows)
    print(
        "P12: baseline = `python -c` importing typer, rich and sqlite3 that runs the "
        "command's own SELECTs via sqlite3 and prints the rows; the rows above the commands are "
        "context, not judged."
    )
    commands = [r for r in rows if r.kind == "ratio" and r.ours is not None and r.baseline]
    if commands:
        print("P12: with `import sqlmodel` added to the floor (measured in the same rounds),")
        print("     i.e. what is left once the ORM import is paid:")
        for r in commands:
            orm = r.details["floor_with_orm"] - r.baseline
            print(
                f"       {r.ours / r.details['floor_with_orm']:.2f}×  {r.what}  "
                f"(the ORM import: {orm * 1000:.0f} ms)"
            )
    if imports:
        print_imports(imports)
    judged = [r for r in rows if r.kind == "ratio"]
    misses = [r for r in judged if r.verdict in ("MISS", "ERROR")]
    total = time.perf_counter() - started
    print(
        f"\n{len(judged)} commands: {sum(r.verdict == 'PASS' for r in judged)} PASS, "
        f"{sum(r.verdict == 'MISS' for r in judged)} MISS, "
        f"{sum(r.verdict == 'ERROR' for r in judged)} ERROR; medians of {args.runs} runs; "
        f"{args.contacts:,} contacts; total {total:.0f} s"
    )
    results = {
        "finished_at": datetime.now(UTC).isoformat(),
        "contacts": args.contacts,
        "runs": args.runs,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "database": str(db),
        "rows": [r.to_json() for r in rows],
        "imports": imports,
    }
    out = CACHE / "startup_results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results written to {out}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
