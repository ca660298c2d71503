"""Scores that are never stale by a day.

Figures such as interactions_30d or days_in_stage move with the calendar,
not with writes, so a score written yesterday may be wrong today. Every
service that shows or sorts by scores calls ensure_fresh_scores first: one
read of a setting on most calls (this module loads nothing else until it is
needed), and once a day (for the day of `now` in the database's zone) a bulk
recompute that writes only the scores that moved.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from minicrm.services.records.score_day import scores_are_fresh

if TYPE_CHECKING:
    from minicrm.services.scoring.scores import Recomputed


def ensure_fresh_scores(session: Session, *, now: datetime | None = None) -> "Recomputed | None":
    """Recompute every score if they were last computed for an earlier day;
    returns what was recomputed, None when they were already fresh.

    The recompute runs in a savepoint; a reader that cannot take SQLite's
    write lock at this moment leaves it to the next reader."""
    now = now or datetime.now(UTC)
    if scores_are_fresh(session, now):
        return None
    from minicrm.services.scoring.scores import recompute_for_today

    return recompute_for_today(session, now)
