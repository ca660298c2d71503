"""`crm export WHAT --format FMT`: data out to stdout or a file.

Each (what, format) pair is one entry in EXPORTERS; a pair without an entry
is a user error that says what is available, so a new format is one
function and one line in the table. An exporter streams into a binary file
and returns what it wrote, for the confirmation line. Nothing is half
written: a file is replaced only once complete, and stdout gets the data
only once the export has finished (spooled to a temp file when large).
"""

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

TARGETS = ("contacts", "followups", "all", "deals")
FORMATS = ("csv", "vcf", "ics", "json")
ICS_KINDS = ("todo", "event")
VCARD_VERSIONS = ("3.0", "4.0")
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # bytes held in memory before stdout output spools to disk


@dataclass
class ExportRequest:
    owner: str | None
    kind: str
    vcard_version: str = "3.0"


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(metavar="WHAT", help="contacts, deals, followups or all.")],
    format_: Annotated[
        str | None, typer.Option("--format", "-f", metavar="FMT", help="csv, vcf, ics or json.")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write FILE instead of stdout."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this salesperson's contacts or follow-ups.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--as",
            metavar="todo|event",
            help="ics: tasks (VTODO), or events (VEVENT) for calendars that ignore tasks "
            "such as Google Calendar.",
        ),
    ] = "todo",
    vcard_version: Annotated[
        str, typer.Option("--vcard-version", metavar="3.0|4.0", help="vcf: the vCard version.")
    ] = "3.0",
) -> None:
    """Export data: contacts as csv/vcf/json, deals as csv/json, everything as json (a lossless
    backup), follow-ups as ics for calendar apps."""
    exporter = _exporter_for(what, format_ or _format_from_name(output))
    request = ExportRequest(
        owner=owner, kind=kind.strip().lower(), vcard_version=vcard_version.strip()
    )
    from minicrm.commands._paths import path_or_stdio

    path = path_or_stdio(output)
    if path is None:
        _write_stdout(lambda sink: exporter(ctx, request, sink))
        return
    from minicrm.commands import _output as out

    what_was_written = _write_atomically(path, lambda sink: exporter(ctx, request, sink))
    out.info(f"crm: wrote {what_was_written} to {path}")


EXTENSIONS = {".csv": "csv", ".vcf": "vcf", ".vcard": "vcf", ".ics": "ics", ".json": "json"}


def _format_from_name(output: str | None) -> str | None:
    """-o all.json says json, as `crm import` reads it from the name."""
    if not output or output == "-":
        return None
    return EXTENSIONS.get(Path(output).suffix.lower())


def _exporter_for(what: str, format_: str | None) -> "Exporter":
    from minicrm.errors import UserError

    target = what.strip().lower()
    if target not in TARGETS:
        raise UserError(f"cannot export {what!r}; choose one of: {', '.join(TARGETS)}")
    formats = [fmt for known, fmt in EXPORTERS if known == target]
    if not format_ and len(formats) == 1:
        format_ = formats[0]  # `export all` is json, `export followups` ics
    if not format_:
        raise UserError(f"say which format with --format (or -o FILE.csv…); {_choices(target)}")
    fmt = format_.strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"unknown format {format_!r}; choose one of: {', '.join(FORMATS)}")
    exporter = EXPORTERS.get((target, fmt))
    if exporter is None:
        raise UserError(f"cannot export {target} as {fmt}; {_choices(target)}")
    return exporter


def _choices(target: str) -> str:
    formats = sorted(fmt for known, fmt in EXPORTERS if known == target)
    listed = formats[0] if len(formats) == 1 else f"{', '.join(formats[:-1])} or {formats[-1]}"
    return f"{target} can be exported as {listed}"


def _now():
    """When the export is made (DTSTAMP); a function so tests can fix it."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _followups_ics(ctx: typer.Context, request: ExportRequest, sink: BinaryIO) -> str:
    from minicrm.commands._store import unit_of_work
    from minicrm.errors import UserError
    from minicrm.services.records.config import local_zone_of
    from minicrm.services.transfer.exporting import followups_to_ics, open_followups_for_export

    if request.kind not in ICS_KINDS:
        raise UserError(f"unknown --as {request.kind!r}; choose todo or event")
    with unit_of_work(ctx, write=False) as session:
        followups = open_followups_for_export(session, owner=request.owner)
        zone = local_zone_of(session)
    sink.write(followups_to_ics(followups, now=_now(), kind=request.kind, zone=zone))
    return _plural(len(followups), "follow-up")


def _contacts(ctx: typer.Context, request: ExportRequest, sink: BinaryIO, *, fmt: str) -> str:
    """Live contacts (one owner's with --owner), streamed as they are read."""
    from minicrm.commands._store import unit_of_work
    from minicrm.errors import UserError
    from minicrm.services.contacts.listing import ContactFilter, list_contacts
    from minicrm.services.transfer import exporting

    if fmt == "vcf" and request.vcard_version not in VCARD_VERSIONS:
        raise UserError(f"unknown --vcard-version {request.vcard_version!r}; choose 3.0 or 4.0")
    write = {
        "csv": exporting.write_contacts_csv,
        "json": exporting.write_contacts_json,
        "vcf": partial(exporting.write_contacts_vcf, version=request.vcard_version),
    }[fmt]
    with unit_of_work(ctx, write=False) as session, _text(sink) as text:
        count = write(list_contacts(session, ContactFilter(owner=request.owner)), text)
    return _plural(count, "contact")


def _deals(ctx: typer.Context, request: ExportRequest, sink: BinaryIO, *, fmt: str) -> str:
    """Live deals (one owner's with --owner), SPEC §1a objects, by id."""
    from minicrm.commands._store import unit_of_work
    from minicrm.services.transfer import deal_export

    write = deal_export.write_deals_csv if fmt == "csv" else deal_export.write_deals_json
    with unit_of_work(ctx, write=False) as session, _text(sink) as text:
        count = write(deal_export.live_deals(session, owner=request.owner), text)
    return _plural(count, "deal")


def _all_json(ctx: typer.Context, request: ExportRequest, sink: BinaryIO) -> str:
    from minicrm.commands._store import unit_of_work
    from minicrm.errors import UserError
    from minicrm.services.transfer.exporting import write_all_json

    if request.owner:
        raise UserError("--owner does not apply to `crm export all`: it exports everything")
    with unit_of_work(ctx, write=False) as session, _text(sink) as text:
        counts = write_all_json(session, text, now=_now())
    return (
        f"{_plural(counts['contacts'], 'contact')}, "
        f"{_plural(counts['interactions'], 'interaction')}, "
        f"{_plural(counts['followups'], 'follow-up')} and "
        f"{_plural(counts['stage_changes'], 'stage change')}"
    )


Exporter = Callable[[typer.Context, ExportRequest, BinaryIO], str]
EXPORTERS: dict[tuple[str, str], Exporter] = {
    ("contacts", "csv"): partial(_contacts, fmt="csv"),
    ("contacts", "json"): partial(_contacts, fmt="json"),
    ("contacts", "vcf"): partial(_contacts, fmt="vcf"),
    ("deals", "csv"): partial(_deals, fmt="csv"),
    ("deals", "json"): partial(_deals, fmt="json"),
    ("all", "json"): _all_json,
    ("followups", "ics"): _followups_ics,
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@contextmanager
def _text(sink: BinaryIO) -> Iterator[io.TextIOWrapper]:
    """UTF-8 text over a binary sink, leaving the sink open. newline="" keeps
    line endings as written: CRLF in CSV and vCard, LF in JSON."""
    wrapper = io.TextIOWrapper(sink, encoding="utf-8", newline="")
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()


def _write_stdout(export: Callable[[BinaryIO], str]) -> None:
    """Run the export into a spool, then copy it to stdout: a failure halfway
    leaves stdout empty instead of holding half a file."""
    import shutil
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        export(spool)
        spool.seek(0)
        sys.stdout.flush()
        shutil.copyfileobj(spool, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def _write_atomically(path: Path, export: Callable[[BinaryIO], str]) -> str:
    """The whole file or no change: the export goes into a temp file in the
    same folder, then a rename over the target. An existing file keeps its
    permissions. Returns what the export said it wrote."""
    import contextlib
    import os
    import tempfile

    from minicrm.errors import UserError

    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as file:
            what = export(file)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
        return what
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
