"""P6: `crm tui`'s Contacts screen on the 100,000-contact database.

    .venv/bin/python benchmarks/tui_bench.py [--runs K] [--contacts N] [--filter TEXT]

Works on a COPY of benchmarks/.cache/big-N.db (run benchmarks/run.py once to
build it); the original is never opened. The copy's schema is brought up to
date in a separate process first, so Alembic does not count against the
TUI's memory. Then each run is a fresh child process that starts the app
headless (App.run_test, 120×40) on the Contacts screen and records:

  first paint   from the app being up (on_mount) to the first page of rows
                painted (the refresh after the rows were added)
  filter        from the last key of the filter typed (default "رضا", part
                of a Persian name) to its rows painted
  next page     from End (the cursor jumps to the last row fetched) to the
                next page appended and painted
  longest stall the longest gap between ticks of a 5 ms timer on the UI
                loop while typing and paging: the UI never waits on SQL
  peak RSS      the child's ru_maxrss

Beside them, the same run measures a floor: a bare Textual app showing a
DataTable with 200 rows already in memory, from on_mount to first paint.
Medians over the runs; peak RSS is the largest. Targets (QUALITY.md P6):
first paint ≤ 0.5 s, peak RSS ≤ 200 MB.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
FIRST_PAINT_TARGET = 0.5
RSS_TARGET_MB = 200


# ------------------------------------------------------------------ child


def child(db: Path, filter_text: str, floor: bool) -> dict:
    return asyncio.run(_floor() if floor else _measure(db, filter_text))


async def _floor() -> dict:
    from textual.app import App
    from textual.widgets import DataTable

    marks: dict[str, float] = {}
    rows = [(f"Name {i}", "Company", "interest", str(i), "Ana", "2026-01-01") for i in range(200)]

    class Floor(App):
        def compose(self):
            yield DataTable()

        def on_mount(self) -> None:
            marks["up"] = time.perf_counter()
            table = self.query_one(DataTable)
            table.add_columns("Name", "Company", "Stage", "Score", "Owner", "Updated")
            table.add_rows(rows)
            self.call_after_refresh(lambda: marks.setdefault("painted", time.perf_counter()))

    app = Floor()
    async with app.run_test(size=(120, 40)) as pilot:
        while "painted" not in marks:
            await pilot.pause(0.001)
    return {"first_paint": marks["painted"] - marks["up"], "rss_mb": _rss_mb()}


async def _measure(db: Path, filter_text: str) -> dict:
    from minicrm.db import make_engine
    from minicrm.tui.app import MinicrmApp
    from minicrm.tui.widgets.contact_table import ContactTable

    painted: list[tuple[str, int, float]] = []  # (filter, rows, when)
    original = ContactTable.show_rows

    def show_rows(self, rows, **kwargs):
        original(self, rows, **kwargs)
        shown = (self.screen.query_state.filter_text, self.row_count)
        # Rows appended below the view change nothing visible: ask for the
        # repaint so "painted" always means after one.
        self.refresh()
        self.call_after_refresh(lambda: painted.append((*shown, time.perf_counter())))

    ContactTable.show_rows = show_rows
    marks: dict[str, float] = {}
    ticks: list[float] = []

    class Measured(MinicrmApp):
        def on_mount(self) -> None:  # Textual runs MinicrmApp.on_mount too
            marks["up"] = time.perf_counter()

    engine = make_engine(f"sqlite:///{db}")
    app = Measured(engine, poll_seconds=2.0, start_mode="contacts")
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: painted)
        first_paint = painted[0][2] - marks["up"]
        first_rows = painted[0][1]
        timer = app.set_interval(0.005, lambda: ticks.append(time.perf_counter()))
        await pilot.press("slash", *filter_text[:-1])
        typed = time.perf_counter()
        await pilot.press(filter_text[-1])
        await _until(pilot, lambda: any(f == filter_text for f, _n, t in painted if t > typed))
        found = next((n, t) for f, n, t in painted if f == filter_text and t > typed)
        filter_seconds = found[1] - typed
        await pilot.press("enter")  # to the table
        pressed = time.perf_counter()
        await pilot.press("end")  # its last row: the next page is fetched
        await _until(pilot, lambda: any(n > found[0] for f, n, t in painted if t > pressed))
        next_page = next(t for f, n, t in painted if n > found[0] and t > pressed) - pressed
        timer.stop()
        total = app.screen.query_one("#contacts-status").render()
    engine.dispose()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    return {
        "first_paint": first_paint,
        "first_rows": first_rows,
        "filter": filter_seconds,
        "filter_rows": found[0],
        "next_page": next_page,
        "longest_stall": max(gaps) if gaps else None,
        "status": str(total),
        "rss_mb": _rss_mb(),
    }


async def _until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not show it in time")
        await pilot.pause(0.001)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------- parent


def prepare_copy(contacts: int, folder: Path) -> Path:
    source = CACHE / f"big-{contacts}.db"
    if not source.exists():
        sys.exit(f"{source} is missing: build it with benchmarks/run.py --only P5")
    target = folder / "big.db"
    print(f"copying {source.name} ({source.stat().st_size / 1e6:.0f} MB)…", file=sys.stderr)
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    print("bringing the copy's schema up to date…", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-c", "import sys; from minicrm.db import ensure_schema, make_engine; "
         "ensure_schema(make_engine('sqlite:///' + sys.argv[1]))", str(target)],
        check=True,
    )  # fmt: skip
    return target


def run_child(args: list[str], env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"a run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--filter", default="رضا")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        db, floor = options.child[0], options.child[1] == "floor"
        print(json.dumps(child(Path(db), options.filter, floor)))
        return
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as folder:
        env = {**os.environ, "HOME": folder, "XDG_DATA_HOME": folder, "XDG_CONFIG_HOME": folder}
        db = prepare_copy(options.contacts, Path(folder))
        ours, floors = [], []
        for run in range(options.runs):
            print(f"run {run + 1}/{options.runs}…", file=sys.stderr)
            floors.append(run_child([str(db), "floor"], env))
            ours.append(run_child([str(db), "app"], env))
    report(ours, floors, options)


def report(ours: list[dict], floors: list[dict], options) -> None:
    def median(key: str, runs: list[dict]) -> float:
        return statistics.median(r[key] for r in runs)

    paint, floor = median("first_paint", ours), median("first_paint", floors)
    rss = max(r["rss_mb"] for r in ours)
    verdict = "PASS" if paint <= FIRST_PAINT_TARGET and rss <= RSS_TARGET_MB else "MISS"
    print(f"P6  crm tui, Contacts, {options.contacts:,} contacts, {options.runs} runs (medians)")
    print(f"  first paint       {paint * 1000:7.1f} ms   ({ours[0]['first_rows']} rows; "
          f"floor: bare DataTable of 200 rows {floor * 1000:.1f} ms, ×{paint / floor:.1f})  "
          f"target ≤ {FIRST_PAINT_TARGET * 1000:.0f} ms")  # fmt: skip
    print(f"  filter {options.filter!r:9} {median('filter', ours) * 1000:7.1f} ms   "
          f"(typed → {ours[0]['filter_rows']} rows painted)")  # fmt: skip
    print(f"  next page         {median('next_page', ours) * 1000:7.1f} ms   (End → page appended)")
    stalls = [r["longest_stall"] for r in ours if r["longest_stall"] is not None]
    if stalls:
        print(f"  longest UI stall  {max(stalls) * 1000:7.1f} ms   (5 ms timer while filtering)")
    print(f"  peak RSS          {rss:7.1f} MB   (floor {max(r['rss_mb'] for r in floors):.1f} MB)"
          f"  target ≤ {RSS_TARGET_MB} MB")  # fmt: skip
    print(f"  status line: {ours[0]['status']}")
    print(f"  {verdict}")


if __name__ == "__main__":
    main()
