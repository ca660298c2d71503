"""Changing the list of open stages: renaming a stage (its deals and history
take the new name), adding, reordering, and dropping one by merging its
deals into another (each move recorded)."""

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, insert, literal, or_, select, update
from sqlmodel import Session

from minicrm.errors import ValidationError
from minicrm.models import WON, Contact, Deal, Setting, StageChange
from minicrm.services.records import config
from minicrm.services.records.deals import CLOSED, mirror_current_deals


@dataclass(frozen=True)
class StagePlan:
    """What `change_stages` will do, worked out before anything is written,
    so a front end can ask before deals of several stages are merged."""

    stages: tuple[str, ...]  # the new open stages
    renames: dict[str, str]  # OLD -> NEW: the stage keeps its deals and history
    renamed_deals: dict[str, int]  # OLD -> deals in it
    move_to: str | None
    moving: dict[str, int]  # dropped stage -> its deals, which move to `move_to`

    @property
    def moving_count(self) -> int:
        return sum(self.moving.values())


@dataclass(frozen=True)
class StagesChanged:
    value: str  # the stored setting
    plan: StagePlan
    rules_renamed: tuple[str, ...] = ()  # scoring rules now naming the new stages
    rules_missed: tuple[str, ...] = ()  # rules that still name a renamed stage

    def to_json(self) -> dict:
        plan = self.plan
        return {
            "key": "stages",
            "value": self.value,
            "renamed": {
                old: {"to": new, "deals": plan.renamed_deals[old]}
                for old, new in plan.renames.items()
            },
            "moved": {s: {"to": plan.move_to, "deals": n} for s, n in plan.moving.items()},
        }


def plan_stages(
    session: Session,
    value: str,
    *,
    move_to: str | None = None,
    renames: Sequence[tuple[str, str]] = (),
) -> StagePlan:
    """Check a new stage list with its renames (OLD, NEW) and --move-to.
    A current stage neither kept nor renamed is dropped: its deals move to
    `move_to`; without it, dropping a stage that deals are in is refused."""
    stages = _stage_list(value)
    current = config.open_stages(session)
    mapping = _checked_renames(renames, current, stages)
    target = _checked_target(move_to, stages) if move_to is not None else None
    dropped = [s for s in current if s not in stages and s not in mapping]
    counts = dict(
        session.execute(
            select(Deal.stage, func.count())
            .where(Deal.stage.in_([*mapping, *dropped]))
            .group_by(Deal.stage)
        ).all()
    )
    moving = {s: counts[s] for s in dropped if counts.get(s)}
    if moving and target is None:
        held = ", ".join(f"{stage} ({count} deals)" for stage, count in moving.items())
        raise ValidationError(
            f"cannot drop stages that deals are in: {held}; "
            "keep them, --rename OLD=NEW, or --move-to another stage"
        )
    renamed_deals = {old: counts.get(old, 0) for old in mapping}
    return StagePlan(tuple(stages), mapping, renamed_deals, target, moving)


def change_stages(
    session: Session,
    value: str,
    *,
    move_to: str | None = None,
    renames: Sequence[tuple[str, str]] = (),
    now: datetime | None = None,
) -> StagesChanged:
    """Rename, extend, reorder or drop the open stages (see plan_stages).
    A renamed stage's deals, contacts, history and the scoring rules naming
    it take the new name, so every report reads as before under it; the
    deals of a dropped stage move to `move_to`, each move recorded."""
    now = now or datetime.now(UTC)
    plan = plan_stages(session, value, move_to=move_to, renames=renames)
    rules_renamed: tuple[str, ...] = ()
    rules_missed: tuple[str, ...] = ()
    if plan.renames:
        _rename_everywhere(session, plan.renames)
        rules_renamed, rules_missed = _rename_in_rules(session, plan.renames, now)
    if plan.moving:
        _move_all(session, list(plan.moving), plan.move_to, now)
    stored = config.set_setting(session, "stages", value, now=now)
    return StagesChanged(stored, plan, rules_renamed, rules_missed)


def _stage_list(value: str) -> list[str]:
    """The new list as config stores it. Its shape is checked here first
    (config checks it again on storing) so that a malformed list is
    reported before anything about the deals in it."""
    stages = [s.strip().casefold() for s in value.split(",") if s.strip()]
    if not stages:
        raise ValidationError("stages needs at least one open stage, e.g. 'lead,qualified'")
    if any(s in CLOSED for s in stages):
        raise ValidationError("won and lost always exist; list only the open stages")
    if len(set(stages)) != len(stages):
        raise ValidationError("a stage is listed twice")
    if any(not all(ch.isalnum() or ch in "-_ " for ch in s) for s in stages):
        raise ValidationError("stage names may hold letters, digits, spaces, - and _")
    return stages


def _checked_renames(
    pairs: Sequence[tuple[str, str]], current: list[str], stages: list[str]
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for old_text, new_text in pairs:
        old, new = old_text.strip().casefold(), new_text.strip().casefold()
        shown = f"--rename {old_text}={new_text}"
        if old in CLOSED:
            raise ValidationError(f"{shown}: won and lost keep their names")
        if old not in current:
            raise ValidationError(
                f"{shown}: {old_text!r} is not a current stage; stages: {', '.join(current)}"
            )
        if new not in stages:
            raise ValidationError(f"{shown}: {new_text!r} is not in the new stage list")
        if old == new:
            raise ValidationError(f"{shown} renames a stage to itself")
        if old in mapping:
            raise ValidationError(f"{shown}: {old} is renamed twice")
        if new in mapping.values():
            raise ValidationError(
                f"{shown}: two stages renamed to {new}; rename one and --move-to the other"
            )
        mapping[old] = new
    kept = {s for s in current if s in stages and s not in mapping}
    for old, new in mapping.items():
        if new in kept:
            raise ValidationError(
                f"--rename {old}={new}: {new} is a stage already kept; renaming into it "
                f"would merge them (leave {old} out and --move-to {new} instead)"
            )
    return mapping


def _checked_target(move_to: str, stages: list[str]) -> str:
    target = move_to.strip().casefold()
    if target not in (*stages, WON):
        raise ValidationError(f"--move-to must be one of the new stages or won, not {move_to!r}")
    return target


def _rename_everywhere(session: Session, mapping: dict[str, str]) -> None:
    """Every row naming an OLD stage names its NEW one: deals (live or in
    the trash), their contacts' copy and the whole stage history. One CASE
    per column renames all stages at once, so a swap (a=b, b=a) works.
    Versions move on (an editor or an import undo holding the old name is
    refused); updated_at does not: nothing happened to the customer."""
    olds = list(mapping)

    def renamed(column):
        return case(mapping, value=column, else_=column)

    no_sync = {"synchronize_session": False}  # nothing renamed is loaded in this session
    session.execute(
        update(Deal)
        .where(or_(Deal.stage.in_(olds), Deal.lost_at_stage.in_(olds)))
        .values(
            stage=renamed(Deal.stage), lost_at_stage=renamed(Deal.lost_at_stage),
            version=Deal.version + 1,
        ),
        execution_options=no_sync,
    )  # fmt: skip
    session.execute(
        update(Contact)
        .where(Contact.stage.in_(olds))
        .values(stage=renamed(Contact.stage), version=Contact.version + 1),
        execution_options=no_sync,
    )
    session.execute(
        update(StageChange)
        .where(or_(StageChange.from_stage.in_(olds), StageChange.to_stage.in_(olds)))
        .values(from_stage=renamed(StageChange.from_stage), to_stage=renamed(StageChange.to_stage)),
        execution_options=no_sync,
    )
    session.flush()


def _move_all(session: Session, stages: list[str], target: str, now: datetime) -> None:
    """Every live deal in a dropped stage moves to `target`, each move booked."""
    from minicrm.services.scoring.scores import recompute_scores

    in_dropped = Deal.stage.in_(stages)
    contact_ids = [
        cid
        for cid in session.execute(select(Deal.contact_id).where(in_dropped).distinct()).scalars()
        if cid is not None
    ]
    session.execute(
        insert(StageChange).from_select(
            ["deal_id", "contact_id", "from_stage", "to_stage", "at", "reason"],
            select(
                Deal.id, Deal.contact_id, Deal.stage, literal(target),
                literal(now, StageChange.at.type), literal("stage list changed"),
            ).where(in_dropped),
        )
    )  # fmt: skip
    closed_at = literal(now, Deal.closed_at.type) if target in CLOSED else None
    session.execute(
        update(Deal)
        .where(in_dropped)
        .values(
            stage=target, stage_entered_at=now, closed_at=closed_at, updated_at=now,
            version=Deal.version + 1,
        )
    )  # fmt: skip
    mirror_current_deals(session, contact_ids)
    session.execute(
        update(Contact)
        .where(Contact.id.in_(contact_ids))
        .values(updated_at=now, version=Contact.version + 1)
    )
    session.flush()
    recompute_scores(session, contact_ids, now=now)


# A rule's condition as written in the rules file, on one line.
_WHEN_LINE = re.compile(r"\s*when\s*=")
_LIST_PARTS = ("string", "number", "-", ",", "(", "[")


def _rename_in_rules(
    session: Session, mapping: dict[str, str], now: datetime
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Conditions comparing `stage` with a renamed stage name the new one,
    so scores stay as they were. Each one-line `when` is edited in place
    (comments and layout kept); the names of the rules edited, and of any
    still naming an old stage (written in a way this does not edit)."""
    from minicrm.services.scoring.scores import SETTING_KEY, parse_rules, rules_text

    text = rules_text(session)
    edited = "".join(_renamed_when_line(line, mapping) for line in text.splitlines(True))
    if edited != text:
        try:
            parse_rules(edited)
        except ValidationError:
            edited = text
    before, after = _conditions(text), _conditions(edited)
    renamed = tuple(name for name, when in after.items() if when != before.get(name))
    missed = tuple(
        name
        for name, when in before.items()
        if after.get(name) == when and _renamed_expression(when, mapping) != when
    )
    if renamed:
        # Stored as is, without the recompute `crm score rules --load` does:
        # the rules match exactly the deals they matched under the old names.
        row = session.get(Setting, SETTING_KEY)
        if row is None:
            session.add(Setting(key=SETTING_KEY, value=edited, updated_at=now))
        else:
            row.value, row.updated_at = edited, now
        session.flush()
    return renamed, missed


def _conditions(text: str) -> dict[str, str]:
    """Each rule's `when`, by the rule's name."""
    try:
        tables = tomllib.loads(text).get("rule", [])
    except tomllib.TOMLDecodeError:
        return {}
    return {
        str(t.get("name", "")).strip(): t["when"]
        for t in tables
        if isinstance(t, dict) and isinstance(t.get("when"), str)
    }


def _renamed_when_line(line: str, mapping: dict[str, str]) -> str:
    if not _WHEN_LINE.match(line):
        return line
    when = _when_of(line)
    if when is None:
        return line
    wanted = _renamed_expression(when, mapping)
    if wanted == when:
        return line
    ending = line[len(line.rstrip("\r\n")) :]
    indent = line[: len(line) - len(line.lstrip())]
    candidates = [f"{indent}when = {json.dumps(wanted, ensure_ascii=False)}{ending}"]
    if line.count(when) == 1:  # written without escapes: edit it where it stands
        candidates.insert(0, line.replace(when, wanted))
    return next((c for c in candidates if _when_of(c) == wanted), line)


def _when_of(line: str) -> str | None:
    try:
        when = tomllib.loads(line).get("when")
    except tomllib.TOMLDecodeError:
        return None
    return when if isinstance(when, str) else None


def _renamed_expression(when: str, mapping: dict[str, str]) -> str:
    """`when` with each stage name it compares `stage` with renamed."""
    from minicrm.services.scoring.rules import RuleError, tokenize

    try:
        tokens = tokenize(when)
    except RuleError:
        return when
    for token in reversed(_stage_literals(tokens)):
        new = mapping.get(token.value.strip().casefold())
        if new is not None:
            start, quote = token.column - 1, token.text[0]
            when = when[:start] + quote + new + quote + when[start + len(token.text) :]
    return when


def _stage_literals(tokens: list) -> list:
    """The strings compared with `stage`: stage == 'x', 'x' != stage,
    stage [not] in ('x', …)."""
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "string":
            continue
        before = i >= 2 and tokens[i - 1].kind == "op" and _is_word(tokens, i - 2, "stage")
        after = tokens[i + 1].kind == "op" and _is_word(tokens, i + 2, "stage")
        j = i - 1
        while j >= 0 and tokens[j].kind in _LIST_PARTS:
            j -= 1
        if _is_word(tokens, j, "in"):
            j -= 2 if _is_word(tokens, j - 1, "not") else 1
        listed = _is_word(tokens, j, "stage") and _is_word(tokens, j + 1, "in", "not")
        if before or after or listed:
            found.append(token)
    return found


def _is_word(tokens: list, index: int, *words: str) -> bool:
    return (
        0 <= index < len(tokens)
        and tokens[index].kind == "name"
        and tokens[index].value.casefold() in words
    )
