"""What the dashboard, follow-ups, pipeline and reports screens run in their
thread workers: each function opens its own session on the engine, calls the
services, and returns read models that can cross back to the UI thread.

No Textual here: these are plain functions, so they can be tested (and
reused) without an app. Screens call them from `@work(thread=True)` methods
and post the result as a message.
"""

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import Engine

from minicrm.db import session_scope
from minicrm.models import FollowUpRead
from minicrm.services.deals.stages import PipelineColumn, pipeline
from minicrm.services.followups.followups import (
    AgendaItem,
    DoneResult,
    complete_followup,
    list_followups,
    snooze_followup,
    window_end,
)
from minicrm.services.funnel.funnel import FunnelReport, funnel_report
from minicrm.services.records import config

CARDS_PER_COLUMN = 20  # the board shows the best few; the Contacts screen has the rest


# ----------------------------------------------------------------- reads


@dataclass(frozen=True)
class Agenda:
    """Open follow-ups in three sections; upcoming runs to the end of the week."""

    zone: tzinfo
    overdue: list[AgendaItem]
    today: list[AgendaItem]
    upcoming: list[AgendaItem]

    def sections(self) -> list[tuple[str, list[AgendaItem]]]:
        return [("overdue", self.overdue), ("today", self.today), ("upcoming", self.upcoming)]


def load_agenda(engine: Engine, now: datetime) -> Agenda:
    with session_scope(engine, write=False) as session:
        zone = config.local_zone_of(session)
        found = list_followups(session, "week", zone=zone, now=now)
    end_of_today = window_end("today", now=now, zone=zone)
    return Agenda(
        zone=zone,
        overdue=[f for f in found if f.due_at < now],
        today=[f for f in found if now <= f.due_at < end_of_today],
        upcoming=[f for f in found if f.due_at >= end_of_today],
    )


@dataclass(frozen=True)
class Board:
    zone: tzinfo
    currency: str
    columns: list[PipelineColumn]


def load_board(engine: Engine, now: datetime | None = None) -> Board:
    with session_scope(engine, write=False) as session:
        return Board(
            zone=config.local_zone_of(session),
            currency=config.get_setting(session, "currency") or "USD",
            columns=pipeline(session, top=CARDS_PER_COLUMN, now=now),
        )


@dataclass(frozen=True)
class ReportData:
    zone: tzinfo
    report: FunnelReport


def load_report(engine: Engine, now: datetime, by: str | None) -> ReportData:
    with session_scope(engine, write=False) as session:
        zone = config.local_zone_of(session)
        return ReportData(zone, funnel_report(session, by=by, now=now))


def local_zone(engine: Engine) -> tzinfo:
    """The zone WHEN phrases are typed in (the snooze form parses live)."""
    with session_scope(engine, write=False) as session:
        return config.local_zone_of(session)


# ---------------------------------------------------------------- writes


def finish_followup(engine: Engine, followup_id: int, now: datetime) -> DoneResult:
    with session_scope(engine) as session:
        zone = config.local_zone_of(session)
        return complete_followup(session, followup_id, zone=zone, now=now)


def snooze(engine: Engine, followup_id: int, due_at: datetime, now: datetime) -> FollowUpRead:
    with session_scope(engine) as session:
        return snooze_followup(session, followup_id, due_at, now=now)
