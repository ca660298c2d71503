"""Exports: contacts as CSV, JSON or vCard, everything as one JSON document.

Everything streams into a text file object the caller opens, item by item,
so 100,000 contacts and a million interactions never sit in memory at once.

`crm export all --format json` is a lossless backup: SPEC §10's five keys,
plus `cadences`, `companies`, `products` and `deals` (with their `lines`;
see services/transfer/backup.py). It carries every contact (trashed ones too, with
`deleted_at`, and `stage_entered_at`), every interaction and follow-up
(done ones too) with their `created_at`/`updated_at`, every stage change,
and the settings stored in the database (defaults are not written; the SMTP
password never is stored). Ids are kept so references resolve on import.
Import batches and the reminder ledger are bookkeeping, not data, and stay out.

Open follow-ups as iCalendar are calendar_export.py's; the names are
re-exported here for the callers that still import them from this module.

Module-level imports stay light (no SQLModel, no file-format libraries):
commands/_output takes csv_cell from here for every `--csv` listing.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from minicrm.services.transfer.calendar_export import (  # noqa: F401 (re-exported)
    ICS_KINDS,
    followup_uid,
    followups_to_ics,
    open_followups_for_export,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from minicrm.models import ContactRead

# The contact object of SPEC §10, in its documented order: the CSV header.
CONTACT_COLUMNS = (
    "id", "name", "email", "phone", "company", "company_id", "title", "city", "region",
    "country", "industry", "source", "stage", "value", "owner", "tags", "notes", "extra",
    "score", "lost_reason", "open_deals", "created_at", "updated_at",
)  # fmt: skip
ALL_SECTIONS = (
    "contacts", "interactions", "followups", "stage_changes", "settings", "cadences",
    "companies", "products", "deals",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000  # rows fetched per round trip while streaming


# ---------------------------------------------------------------- contacts


# A negative number (-31, -12.50) is a number to a spreadsheet, not a formula.
_NEGATIVE_NUMBER = re.compile(r"-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize_formula(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection):
    a cell starting with = + - @ tab or CR gets a leading apostrophe, except
    a negative number. A leading + stays quoted: +34612345678 is a phone
    a spreadsheet would turn into a number without its +."""
    if not value.startswith(FORMULA_STARTS) or _NEGATIVE_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_cell(value: Any) -> str:
    """One CSV cell: lists comma-joined, objects as JSON, then neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return neutralize_formula(str(value))


def write_contacts_csv(contacts: Iterable[ContactRead], out: TextIO) -> int:
    """The SPEC contact keys as header, one row per contact; returns the count.
    `out` should be opened with newline="" (rows end in CRLF, RFC 4180)."""
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF also gets a bare CR quoted
    writer.writerow(CONTACT_COLUMNS)
    count = 0
    for contact in contacts:
        data = contact.to_json()
        writer.writerow([csv_cell(data[column]) for column in CONTACT_COLUMNS])
        count += 1
    return count


def write_contacts_json(contacts: Iterable[ContactRead], out: TextIO) -> int:
    """A JSON array of SPEC contact objects; returns the count."""
    count = _write_array((c.to_json() for c in contacts), out, indent="")
    out.write("\n")
    return count


def write_contacts_vcf(
    contacts: Iterable[ContactRead], out: TextIO, *, version: str = "3.0"
) -> int:
    from minicrm.services.transfer.vcard_writing import write_vcards

    return write_vcards(contacts, out, version=version)


# -------------------------------------------------------------- everything


def write_all_json(session: Session, out: TextIO, *, now: datetime | None = None) -> dict:
    """Everything, as one JSON object streamed section by section (see the
    module docstring for what it holds); returns the count per section."""
    _snapshot(session)
    counts: dict[str, int] = {}
    out.write("{")
    for index, (key, section) in enumerate(_sections(session, now or datetime.now(UTC))):
        out.write(",\n  " if index else "\n  ")
        out.write(f"{json.dumps(key)}: ")
        if isinstance(section, dict):
            out.write(_dumps(section))
            counts[key] = len(section)
        else:
            counts[key] = _write_array(section, out, indent="  ")
    out.write("\n}\n")
    return counts


def export_all_json(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """The same document as write_all_json, as a dict (tests, small data)."""
    _snapshot(session)
    return {
        key: section if isinstance(section, dict) else list(section)
        for key, section in _sections(session, now or datetime.now(UTC))
    }


def _snapshot(session: Session) -> None:
    """One consistent view across the sections' queries. SQLite's read
    transaction already is one; PostgreSQL's default (READ COMMITTED) sees
    each statement's own, so ask for REPEATABLE READ before the first query."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _sections(session: Session, now: datetime) -> Iterator[tuple[str, Any]]:
    """(key, lazy rows or a dict) in ALL_SECTIONS order; queries run as consumed."""
    yield "contacts", _all_contacts(session)
    yield "interactions", _all_interactions(session)
    yield "followups", _all_followups(session, now)
    yield "stage_changes", _all_stage_changes(session)
    yield "settings", _stored_settings(session)
    yield "cadences", _all_cadences(session)
    from minicrm.services.transfer import backup

    yield "companies", backup.all_companies(session)
    yield "products", backup.all_products(session)
    yield "deals", backup.all_deals(session)


def _all_contacts(session: Session) -> Iterator[dict[str, Any]]:
    from sqlalchemy import select

    from minicrm.models import Contact
    from minicrm.services.records.contacts import read_contacts

    query = select(Contact).order_by(Contact.id).execution_options(yield_per=BATCH)
    for batch in session.execute(query).scalars().partitions():
        for contact in read_contacts(session, list(batch)):
            yield {
                **contact.to_json(),
                "stage_entered_at": _iso(contact.stage_entered_at),
                "deleted_at": _iso(contact.deleted_at),
            }


def _all_interactions(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import Interaction, InteractionRead

    for row in _rows(session, Interaction, *InteractionRead.model_fields, "created_at"):
        # to_json reads attributes only, and a row has the same ones: one
        # definition of the keys without a million pydantic objects.
        yield {**InteractionRead.to_json(row), "created_at": _iso(row.created_at)}


def _all_followups(session: Session, now: datetime) -> Iterator[dict[str, Any]]:
    from sqlalchemy import select

    from minicrm.models import Contact, FollowUp, FollowUpRead

    columns = [
        getattr(FollowUp, name) for name in FollowUpRead.model_fields if name != "contact_name"
    ]
    query = (
        select(
            *columns, Contact.name.label("contact_name"), FollowUp.created_at, FollowUp.updated_at
        )
        .join(Contact, Contact.id == FollowUp.contact_id)
        .order_by(FollowUp.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query).mappings():
        followup = FollowUpRead.model_construct(**row)
        yield {
            **followup.to_json(now),
            # Beyond SPEC's follow-up object: what keeps a recurring one's
            # calendar entry (its UID and SEQUENCE) the same after a restore.
            "series_id": followup.series_id,
            "series_revision": followup.series_revision,
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
        }


def _all_stage_changes(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import StageChange, StageChangeRead

    for row in _rows(session, StageChange, *StageChangeRead.model_fields):
        yield StageChangeRead.to_json(row)  # as for interactions


def _all_cadences(session: Session) -> Iterator[dict[str, Any]]:
    from minicrm.models import Cadence

    for row in _rows(session, Cadence, "id", "contact_id", "tag", "every_days", "created_at"):
        yield {**row._asdict(), "created_at": _iso(row.created_at)}


def _stored_settings(session: Session) -> dict[str, str]:
    from sqlalchemy import select

    from minicrm.models import Setting
    from minicrm.services.records.score_day import SCORES_DAY_KEY

    # The day the scores were computed for is bookkeeping, not a setting: a
    # restored database recomputes its scores on first read.
    rows = session.execute(
        select(Setting.key, Setting.value)
        .where(Setting.key != SCORES_DAY_KEY)
        .order_by(Setting.key)
    )
    return {key: value for key, value in rows}


def _rows(session: Session, table: Any, *names: str) -> Iterator[Any]:
    """The named columns of a table, by id, streamed in batches."""
    from sqlalchemy import select

    query = select(*(getattr(table, name) for name in names)).order_by(table.id)
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _write_array(items: Iterable[dict[str, Any]], out: TextIO, *, indent: str) -> int:
    """A JSON array, one item per line, written as the items come."""
    count = 0
    for count, item in enumerate(items, start=1):
        out.write(f"[\n{indent}  " if count == 1 else f",\n{indent}  ")
        out.write(_dumps(item))
    out.write(f"\n{indent}]" if count else "[]")
    return count


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
