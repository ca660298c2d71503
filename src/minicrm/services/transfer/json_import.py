"""Restoring a `crm export all --format json` file (SPEC §10).

The export is a whole database, ids and history included, so it is restored
only into an empty one (no contacts, not even in the trash): merging it
into live data would renumber every reference, and that is what CSV or
vCard import with duplicate detection is for. Ids, timestamps, scores and
the funnel history are kept as they were, so exporting again gives the same
file. Fields the export may leave out (a follow-up's created_at, a
contact's stage_entered_at) are filled in from what is there. The contacts
are recorded as an import batch, so `crm import --undo` takes them back
(the settings it set stay).
"""

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from minicrm.errors import UserError, ValidationError
from minicrm.models import (
    Cadence,
    Company,
    CompanyTag,
    Contact,
    ContactTag,
    Deal,
    DealLine,
    FollowUp,
    ImportBatch,
    ImportChange,
    Interaction,
    Product,
    Setting,
    StageChange,
)
from minicrm.services.contacts.editing import clean_contact_fields, dump_extra
from minicrm.services.followups.interactions import normalize_kind
from minicrm.services.records import config
from minicrm.services.records.validation import clean_text, money_to_cents, normalize_tag
from minicrm.services.transfer import backup
from minicrm.services.transfer.bulk import write_manifest
from minicrm.services.transfer.bulk_load import sqlite_bulk_load
from minicrm.services.transfer.cleaning import Folder
from minicrm.services.transfer.importing import ImportRejected, ImportReport
from minicrm.settings import KNOWN_SETTINGS
from minicrm.text import search_text

SECTIONS = (
    "contacts", "interactions", "followups", "stage_changes", "cadences", "companies",
    "products", "deals",
)  # fmt: skip
COPIED = ("company", "title", "city", "region", "country", "industry", "source", "owner")
INSERT_CHUNK = 5_000


def restore_export(
    session: Session, data: Any, *, file_name: str, now: datetime | None = None
) -> ImportReport:
    """Load an export into this empty database; returns what was created."""
    now = now or datetime.now(UTC)
    sections = _sections(data, file_name)
    _require_empty(session)
    for key, value in sections["settings"].items():
        _restore_setting(session, file_name, key, value, now)
    report = ImportReport(file_name, "json", dry_run=False)
    with_deals = "deals" in data  # else a file of the release before deals
    moves = _rows(sections["stage_changes"], "stage change", _stage_change, report)
    entered = {}
    for move in sorted(moves, key=lambda m: (m["at"], m["id"])):
        entered[move["contact_id"]] = move["at"]
    folder, contacts, links = Folder(), [], []
    for item in sections["contacts"]:
        try:
            row, tags = _contact(session, item, entered, folder, with_deals)
        except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            report.rejected.append((0, f"contact {_label(item)}: {_why(exc)}"))
            continue
        contacts.append(row)
        links += [(row["id"], tag) for tag in tags]
    interactions = _rows(sections["interactions"], "interaction", _interaction, report)
    followups = _rows(sections["followups"], "follow-up", lambda i: _followup(i, now), report)
    cadences = _rows(sections["cadences"], "cadence", lambda i: _cadence(i, now), report)
    company_rows = _rows(sections["companies"], "company", backup.company_row, report)
    companies = [row for row, _tags in company_rows]
    company_links = [(row["id"], tag) for row, tags in company_rows for tag in tags]
    products = _rows(sections["products"], "product", lambda i: backup.product_row(i, now), report)
    deal_rows = _rows(sections["deals"], "deal", backup.deal_rows, report)
    deals = [row for row, _lines in deal_rows]
    lines = [line for _row, deal_lines in deal_rows for line in deal_lines]
    if not with_deals and not report.rejected:
        companies, deals = backup.deals_of_old_contacts(contacts, moves, interactions)
    others = [r for r in moves + interactions + followups + cadences + deals if r["contact_id"]]
    _check_references(contacts, others, report)
    _check_deal_references(companies, products, deals, lines, contacts, report)
    _check_deal_references_of(deals, moves + interactions + followups, report)
    if report.rejected:
        raise ImportRejected(report)
    batch = ImportBatch(file_name=file_name, format="json", created_at=now, counts="{}")
    session.add(batch)
    session.flush()
    report.batch_id, report.created = batch.id, len(contacts)
    tables = [(Company, companies), (Product, products), (Contact, contacts), (Deal, deals),
              (DealLine, lines), (StageChange, moves), (Interaction, interactions),
              (FollowUp, followups), (Cadence, cadences)]  # fmt: skip
    _write(session, batch.id, tables, links, company_links)
    write_manifest(session, batch.id, {
        "companies": [c["id"] for c in companies], "products": [p["id"] for p in products],
        "deals": [d["id"] for d in deals if d["contact_id"] is None],
    })  # fmt: skip
    batch.counts = json.dumps(report.counts())
    session.flush()
    return report


def _sections(data: Any, file_name: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("contacts"), list):
        raise UserError(
            f"{file_name} is not a minicrm export: expected an object with a contacts list "
            "(from `crm export all --format json`)"
        )
    sections = {key: data.get(key) or [] for key in SECTIONS}
    sections["settings"] = data.get("settings") or {}
    for key in SECTIONS:
        if not isinstance(sections[key], list):
            raise UserError(f"{file_name}: {key} must be a list")
    if not isinstance(sections["settings"], dict):
        raise UserError(f"{file_name}: settings must be an object")
    return sections


def _require_empty(session: Session) -> None:
    count = session.execute(select(func.count()).select_from(Contact)).scalar()
    if count:
        raise UserError(
            f"a minicrm JSON export can only be imported into an empty database (this one "
            f"has {count} contacts); use a new one: crm --db NEW.db import FILE"
        )


def _restore_setting(session, file_name: str, key: str, value: Any, now: datetime) -> None:
    """Checked as `crm config set` (or `crm score rules --load`) checks it,
    then stored exactly as exported: the checks tidy whitespace, which an
    exported value no longer needs."""
    if key not in KNOWN_SETTINGS:
        raise UserError(f"{file_name}: unknown setting {key!r} in settings")
    if value is None:
        return
    value = str(value)
    if key == "scoring_rules":
        from minicrm.services.scoring.scores import load_rules

        load_rules(session, value, now=now)  # nothing to rescore yet: the database is empty
        return
    stored = config.set_setting(session, key, value, now=now)
    if stored != value and stored == value.strip():
        session.get(Setting, key).value = value
        session.info.get("minicrm.settings", {}).pop(key, None)
        session.flush()


def _rows(items: list, what: str, convert, report: ImportReport) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        try:
            rows.append(convert(item))
        except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            report.rejected.append((0, f"{what} {_label(item)}: {_why(exc)}"))
    return rows


def _label(item: Any) -> str:
    return f"#{item.get('id')}" if isinstance(item, dict) else repr(item)[:40]


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"{exc.args[0]} is missing"
    return " ".join(getattr(exc, "message", str(exc)).split())


def _id(value: Any, what: str = "id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive whole number, not {value!r}")
    return value


def _time(value: Any, what: str, *, required: bool = True) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO 8601 time, not {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _contact(
    session, item: dict, entered: dict, folder: Folder, with_deals: bool
) -> tuple[dict, list[str]]:
    raw = {key: item.get(key) for key in ("name", "email", "phone", *COPIED, "stage", "value")}
    raw["notes"], raw["lost_reason"] = item.get("notes"), item.get("lost_reason")
    raw["_had_reason"] = True  # restored as it was, even a lost contact without a reason
    values = clean_contact_fields(session, raw, creating=True)
    extra = item.get("extra") or {}
    if not isinstance(extra, dict):
        raise ValueError("extra must be an object")
    contact_id = _id(item["id"])
    created = _time(item["created_at"], "created_at")
    stage_entered = _time(item.get("stage_entered_at"), "stage_entered_at", required=False)
    row = {
        "id": contact_id, **values,
        "stage_entered_at": stage_entered or entered.get(contact_id, created),
        "extra": dump_extra(extra), "score": int(item.get("score") or 0), "created_at": created,
        "updated_at": _time(item.get("updated_at") or item["created_at"], "updated_at"),
        "deleted_at": _time(item.get("deleted_at"), "deleted_at", required=False), "version": 1,
    }  # fmt: skip
    row["company_id"] = None
    if with_deals:
        row["company_id"] = backup._id(item.get("company_id"), "company_id", optional=True)
        if item.get("stage") is None:  # a contact without a deal mirrors none
            row.update(stage=None, stage_entered_at=None, value_cents=None, lost_reason=None)
    row["name_folded"], row["search_text"] = folder.folded_row(row)
    return row, list(dict.fromkeys(normalize_tag(t) for t in item.get("tags") or []))


def _stage_change(item: dict) -> dict[str, Any]:
    return {
        "id": _id(item["id"]),
        "contact_id": backup._id(item.get("contact_id"), "contact_id", optional=True),
        "deal_id": backup._id(item.get("deal_id"), "deal_id", optional=True),
        "from_stage": clean_text(item.get("from_stage")),
        "to_stage": clean_text(item["to_stage"]) or "",
        "at": _time(item["at"], "at"),
        "reason": clean_text(item.get("reason")),
    }


def _interaction(item: dict) -> dict[str, Any]:
    summary = clean_text(item.get("summary"))
    at = _time(item["at"], "at")
    return {
        "id": _id(item["id"]),
        "contact_id": _id(item["contact_id"], "contact_id"),
        "deal_id": backup._id(item.get("deal_id"), "deal_id", optional=True),
        "kind": normalize_kind(item["kind"], events=True),
        "at": at,
        "summary": summary,
        "search_text": search_text(summary),
        "amount_cents": money_to_cents(item.get("amount"), field="amount"),
        "owner": clean_text(item.get("owner")),
        # When it was logged, if the export says; else when it happened.
        "created_at": _time(item.get("created_at") or item["at"], "created_at"),
    }


def _followup(item: dict, now: datetime) -> dict[str, Any]:
    created = _time(item.get("created_at"), "created_at", required=False) or now
    return {
        "id": _id(item["id"]),
        "contact_id": _id(item["contact_id"], "contact_id"),
        "deal_id": backup._id(item.get("deal_id"), "deal_id", optional=True),
        "due_at": _time(item["due_at"], "due_at"),
        "note": clean_text(item.get("note")),
        "done_at": _time(item.get("done_at"), "done_at", required=False),
        "recurrence": clean_text(item.get("recurrence")),
        "snoozed": int(item.get("snoozed") or 0),
        "owner": clean_text(item.get("owner")),
        "created_at": created,
        "updated_at": _time(item.get("updated_at"), "updated_at", required=False) or created,
        "version": 1,
        # Ids are kept, so the series label needs no remapping; an older file
        # has neither key, and each row is then a series of its own.
        "series_id": backup._id(item.get("series_id"), "series_id", optional=True),
        "series_revision": int(item.get("series_revision") or 0),
    }


def _cadence(item: dict, now: datetime) -> dict[str, Any]:
    contact_id = item.get("contact_id")
    return {
        "id": _id(item["id"]),
        "contact_id": _id(contact_id, "contact_id") if contact_id is not None else None,
        "tag": clean_text(item.get("tag")),
        "every_days": _id(item["every_days"], "every_days"),
        "created_at": _time(item.get("created_at"), "created_at", required=False) or now,
    }


def _check_references(contacts: list, others: list, report: ImportReport) -> None:
    ids = [c["id"] for c in contacts]
    if len(set(ids)) != len(ids):
        report.rejected.append((0, "two contacts share an id"))
    missing = sorted({row["contact_id"] for row in others} - set(ids))
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:10])
        report.rejected.append((0, f"history refers to contacts not in the file: {shown}"))


def _check_deal_references(companies, products, deals, lines, contacts, report) -> None:
    for what, rows in (("companies", companies), ("products", products), ("deals", deals),
                       ("deal lines", lines)):  # fmt: skip
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids):
            report.rejected.append((0, f"two {what} share an id"))
    for what, rows, key, targets in (
        ("companies", contacts + deals, "company_id", companies),
        ("products", lines, "product_id", products),
    ):
        known = {t["id"] for t in targets}
        missing = sorted({r[key] for r in rows if r.get(key)} - known)
        if missing:
            shown = ", ".join(f"#{i}" for i in missing[:10])
            report.rejected.append((0, f"the file refers to {what} not in it: {shown}"))


def _check_deal_references_of(deals, rows, report) -> None:
    known = {d["id"] for d in deals}
    missing = sorted({r["deal_id"] for r in rows if r.get("deal_id")} - known)
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:10])
        report.rejected.append((0, f"history refers to deals not in the file: {shown}"))
    if any(r.get("deal_id") is None and "to_stage" in r for r in rows):
        report.rejected.append((0, "a stage change names no deal"))


def _write(session, batch_id: int, tables, links, company_links=()) -> None:
    from minicrm.services.transfer.writing import tag_ids as find_tag_ids

    connection = session.connection()
    tag_ids = find_tag_ids(connection, {tag for _cid, tag in [*links, *company_links]})
    with sqlite_bulk_load(connection, indexes=True):
        for model, rows in tables:
            for start in range(0, len(rows), INSERT_CHUNK):
                connection.execute(insert(model.__table__), rows[start : start + INSERT_CHUNK])
        tags = [{"contact_id": c, "tag_id": tag_ids[t]} for c, t in links]
        company_tags = [{"company_id": c, "tag_id": tag_ids[t]} for c, t in company_links]
        if company_tags:
            connection.execute(insert(CompanyTag.__table__), company_tags)
        contacts = dict(tables)[Contact]
        changes = [
            {"batch_id": batch_id, "contact_id": c["id"], "action": "created"} for c in contacts
        ]
        for table, rows in ((ContactTag.__table__, tags), (ImportChange.__table__, changes)):
            if rows:
                connection.execute(insert(table), rows)
    if connection.dialect.name == "postgresql":  # ids were given, not drawn
        for table in ("contact", "stage_change", "interaction", "followup", "cadence",
                      "company", "product", "deal", "deal_line"):  # fmt: skip
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"coalesce(max(id), 1)) FROM {table}")
            )  # fmt: skip
