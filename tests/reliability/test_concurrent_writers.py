"""R1: three processes write at once; every write lands, no "locked" error.

A clerk adding and editing contacts, a TUI-style updater logging calls and
closing follow-ups, and a cron job writing the reminder ledger, 500
operations each, on one database file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from minicrm.db import session_scope
from minicrm.models import Contact, FollowUp, Interaction

WRITER = Path(__file__).with_name("concurrent_writer.py")
OPERATIONS = 500


def run_writers(url: str) -> dict:
    env = {**os.environ, "CRM_USER": "tester"}
    processes = {
        role: subprocess.Popen(
            [sys.executable, str(WRITER), role, url, str(OPERATIONS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for role in ("clerk", "updater", "cron")
    }
    results = {}
    for role, process in processes.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{role} failed:\n{err}"
        assert "locked" not in err.lower()
        results[role] = json.loads(out)
    return results


def test_three_concurrent_writers_lose_nothing(engine, database_url):
    results = run_writers(database_url)
    clerk, updater = results["clerk"], results["updater"]
    assert len(clerk["added"]) == OPERATIONS // 2
    assert results["cron"]["digests"] == OPERATIONS
    with session_scope(engine, write=False) as session:
        names = session.execute(
            select(func.count()).where(Contact.name.like("Clerk Customer %"))
        ).scalar_one()
        assert names == OPERATIONS // 2
        cities = dict(
            session.execute(select(Contact.id, Contact.city).where(Contact.city.is_not(None))).all()
        )
        assert cities == {int(k): v for k, v in clerk["edited"].items()}
        calls = session.execute(
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.contact_id == updater["contact"])
        ).scalar_one()
        assert calls == updater["logged"]
        closed = session.execute(
            select(func.count()).select_from(FollowUp).where(FollowUp.done_at.is_not(None))
        ).scalar_one()
        assert closed == updater["done"]
        if engine.dialect.name == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
