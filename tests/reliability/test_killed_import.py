"""R2: SIGKILL at a random moment during a 100,000-row import, 10 trials.

The import is one transaction, so afterwards its rows are all there or none
are, the database is intact, and the next command works.
"""

import csv
import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select, text

from minicrm.db import make_engine, session_scope
from minicrm.models import Contact

ROWS = 100_000
TRIALS = 10


def crm_command(database_url: str, db_path, *args: str) -> tuple[list[str], dict]:
    env = {**os.environ}
    base = [sys.executable, "-m", "minicrm"]
    if db_path is not None:
        return [*base, "--db", str(db_path), *args], env
    env["CRM_DATABASE_URL"] = database_url
    return [*base, *args], env


def write_csv(path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "email", "phone"])
        for n in range(ROWS):
            writer.writerow([f"Kill Test {n}", f"kill{n}@example.com", ""])


def contact_count(engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(func.count()).select_from(Contact)).scalar_one()


def test_killed_imports_land_whole_or_not_at_all(cli, database_url, tmp_path):
    source = tmp_path / "big.csv"
    write_csv(source)
    command, env = crm_command(database_url, cli.db_path, "import", str(source))
    engine = make_engine(database_url)
    rng = random.Random(20261123)
    try:
        started = time.monotonic()
        subprocess.run(command, env=env, check=True, capture_output=True)
        full_run = time.monotonic() - started
        assert contact_count(engine) == ROWS
        cli.ok("import", "--undo", "1")
        assert contact_count(engine) == 0
        outcomes = []
        for _ in range(TRIALS):
            before = contact_count(engine)
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.05, full_run))
            process.send_signal(signal.SIGKILL)
            process.wait()
            after = contact_count(engine)
            assert after - before in (0, ROWS), f"half an import: {after - before} rows"
            outcomes.append(after - before)
            if engine.dialect.name == "sqlite":
                with session_scope(engine, write=False) as session:
                    assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            cli.ok("list", "--limit", "1")  # the next command works
            if after > before:
                batches = cli.json("import", "--list")
                cli.ok("import", "--undo", str(batches[0]["id"]))
        print(f"R2 outcomes (rows landed per trial): {outcomes}")
    finally:
        engine.dispose()
