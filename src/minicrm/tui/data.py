"""What the TUI's thread workers call: each function opens its own session
on the engine, calls the services, and returns read models.

Nothing here imports Textual; screens call these from @work(thread=True)
methods and post the results back as messages (tui/messages.py).
"""

import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, func, select

from minicrm.db import session_scope, sqlite_path
from minicrm.errors import CrmError, UserError, ValidationError
from minicrm.models import LOST, WON, ContactRead, DealRead, FollowUpRead, InteractionRead
from minicrm.services.contacts import paging
from minicrm.services.deals.stages import pipeline
from minicrm.services.followups.cadence import TouchDue, due_to_get_in_touch
from minicrm.services.followups.followups import (
    AgendaItem,
    agenda_between,
    count_open_followups,
    window_end,
)
from minicrm.services.funnel.activity import RecentInteraction, recent_interactions
from minicrm.services.profiles.contact import TimelineEntry
from minicrm.services.records import config


def failure_text(exc: BaseException) -> str:
    """What a failed worker tells the user: a CrmError's own message, a busy
    database in words, anything else briefly (never a traceback)."""
    if isinstance(exc, CrmError):
        return exc.message
    text = str(getattr(exc, "orig", None) or exc)
    if "locked" in text or "busy" in text:
        return "the database is busy (another program holds a lock); try again in a moment"
    return f"the database could not be used: {text}"


@dataclass(frozen=True)
class TableQuery:
    """What the contact table shows: the filter typed and the sort chosen."""

    filter_text: str = ""
    sort: str = "name"
    descending: bool = False


def load_page(
    engine: Engine,
    query: TableQuery,
    *,
    after_key=None,
    limit: int = paging.PAGE_SIZE,
    now: datetime | None = None,
) -> paging.ContactPage:
    with session_scope(engine, write=False) as session:
        return paging.contacts_page(
            session,
            filter_text=query.filter_text,
            sort=query.sort,
            after_key=after_key,
            limit=limit,
            descending=query.descending,
            now=now,
        )


def count_contacts(engine: Engine, filter_text: str) -> int:
    with session_scope(engine, write=False) as session:
        return paging.count_matching(session, filter_text)


def find_neighbour(
    engine: Engine, contact_id: int, query: TableQuery, *, forward: bool
) -> int | None:
    with session_scope(engine, write=False) as session:
        row = paging.neighbour(
            session,
            contact_id,
            filter_text=query.filter_text,
            sort=query.sort,
            descending=query.descending,
            forward=forward,
        )
    return row.id if row else None


def load_zone(engine: Engine) -> tzinfo:
    from minicrm.services.records.config import local_zone_of

    with session_scope(engine, write=False) as session:
        return local_zone_of(session)


# -------------------------------------------------------------- dashboard

DASHBOARD_ROWS = 50  # rows of each of the dashboard's lists; the counts count them all
TOP_DEALS = 20  # the panel scrolls; a tall terminal shows more of them
RECENT = 10


@dataclass(frozen=True)
class DashboardData:
    """What the dashboard shows. Lists are capped at DASHBOARD_ROWS; the
    totals are how many there are in all, so a capped list can say so."""

    zone: tzinfo
    currency: str
    overdue: list[AgendaItem]
    overdue_total: int
    today: list[AgendaItem]
    today_total: int
    get_in_touch: list[TouchDue]
    touch_total: int
    stage_counts: list[tuple[str, int]]
    top_deals: list[DealRead]
    recent: list[RecentInteraction]


def load_dashboard(engine: Engine, now: datetime) -> DashboardData:
    with session_scope(engine, write=False) as session:
        zone = config.local_zone_of(session)
        # A few rows of each list, and the counts counted in SQL: 38,000 due
        # by tonight are not loaded to show 50.
        tonight = window_end("today", now=now, zone=zone)
        overdue = agenda_between(session, None, now, limit=DASHBOARD_ROWS)
        today = agenda_between(session, now, tonight, limit=DASHBOARD_ROWS)
        overdue_total = count_open_followups(session, None, now)
        today_total = count_open_followups(session, now, tonight)
        touch = due_to_get_in_touch(session, now=now)
        # One board query gives both the stage counts and each stage's best
        # deals; the open stages' deals merged by score are the top deals.
        columns = pipeline(session, top=TOP_DEALS, now=now)
        deals = [d for col in columns if col.stage not in (WON, LOST) for d in col.top]
        deals.sort(key=lambda d: (-(d.score or 0), d.title.casefold(), d.id))
        return DashboardData(
            zone=zone,
            currency=config.get_setting(session, "currency") or "USD",
            overdue=overdue,
            overdue_total=overdue_total,
            today=today,
            today_total=today_total,
            get_in_touch=touch[:DASHBOARD_ROWS],
            touch_total=len(touch),
            stage_counts=[(col.stage, col.count) for col in columns],
            top_deals=deals[:TOP_DEALS],
            recent=recent_interactions(session, limit=RECENT),
        )


# ---------------------------------------------------------------- contact


@dataclass(frozen=True)
class ScoreLine:
    """One scoring rule that moved the score, and the figures it read."""

    points: int
    rule: str
    detail: str


@dataclass(frozen=True)
class ContactView:
    contact: ContactRead
    timeline: list[TimelineEntry]
    open_followups: list[FollowUpRead]
    score: int | None  # None: a contact without deals has no score
    score_lines: list[ScoreLine] | None  # None: no explanation available
    stages: list[str] = field(default_factory=list)
    deals: list[DealRead] = field(default_factory=list)  # open first, then newest


def load_contact(engine: Engine, contact_id: int, *, now: datetime) -> ContactView:
    """A contact's profile, its deals, its score rule by rule, and the stage list.

    A write session: explaining a score also refreshes the cached one when
    time has moved it (as `crm score --explain` does)."""
    from minicrm.services.deals.reading import deals_of_contact
    from minicrm.services.profiles.contact import contact_profile
    from minicrm.services.records.config import all_stages

    with session_scope(engine) as session:
        profile = contact_profile(session, contact_id, now=now)
        score, lines = _explain_score(session, contact_id, profile.contact.score, now)
        if profile.contact.score is None:  # no deal, no score: shown as a dash
            score = None
        stages = all_stages(session)
        deals = deals_of_contact(session, contact_id)
    return ContactView(
        contact=profile.contact,
        timeline=profile.timeline,
        open_followups=profile.open_followups,
        score=score,
        score_lines=lines,
        stages=stages,
        deals=deals,
    )


def _explain_score(session, contact_id: int, cached: int, now: datetime):
    try:
        from minicrm.services.scoring.scores import explain
    except ImportError:  # scoring is optional in a slim build: show the cached score
        return cached, None
    scored = explain(session, contact_id, now=now)
    lines = []
    for hit in scored.rules:
        used = [f"{name} = {_shown(value)}" for name, value in hit.used.items()]
        used += [f"tag {tag}" for tag in getattr(hit, "tags", ())]
        lines.append(ScoreLine(hit.points, hit.name, ", ".join(used)))
    return scored.score, lines


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


# ------------------------------------------------------------------ writes
# Each is one transaction: a ValidationError leaves the database untouched
# and names the form field to mark.


def _when(
    session,
    text: str,
    now: datetime,
    field_name: str = "when",
    *,
    looking_back: bool = False,
    scheduling: bool = False,
) -> datetime:
    from minicrm.dates import parse_when
    from minicrm.services.records.config import local_zone_of

    try:
        return parse_when(
            text,
            now=now,
            zone=local_zone_of(session),
            looking_back=looking_back,
            scheduling=scheduling,
        )
    except UserError as exc:
        raise ValidationError(exc.message, field=field_name) from exc


def log_interaction(
    engine: Engine,
    contact_id: int,
    *,
    kind: str,
    summary: str,
    when: str,
    amount: str,
    now: datetime,
) -> InteractionRead:
    from minicrm.services.followups import interactions

    with session_scope(engine) as session:
        at = _when(session, when, now, looking_back=True) if when.strip() else now
        if at > now:
            raise ValidationError("an interaction is logged once it has happened", field="when")
        return interactions.log_interaction(
            session, contact_id, kind, summary, at=at, amount=amount or None, now=now
        )


def add_followup(
    engine: Engine, contact_id: int, *, when: str, note: str, every: str, now: datetime
) -> FollowUpRead:
    from minicrm.dates import already_past
    from minicrm.services import followups

    with session_scope(engine) as session:
        due = _when(session, when, now, scheduling=True)
        if already_past(due, now):  # the CLI's --past has no place in a form: say a later time
            raise ValidationError(
                "that is already past; give a later time (tomorrow 9am, +2h)", field="when"
            )
        return followups.add_followup(
            session, contact_id, due, note or None, every=every or None, now=now
        )


def move_stage(
    engine: Engine, contact_id: int, *, stage: str, reason: str = "", now: datetime
) -> ContactRead:
    from minicrm.services.deals import stages

    with session_scope(engine) as session:
        return stages.move_stage(session, contact_id, stage, reason=reason or None, now=now)


def edit_contact(
    engine: Engine,
    contact_id: int,
    *,
    fields: dict[str, str],
    add_tags: list[str],
    remove_tags: list[str],
    version: int,
    now: datetime,
) -> ContactRead:
    """Save the fields a form changed; refused if someone else saved first."""
    from minicrm.services.contacts.editing import ContactChanges, update_contact

    changes = ContactChanges(fields=fields, add_tags=add_tags, remove_tags=remove_tags)
    with session_scope(engine) as session:
        return update_contact(session, contact_id, changes, expected_version=version, now=now)


def trash_contact(engine: Engine, contact_id: int, *, now: datetime) -> ContactRead:
    from minicrm.services.contacts.trash import trash_contact as trash

    with session_scope(engine) as session:
        return trash(session, contact_id, now=now)


# ------------------------------------------------------------- live refresh


class DataVersionWatcher:
    """Notices commits made by other connections: the CLI, cron, another TUI.

    On SQLite, `PRAGMA data_version` on one connection kept open changes
    only when another connection commits, and costs microseconds. Elsewhere
    (a server, an in-memory database) a few indexed maxima stand in for it.
    The TUI's own workers use other connections, so their commits count as
    changes too: the screen shows what was saved once more, harmlessly."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._path = sqlite_path(engine)
        self._connection: sqlite3.Connection | None = None
        self._last: Any = None
        self._lock = threading.Lock()  # polls may overlap on worker threads

    def changed(self) -> bool:
        """True when the database moved since the previous call (False the first time)."""
        with self._lock:
            version = self._read()
            previous, self._last = self._last, version
            return previous is not None and version != previous

    def _read(self) -> Any:
        if self._path is None:
            return self._fingerprint()
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None
            )
        return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def _fingerprint(self) -> tuple:
        from minicrm.models import (
            Company,
            Contact,
            Deal,
            DealLine,
            FollowUp,
            Interaction,
            Setting,
            StageChange,
        )

        with session_scope(self._engine, write=False) as session:
            return tuple(
                session.execute(
                    select(
                        select(func.max(Contact.updated_at)).scalar_subquery(),
                        select(func.max(Deal.updated_at)).scalar_subquery(),
                        select(func.max(DealLine.id)).scalar_subquery(),
                        select(func.max(Company.updated_at)).scalar_subquery(),
                        select(func.max(Interaction.id)).scalar_subquery(),
                        select(func.max(StageChange.id)).scalar_subquery(),
                        select(func.max(FollowUp.id)).scalar_subquery(),
                        select(func.count())
                        .select_from(FollowUp)
                        .where(FollowUp.done_at.is_(None))
                        .scalar_subquery(),
                        select(func.max(Setting.updated_at)).scalar_subquery(),
                    )
                ).one()
            )

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
