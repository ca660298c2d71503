"""`crm import FILE`: from a file on disk to import_rows or restore_export.

Reads the file (refusing a missing, empty, unreadable or binary one with
one clear line), decides its format (--format, else the extension, else a
look at the start of the text) and hands its rows to the one pipeline.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.services.records import config
from minicrm.services.transfer.csv_import import SourceRow, read_csv
from minicrm.services.transfer.decoding import decode
from minicrm.services.transfer.headers import parse_mapping
from minicrm.services.transfer.importing import ImportReport, import_rows

FORMATS = ("csv", "vcf", "json")
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".vcf": "vcf", ".vcard": "vcf",
              ".json": "json"}  # fmt: skip
IGNORED_SHOWN = 8
Progress = Callable[[int, int], None]  # rows done, rows in the file (about)


@dataclass
class ImportOptions:
    format: str | None = None
    mapping: list[str] = field(default_factory=list)  # COLUMN=field
    on_duplicate: str = "skip"
    skip_invalid: bool = False
    dry_run: bool = False
    encoding: str | None = None  # the file's, when it is not one we recognise


def import_file(
    session: Session,
    path: Path,
    options: ImportOptions,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    data: bytes | None = None,
) -> ImportReport:
    """Import the file at `path` (or `data`, read already: standard input)."""
    name = path.name
    data = read_file(path) if data is None else data
    if b"BEGIN:VCARD" in data[:4096].upper():
        from minicrm.services.transfer.vcard import mend_cut_characters

        data = mend_cut_characters(data)
    text, warning = decode(data, name, encoding=options.encoding)
    fmt = detect_format(path, text, options.format)
    if options.mapping and fmt != "csv":
        raise UserError("--map applies to CSV files only")
    notes = [warning] if warning else []
    if fmt == "json":
        return _import_json(session, text, name, options, now)
    if fmt == "vcf":
        rows, total = _vcard_rows(text, name), text.upper().count("BEGIN:VCARD")
    else:
        zone = config.local_zone_of(session)
        layout, rows = read_csv(text, name, parse_mapping(options.mapping), zone)
        notes += layout.notes
        if layout.ignored:
            shown = ", ".join(layout.ignored[:IGNORED_SHOWN])
            more = len(layout.ignored) - IGNORED_SHOWN
            shown += f" and {more} more" if more > 0 else ""
            notes.append(
                f"columns not imported: {shown} (--map COLUMN=field or extra.KEY keeps one)"
            )
        total = text.count("\n")
    return import_rows(
        session,
        rows,
        file_name=name,
        format=fmt,
        on_duplicate=options.on_duplicate,
        skip_invalid=options.skip_invalid,
        dry_run=options.dry_run,
        notes=notes,
        size_hint=total,
        now=now,
        progress=(lambda done: progress(done, total)) if progress else None,
    )


def read_file(path: Path) -> bytes:
    if not path.exists():
        raise UserError(f"no file at {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; name a file to import")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc


def detect_format(path: Path, text: str, given: str | None) -> str:
    if given:
        fmt = given.strip().lower()
        fmt = "vcf" if fmt == "vcard" else fmt
        if fmt not in FORMATS:
            raise UserError(f"unknown format {given!r}; choose one of: {', '.join(FORMATS)}")
        return fmt
    by_name = EXTENSIONS.get(path.suffix.lower())
    if by_name:
        return by_name
    start = text.lstrip()[:20].upper()
    if start.startswith("{"):
        return "json"
    return "vcf" if start.startswith("BEGIN:VCARD") else "csv"


def _vcard_rows(text: str, name: str) -> list[SourceRow]:
    try:
        from minicrm.services.transfer.vcard import read_vcards
    except ImportError as exc:
        raise UserError("vCard import is not available yet") from exc
    rows = []
    for position, card in enumerate(read_vcards(text, source_name=name), start=1):
        card = dict(card)
        line = int(card.pop("line", None) or position)
        error = card.pop("error", None)
        rows.append(SourceRow(line, {} if error else card, error=error))
    return rows


def _import_json(session, text: str, name: str, options: ImportOptions, now) -> ImportReport:
    from minicrm.services.transfer.json_import import restore_export

    if options.on_duplicate != "skip" or options.skip_invalid:
        raise UserError(
            "a minicrm JSON export is restored whole into an empty database; "
            "--on-duplicate and --skip-invalid do not apply"
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{name} is not valid JSON: {exc}") from exc
    if not options.dry_run:
        return restore_export(session, data, file_name=name, now=now)
    savepoint = session.begin_nested()  # a dry run does it all, then takes it back
    try:
        report = restore_export(session, data, file_name=name, now=now)
    finally:
        savepoint.rollback()
        session.info.pop("minicrm.settings", None)  # settings read inside are gone again
    report.dry_run, report.batch_id = True, None
    report.actions = [(0, "create", f"{report.created} contacts with their history")]
    return report
