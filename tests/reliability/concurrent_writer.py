"""One of the concurrent writers of test_concurrent_writers (R1).

Run as `python concurrent_writer.py ROLE DATABASE_URL OPERATIONS`. Each
operation is its own unit of work, as one CLI command or one TUI action is.
Prints a JSON summary of what it wrote; any exception ends it non-zero.
"""

import json
import sys
from datetime import UTC, datetime, timedelta

from minicrm.db import make_engine, session_scope
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.followups.followups import add_followup, complete_followup, snooze_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.followups.remind import build_digest, mark_sent

UTC_ZONE = UTC


def clerk(engine, operations: int) -> dict:
    """Adds contacts and edits them, like `crm add` / `crm edit` typed in a shop."""
    added, edited = [], {}
    for n in range(operations):
        with session_scope(engine) as session:
            if n % 2 == 0:
                contact = add_contact(session, ContactInput(name=f"Clerk Customer {n}"), force=True)
                added.append(contact.id)
            else:
                target = added[-1]
                update_contact(session, target, ContactChanges(fields={"city": f"City {n}"}))
                edited[target] = f"City {n}"
    return {"added": added, "edited": edited}


def updater(engine, operations: int) -> dict:
    """Logs calls and works through follow-ups, like the TUI does."""
    logged, done = 0, 0
    with session_scope(engine) as session:
        seed = add_contact(session, ContactInput(name="Updater Customer"), force=True)
    for n in range(operations):
        with session_scope(engine) as session:
            if n % 3 == 0:
                log_interaction(session, seed.id, "call", f"call {n}")
                logged += 1
            elif n % 3 == 1:
                due = datetime.now(UTC) + timedelta(days=1)
                followup = add_followup(session, seed.id, due, f"note {n}")
                snooze_followup(session, followup.id, due + timedelta(days=1))
            else:
                followup = add_followup(session, seed.id, datetime.now(UTC), f"done {n}")
                complete_followup(session, followup.id, zone=UTC_ZONE)
                done += 1
    return {"contact": seed.id, "logged": logged, "done": done}


def cron(engine, operations: int) -> dict:
    """Builds and records the reminder digest over and over, like `crm remind --only-new`."""
    digests = 0
    for _ in range(operations):
        now = datetime.now(UTC)
        with session_scope(engine, write=False) as session:
            digest = build_digest(session, now=now, zone=UTC_ZONE, days=7, only_new=True)
        with session_scope(engine) as session:
            mark_sent(session, digest, now)
        digests += 1
    return {"digests": digests}


if __name__ == "__main__":
    role, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    result = {"clerk": clerk, "updater": updater, "cron": cron}[role](engine, count)
    print(json.dumps(result))
