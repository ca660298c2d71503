"""The day every score was last computed for, kept in the `setting` table.

Scores read figures that move with the calendar, so scores computed for an
earlier day (in the database's zone) are stale: scoring/freshness.py
recomputes them on the first read of a new day, and a whole-table recompute
records the day here. Bookkeeping, not a user setting: backups leave it out.
"""

from datetime import datetime

from sqlmodel import Session

from minicrm.models import Setting
from minicrm.services.records.config import local_zone_of

SCORES_DAY_KEY = "scores_computed_for"


def day_of(session: Session, now: datetime) -> str:
    """`now`'s date in the database's zone, as YYYY-MM-DD."""
    return now.astimezone(local_zone_of(session)).date().isoformat()


def scores_are_fresh(session: Session, now: datetime) -> bool:
    """Were the scores computed for `now`'s day (or a later one)?"""
    row = session.get(Setting, SCORES_DAY_KEY)
    return row is not None and row.value >= day_of(session, now)


def store_scores_day(session: Session, now: datetime) -> None:
    day = day_of(session, now)
    row = session.get(Setting, SCORES_DAY_KEY)
    if row is None:
        session.add(Setting(key=SCORES_DAY_KEY, value=day, updated_at=now))
    elif row.value != day:
        row.value, row.updated_at = day, now
    session.flush()
