"""Which rows `crm demo` added, so `crm demo --remove` can take them out again.

A run writes its rows in one transaction with ids above the highest ever
used, so each table's new rows are one contiguous id range. A batch is
{table: [first id, last id]} for every table the run added rows to, plus when
and with which seed. The batches are kept as JSON in the `setting` table under
DEMO_BATCHES_KEY: bookkeeping, not a user setting, so `crm config` does not
list it, and no schema change was needed to add it.
"""

import json
from datetime import datetime

from sqlalchemy import Connection
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    Company,
    Contact,
    Deal,
    DealLine,
    FollowUp,
    Interaction,
    Product,
    Setting,
    StageChange,
    Tag,
)

DEMO_BATCHES_KEY = "demo_batches"
TRACKED = (Contact, Company, Deal, DealLine, Interaction, FollowUp, StageChange, Product, Tag)
Batch = dict  # {"added_at": ISO text, "seed": int, table name: [first id, last id], …}


def high_water(connection: Connection) -> dict[str, int]:
    """The highest id each tracked table has handed out so far."""
    from minicrm.db import highest_id_used

    return {m.__tablename__: highest_id_used(connection, m.__tablename__) for m in TRACKED}


def record_batch(
    session: Session, before: dict[str, int], after: dict[str, int], *, seed: int, now: datetime
) -> None:
    """Add the run whose rows lie between the two high-water marks."""
    batch: Batch = {"added_at": now.isoformat(), "seed": seed}
    batch.update({t: [before[t] + 1, after[t]] for t in after if after[t] > before[t]})
    batches = [*(read_batches(session) or []), batch]
    row = session.get(Setting, DEMO_BATCHES_KEY)
    value = json.dumps(batches, sort_keys=True)
    if row is None:
        session.add(Setting(key=DEMO_BATCHES_KEY, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()


def read_batches(session: Session) -> list[Batch] | None:
    """The recorded runs, oldest first; None when nothing was ever recorded."""
    row = session.get(Setting, DEMO_BATCHES_KEY)
    if row is None:
        return None
    try:
        batches = json.loads(row.value)
        if not isinstance(batches, list) or not all(_well_formed(b) for b in batches):
            raise ValueError(row.value)
    except ValueError as exc:
        raise UserError(
            f"the record of the demo data (setting {DEMO_BATCHES_KEY}) is damaged, so the "
            "demo rows cannot be told apart from yours; nothing removed"
        ) from exc
    return batches


def forget_batches(session: Session) -> None:
    row = session.get(Setting, DEMO_BATCHES_KEY)
    if row is not None:
        session.delete(row)
        session.flush()


def id_ranges(batches: list[Batch], table: str) -> list[tuple[int, int]]:
    return [tuple(batch[table]) for batch in batches if table in batch]


def _well_formed(batch) -> bool:
    if not isinstance(batch, dict):
        return False
    ranges = [batch[m.__tablename__] for m in TRACKED if m.__tablename__ in batch]
    return all(
        isinstance(r, list) and len(r) == 2 and all(type(i) is int for i in r) and r[0] <= r[1]
        for r in ranges
    )
