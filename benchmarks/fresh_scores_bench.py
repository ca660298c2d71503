"""Scores fresh each day, measured: the first `crm list --sort score` of a day
recomputes every score (services/scoring/freshness.py);
every later one that day only reads the day it was done for.

    .venv/bin/python benchmarks/fresh_scores_bench.py [--runs K]

Runs on a copy of run.py's cached 100,000-contact database (build it with
`python benchmarks/run.py --only P2` first). Each "first of the day" run is
preceded by setting the recorded day back to 2000-01-01; the floor is
floor.py's `list 50` (python + `import sqlmodel` + the list's SQL through
sqlite3), the P2 floor of `crm list --limit 50`, measured in the same run.
"""

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import check, log, run_child  # noqa: E402
from run import CRM, PYTHON, Context  # noqa: E402


def set_day(db: Path, day: str) -> None:
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO setting (key, value, updated_at) VALUES "
            "('scores_computed_for', ?, '2000-01-01 00:00:00') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (day,),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    source = HERE / ".cache" / f"big-{args.contacts}.db"
    if not source.exists():
        print(f"no {source}: run `python benchmarks/run.py --only P2` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context(args.contacts, args.runs, False, Path(tmp), source)
        db = Path(tmp) / "crm.db"
        shutil.copyfile(source, db)
        env = ctx.env(db)
        ours = [str(CRM), "--db", str(db), "list", "--sort", "score", "--limit", "50"]
        floor = [str(PYTHON), str(HERE / "floor.py"), str(db), "list", "50"]
        first, later, base = [], [], []
        for run in range(args.runs):
            set_day(db, "2000-01-01")
            first.append(check(run_child(ours, env), "first list of the day", min_lines=51))
            later.append(check(run_child(ours, env), "later list", min_lines=51))
            base.append(check(run_child(floor, env), "floor list 50", min_lines=51))
            log(f"run {run + 1}: first {first[-1].seconds:.2f} s, later {later[-1].seconds:.3f} s, "
                f"floor {base[-1].seconds:.3f} s")  # fmt: skip
    med = {k: statistics.median(s.seconds for s in v)
           for k, v in (("first", first), ("later", later), ("floor", base))}  # fmt: skip
    print(f"crm list --sort score --limit 50, {args.contacts:,} contacts, {args.runs} runs:")
    print(f"  first of the day (recomputes every score): {med['first']:.2f} s")
    print(f"  every later one that day:                  {med['later']:.3f} s")
    print(f"  floor (floor.py list 50):                  {med['floor']:.3f} s")
    print(f"  later / floor: {med['later'] / med['floor']:.2f}x (P2 target <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
