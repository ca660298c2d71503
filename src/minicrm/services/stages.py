"""The funnel: moving contacts between stages, the stage list, the board."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, insert, literal, select, update
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import LOST, WON, Contact, ContactRead, StageChange
from minicrm.services import config
from minicrm.services.contacts import read_contact, read_contacts, record_stage_move, resolve_ref

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
    """Move a contact to `stage` (forwards, backwards or skipping), recording
    the move at `at` (default now). Moving to lost needs a reason."""
    now = now or datetime.now(UTC)
    at = at or now
    contact = resolve_ref(session, ref, for_update=True)
    target = config.normalize_stage(session, stage)
    reason = (reason or "").strip() or None
    if target == contact.stage:
        raise UserError(f"#{contact.id} {contact.name} is already in {target}")
    if target == LOST and not reason:
        raise ValidationError(
            f"moving to lost needs a reason: --reason, e.g. {', '.join(LOST_REASONS)}",
            field="lost_reason",
        )
    _check_move_time(session, contact, at, now)
    old_stage = contact.stage
    contact.stage = target
    record_stage_move(session, contact, old_stage, at, reason)
    contact.updated_at = now
    contact.version += 1
    session.flush()
    from minicrm.services.scoring import refresh_score

    refresh_score(session, contact.id, now=now)
    return read_contact(session, contact)


def _check_move_time(session: Session, contact: Contact, at: datetime, now: datetime) -> None:
    if at > now:
        raise ValidationError("--at is in the future; record a move once it has happened")
    last = session.execute(
        select(func.max(StageChange.at)).where(StageChange.contact_id == contact.id)
    ).scalar()
    if last is not None and at < last:
        since = last.isoformat(timespec="minutes")
        raise ValidationError(
            f"--at is before this contact's last stage change ({since}); "
            "the funnel history must stay in order"
        )


def change_stages(
    session: Session, value: str, *, move_to: str | None = None, now: datetime | None = None
) -> str:
    """Rename or extend the open stages. Contacts in a stage that is dropped
    move to `move_to` (each move recorded); without it, dropping one that
    contacts are in is refused."""
    now = now or datetime.now(UTC)
    new_stages = [s.strip().casefold() for s in value.split(",") if s.strip()]
    dropped = [s for s in config.open_stages(session) if s not in new_stages]
    if move_to is not None and dropped:
        target = move_to.strip().casefold()
        if target not in (*new_stages, WON):
            raise ValidationError(
                f"--move-to must be one of the new stages or won, not {move_to!r}"
            )
        _move_all(session, dropped, target, now)
    return config.set_setting(session, "stages", value, now=now)


def _move_all(session: Session, stages: list[str], target: str, now: datetime) -> None:
    from minicrm.services.scoring import recompute_scores

    in_dropped = Contact.stage.in_(stages)
    moved = session.execute(select(Contact.id).where(in_dropped)).scalars().all()
    session.execute(
        insert(StageChange).from_select(
            ["contact_id", "from_stage", "to_stage", "at", "reason"],
            select(
                Contact.id, Contact.stage, literal(target), literal(now, StageChange.at.type),
                literal("stage list changed"),
            ).where(in_dropped),
        )
    )  # fmt: skip
    session.execute(
        update(Contact)
        .where(in_dropped)
        .values(stage=target, stage_entered_at=now, updated_at=now, version=Contact.version + 1)
    )
    session.flush()
    recompute_scores(session, moved, now=now)


@dataclass
class PipelineColumn:
    stage: str
    count: int = 0
    value_cents: int = 0
    top: list[ContactRead] = field(default_factory=list)

    def to_json(self) -> dict:
        from minicrm.models import cents_to_major

        return {
            "stage": self.stage,
            "count": self.count,
            "value": cents_to_major(self.value_cents),
            "top": [
                {"id": c.id, "name": c.name, "score": c.score, "value": c.value} for c in self.top
            ],
        }


def pipeline(session: Session, *, top: int = 3) -> list[PipelineColumn]:
    """One column per stage (open stages in order, then won and lost): how
    many live contacts, their total value, and the best-scored few."""
    columns = {stage: PipelineColumn(stage) for stage in config.all_stages(session)}
    alive = Contact.deleted_at.is_(None)
    totals = session.execute(
        select(Contact.stage, func.count(), func.coalesce(func.sum(Contact.value_cents), 0))
        .where(alive)
        .group_by(Contact.stage)
    )
    for stage, count, value in totals:
        if stage in columns:
            columns[stage].count, columns[stage].value_cents = count, value
    ranked = (
        select(
            Contact.id,
            func.row_number()
            .over(partition_by=Contact.stage, order_by=(Contact.score.desc(), Contact.id))
            .label("rank"),
        )
        .where(alive)
        .subquery()
    )
    best = (
        session.execute(
            select(Contact)
            .join(ranked, ranked.c.id == Contact.id)
            .where(ranked.c.rank <= top)
            .order_by(Contact.stage, Contact.score.desc(), Contact.id)
        )
        .scalars()
        .all()
    )
    for contact in read_contacts(session, list(best)):
        if contact.stage in columns:
            columns[contact.stage].top.append(contact)
    return list(columns.values())
