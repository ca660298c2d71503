"""Importing contacts: every row validated as `crm add` validates it,
duplicates found, everything written in the caller's one transaction, and
the run recorded as a batch that `crm import --undo` can take back.

Rows come from any reader (CSV, vCard) as csv_import.SourceRow and are
checked and written a chunk at a time, so a 100,000-row file never sits in
memory as objects. A row that cannot be stored is rejected with its line
and reason; any rejection makes the whole import write nothing (writing
stops, and the caller's transaction is rolled back) unless `skip_invalid`.

History: a row may say when the contact was created (`created_at`), when it
entered its current stage (`stage_changed_at`) and, for a won or lost
contact, when it was closed (`closed_at`, used instead of stage_changed_at
for closed contacts). The import records the creation (from NULL, in the
first open stage) at created_at and the move into the current stage at
that later time; a contact with no such time is created in its stage. A
lost contact without a reason gets `unknown`.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import LOST, WON, ImportBatch
from minicrm.services.contacts.editing import clean_contact_fields
from minicrm.services.records import config
from minicrm.services.transfer.cleaning import Cleaner
from minicrm.services.transfer.csv_import import GUESSED_NAME, SourceRow
from minicrm.services.transfer.duplicates import Duplicates
from minicrm.services.transfer.headers import OWN_ID, TEXT_FIELDS
from minicrm.services.transfer.phones_ahead import PARALLEL_ROWS, phones_ahead

ON_DUPLICATE = ("skip", "update", "create")
UNKNOWN_LOST_REASON = "unknown"
CHUNK = 5_000
_TEXT_FIELDS = frozenset(TEXT_FIELDS)
Progress = Callable[[int], None]  # rows read so far


@dataclass(slots=True)
class Planned:
    """A valid row, ready to write."""

    line: int
    values: dict[str, Any]  # column values (clean_contact_fields'), None left out
    given: frozenset[str]  # the fields the row itself gave: an update touches only these
    tags: tuple[str, ...]
    extra: dict[str, Any] | None
    created_at: datetime
    entered_at: datetime  # when it entered its current stage
    stage_at: datetime | None  # that time, when the row gave it
    action: str = "create"  # create, update, skip (or reject, by the duplicate check)
    target: int | None = None  # update: the contact's id (None in a dry run of a merge)
    target_text: str = ""  # update/skip: "#12 Ann Lee (same email)" or "line 4 (same phone)"
    contact_id: int | None = None  # once created
    own_id: int | None = None  # the id our own export gave it (CSV id, vCard UID)


@dataclass
class ImportReport:
    file_name: str
    format: str
    dry_run: bool
    batch_id: int | None = None
    created: int = 0
    updated: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    notes: list[str] = field(default_factory=list)
    actions: list[tuple[int, str, str]] = field(default_factory=list)  # dry run: line, what, who

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": len(self.skipped),
            "rejected": len(self.rejected),
        }

    def to_json(self) -> dict[str, Any]:
        data = {
            "file_name": self.file_name,
            "format": self.format,
            "dry_run": self.dry_run,
            "batch_id": self.batch_id,
            **self.counts(),
            "notes": list(self.notes),
            "skipped_rows": [{"line": n, "reason": r} for n, r in self.skipped],
            "rejected_rows": [{"line": n, "reason": r} for n, r in self.rejected],
        }
        if self.dry_run:
            data["actions"] = [{"line": n, "action": a, "contact": c} for n, a, c in self.actions]
        return data


class ImportRejected(UserError):
    """Rows were rejected and `skip_invalid` was not given: nothing written."""

    def __init__(self, report: ImportReport):
        count = len(report.rejected)
        rows = "1 row" if count == 1 else f"{count} rows"
        outcome = "the import would write nothing" if report.dry_run else "nothing imported"
        super().__init__(f"{rows} rejected, {outcome} (use --skip-invalid to import the rest)")
        self.report = report


def import_rows(
    session: Session,
    rows: Iterable[SourceRow],
    *,
    file_name: str,
    format: str,
    on_duplicate: str = "skip",
    skip_invalid: bool = False,
    dry_run: bool = False,
    notes: list[str] | None = None,
    size_hint: int = 0,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check `rows` and (unless `dry_run`) write them as one import batch.

    `size_hint` is about how many rows there are (bulk-load tuning only).
    Raises ImportRejected when a row was rejected and not `skip_invalid`."""
    from minicrm.services.transfer.writing import BulkWriter

    if on_duplicate not in ON_DUPLICATE:
        raise UserError(f"--on-duplicate must be one of: {', '.join(ON_DUPLICATE)}")
    now = (now or datetime.now(UTC)).replace(microsecond=0)  # the bulk writer keeps seconds
    report = ImportReport(file_name, format, dry_run, notes=list(notes or []))
    writer = None
    if not dry_run:
        batch = ImportBatch(file_name=file_name, format=format, created_at=now, counts="{}")
        session.add(batch)
        session.flush()
        report.batch_id = batch.id
        writer = BulkWriter(session, batch.id, now, size_hint)
    checker = _RowChecker(session, now)
    duplicates = Duplicates(
        session, on_duplicate, preload=writer.drops_indexes if writer else False
    )
    updates: list[Planned] = []
    done = 0
    with (
        writer.bulk_load() if writer else nullcontext(),
        phones_ahead(
            _chunks(rows, CHUNK), checker.cleaner, parallel=size_hint >= PARALLEL_ROWS
        ) as chunks,
    ):
        for chunk in chunks:
            planned = checker.check(chunk, report)
            duplicates.classify(planned, report, ids=writer.next_id if writer else None)
            creates = [p for p in planned if p.action == "create"]
            report.created += len(creates)
            report.updated += sum(p.action == "update" for p in planned)
            updates += [p for p in planned if p.action == "update"]
            if dry_run:
                report.actions += [(p.line, p.action, _describe(p)) for p in planned]
            elif not (report.rejected and not skip_invalid):
                writer.create(creates)
            done += len(chunk)
            if progress:
                progress(done)
    if not done:
        raise UserError(f"{file_name} holds no contacts to import")
    if duplicates.strangers:
        report.notes.append(duplicates.strangers_note())
    report.rejected.sort()
    if dry_run:
        report.actions += [(line, "reject", reason) for line, reason in report.rejected]
        report.actions.sort()
    if report.rejected and not skip_invalid:
        raise ImportRejected(report)
    if writer:
        changed, completed = writer.update(updates)
        writer.finish()
        report.updated = len(changed)
        unchanged = sum(p.target not in changed and p.target not in completed for p in updates)
        if unchanged:
            report.notes.append(f"{unchanged} duplicate row(s) brought nothing new")
        if completed:
            report.notes.append(
                f"{len(completed)} contact(s) created from one row were completed by a later "
                "row of the same person"
            )
        session.get(ImportBatch, report.batch_id).counts = json.dumps(report.counts())
        session.flush()
    return report


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _who(p: Planned) -> str:
    email = p.values.get("email")
    return f"{p.values['name']} <{email}>" if email else p.values["name"]


def _describe(p: Planned) -> str:
    if p.action == "update":
        return f"{_who(p)} into {p.target_text}"
    if p.action == "skip":
        return f"{_who(p)}, duplicate of {p.target_text}"
    return _who(p)


# ---------------------------------------------------------------- validation


class _RowChecker:
    """Turns source rows into Planned rows or rejections, with the rules of
    `crm add` (clean_contact_fields) and caches for the costly normalisers."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        self.cleaner = Cleaner(config.get_setting(session, "default_region"))
        self.first_stage = config.first_stage(session)
        self.given_sets: dict[frozenset, frozenset] = {}  # one shared set per distinct shape

    def check(self, rows: list[SourceRow], report: ImportReport) -> list[Planned]:
        planned = []
        for row in rows:
            try:
                planned.append(self.plan(row))
            except (ValidationError, ValueError) as exc:
                message = exc.message if isinstance(exc, ValidationError) else str(exc)
                report.rejected.append((row.line, " ".join(message.split())))
        return planned

    def plan(self, row: SourceRow) -> Planned:
        if row.error:
            raise ValueError(row.error)
        fields = _exchange_addresses_aside(row.fields)
        if fields.get("extra"):
            fields = _settle_primary(_settle_primary(fields, "email", "@"), "phone", "digit")
        raw = {
            k: v
            for k, v in fields.items()
            if k in _TEXT_FIELDS and v is not None and not (isinstance(v, str) and not v.strip())
        }  # _present(v)
        given = frozenset(raw)
        if fields.get(GUESSED_NAME):
            given -= {"name"}
        given = self.given_sets.setdefault(given, given)
        if str(raw.get("stage", "")).strip().casefold() == LOST and "lost_reason" not in raw:
            raw["lost_reason"] = UNKNOWN_LOST_REASON
        email, phone = raw.pop("email", None), raw.pop("phone", None)
        values = clean_contact_fields(self.session, raw, creating=True)
        values["email"] = self.cleaner.email(email)
        values["phone"] = self.cleaner.phone(phone)
        values = {k: v for k, v in values.items() if v is not None}
        tags = ()
        if fields.get("tags"):
            tags = tuple(dict.fromkeys(self.cleaner.tag(t) for t in fields["tags"] if _present(t)))
        extra = None
        if fields.get("extra"):
            extra = {str(k): v for k, v in fields["extra"].items() if _present(v)} or None
        if "created_at" in fields or "stage_changed_at" in fields or "closed_at" in fields:
            created, entered, stage_at = _times(fields, values["stage"], self.now)
        else:
            created = entered = self.now
            stage_at = None
        if values["stage"] == self.first_stage:
            entered = created  # in the first stage since it was created
        return Planned(row.line, values, given, tags, extra, created, entered, stage_at,
                       own_id=fields.get(OWN_ID))  # fmt: skip


def _exchange_addresses_aside(fields: dict) -> dict:
    """Outlook writes an Exchange user's X.500 name (/o=ExchangeLabs/ou=…/
    cn=…) where an email belongs. It is no email, but it names the person
    in that Exchange, so it is kept as extra.exchange_dn and the row goes on
    with its other addresses."""
    extra = fields.get("extra") or {}
    keys = [k for k in extra if k.startswith("email_") and _is_exchange_dn(extra[k])]
    if not (_is_exchange_dn(fields.get("email")) or keys):
        return fields
    fields, extra = dict(fields), dict(extra)
    names = [fields.pop("email")] if _is_exchange_dn(fields.get("email")) else []
    names += [extra.pop(k) for k in keys]
    extra.setdefault("exchange_dn", "\n".join(names))
    if not fields.get("email"):  # the next address steps up
        numbered = sorted((int(k[6:]), k) for k in extra if k[:6] == "email_" and k[6:].isdigit())
        if numbered:
            fields["email"] = extra.pop(numbered[0][1])
    fields["extra"] = extra
    return fields


def _is_exchange_dn(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip()[:3].casefold() == "/o="


def _settle_primary(fields: dict, name: str, mark: str) -> dict:
    """With several phones (emails), one that is not a number (address) at
    all, like Outlook's placeholder 'BusinessPhone', steps aside for the
    first that is: it is kept in extra as phone_1, as the CSV reader does."""
    value, extra = fields.get(name), fields["extra"]
    others = sorted((int(k.rpartition("_")[2]), k) for k in extra
                    if k.startswith(name + "_") and k.rpartition("_")[2].isdigit())  # fmt: skip
    if not (isinstance(value, str) and others) or _looks_like(value, mark):
        return fields
    extra = dict(extra)
    found = next((k for _n, k in others if _looks_like(str(extra[k]), mark)), None)
    extra[f"{name}_1"] = value
    settled = {**fields, "extra": extra, name: extra.pop(found) if found else None}
    return settled


def _looks_like(value: str, mark: str) -> bool:
    return any(ch.isdigit() for ch in value) if mark == "digit" else mark in value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _times(fields: dict, stage: str, now: datetime) -> tuple[datetime, datetime, datetime | None]:
    created = fields.get("created_at")
    closed, changed = fields.get("closed_at"), fields.get("stage_changed_at")
    is_closed = stage in (WON, LOST)
    if closed and not is_closed:
        raise ValidationError(f"closed_at is set but the stage, {stage}, is open")
    stage_at = (closed if is_closed else None) or changed
    created = created or stage_at or now
    entered = stage_at or created
    for what, at in (("created_at", created), ("the stage change", entered)):
        if at > now:
            raise ValidationError(f"{what} {at:%Y-%m-%d %H:%M} is in the future")
    if entered < created:
        raise ValidationError(
            f"the stage was entered ({entered:%Y-%m-%d}) before the contact was created "
            f"({created:%Y-%m-%d})"
        )
    return created, entered, stage_at
