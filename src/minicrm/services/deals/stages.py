"""The funnel: moving deals between stages, and the board (changing the
stage list itself: stage_list.py)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import LOST, ContactRead, Deal, DealRead, StageChange
from minicrm.services.records import config
from minicrm.services.records.contacts import read_contact, resolve_ref
from minicrm.services.records.deals import (
    deal_to_move,
    mirror_current_deal,
    open_deal,
    record_deal_move,
)
from minicrm.services.scoring.freshness import ensure_fresh_scores

LOST_REASONS = ("no budget", "no need", "wrong contact", "went elsewhere")


def move_stage(
    session: Session,
    ref: str | int,
    stage: str,
    *,
    reason: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> ContactRead:
    """Move a contact's deal to `stage` (forwards, backwards or skipping),
    recording the move at `at` (default now). Moving to lost needs a reason.

    The one-deal shortcut: the deal is the contact's only open one, else its
    most recent (reopened); a contact without a deal gets one in `stage`;
    several open deals are an error naming them."""
    now = now or datetime.now(UTC)
    at = at or now
    contact = resolve_ref(session, ref, for_update=True)
    target = config.normalize_stage(session, stage)
    reason = (reason or "").strip() or None
    if target == LOST and not reason:
        raise ValidationError(
            f"moving to lost needs a reason: --reason, e.g. {', '.join(LOST_REASONS)}",
            field="lost_reason",
        )
    deal = deal_to_move(session, contact)
    if deal is None:
        if at > now:
            raise ValidationError("--at is in the future; record a move once it has happened")
        open_deal(
            session, title=contact.name, stage=target, contact_id=contact.id,
            company_id=contact.company_id, owner=contact.owner, source=contact.source,
            lost_reason=reason, now=at,
        )  # fmt: skip
    else:
        move_deal(session, deal, target, reason=reason, at=at, now=now, who=contact.name)
    mirror_current_deal(session, contact)
    contact.updated_at = now
    contact.version += 1
    session.flush()
    from minicrm.services.scoring.scores import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def move_deal(
    session: Session,
    deal: Deal,
    target: str,
    *,
    reason: str | None,
    at: datetime,
    now: datetime,
    who: str | None = None,
) -> None:
    """Move one deal to the (normalised) stage `target`, booked at `at`."""
    if target == deal.stage:
        raise UserError(f"{_deal_label(deal, who)} is already in {target}")
    _check_move_time(session, deal, at, now)
    old_stage = deal.stage
    deal.stage = target
    record_deal_move(session, deal, old_stage, at, reason)
    deal.updated_at = now
    deal.version += 1
    session.flush()


def _deal_label(deal: Deal, who: str | None) -> str:
    return f"#{deal.contact_id} {who}" if who else f"deal #{deal.id} {deal.title}"


def _check_move_time(session: Session, deal: Deal, at: datetime, now: datetime) -> None:
    if at > now:
        raise ValidationError("--at is in the future; record a move once it has happened")
    last = session.execute(
        select(func.max(StageChange.at)).where(StageChange.deal_id == deal.id)
    ).scalar()
    if last is not None and at < last:
        since = last.isoformat(timespec="minutes")
        raise ValidationError(
            f"--at is before this deal's last stage change ({since}); "
            "the funnel history must stay in order"
        )


@dataclass
class PipelineColumn:
    """A stage on the board: its live deals' count and value, and the
    best-scored few as deal cards."""

    stage: str
    count: int = 0
    value_cents: int = 0
    top: list[DealRead] = field(default_factory=list)

    def to_json(self) -> dict:
        from minicrm.models import cents_to_major

        return {
            "stage": self.stage,
            "count": self.count,
            "value": cents_to_major(self.value_cents),
            "top": [
                {
                    "id": d.id,
                    "title": d.title,
                    "company": d.company,
                    "contact_id": d.contact_id,
                    "contact_name": d.contact_name,
                    "score": d.score,
                    "value": d.value,
                    "expected_close": d.expected_close.isoformat() if d.expected_close else None,
                }
                for d in self.top
            ],
        }


def pipeline(
    session: Session, *, top: int = 3, now: datetime | None = None
) -> list[PipelineColumn]:
    """One column per stage (open stages in order, then won and lost): how
    many live deals, their total value, and the best-scored few (ties: the
    oldest deal first)."""
    from minicrm.services.deals.reading import read_deals

    ensure_fresh_scores(session, now=now)
    columns = {stage: PipelineColumn(stage) for stage in config.all_stages(session)}
    alive = Deal.deleted_at.is_(None)
    totals = session.execute(
        select(Deal.stage, func.count(), func.coalesce(func.sum(Deal.value_cents), 0))
        .where(alive)
        .group_by(Deal.stage)
    )
    for stage, count, value in totals:
        if stage in columns:
            columns[stage].count, columns[stage].value_cents = count, value
    if top <= 0:
        return list(columns.values())
    ranked = (
        select(
            Deal.id,
            func.row_number()
            .over(partition_by=Deal.stage, order_by=(Deal.score.desc(), Deal.id))
            .label("rank"),
        )
        .where(alive)
        .subquery()
    )
    best = (
        session.execute(
            select(Deal)
            .join(ranked, ranked.c.id == Deal.id)
            .where(ranked.c.rank <= top)
            .order_by(Deal.stage, Deal.score.desc(), Deal.id)
        )
        .scalars()
        .all()
    )
    for deal in read_deals(session, list(best)):
        if deal.stage in columns:
            columns[deal.stage].top.append(deal)
    return list(columns.values())
