"""`crm export WHAT --format FMT`: data out to stdout or a file.

Each (what, format) pair is one entry in EXPORTERS; a pair without an entry
is a user error that says what is available, so a new format is one
function and one line in the table.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

TARGETS = ("contacts", "followups", "all")
FORMATS = ("csv", "vcf", "ics", "json")
ICS_KINDS = ("todo", "event")


@dataclass
class ExportRequest:
    owner: str | None
    kind: str


@dataclass
class Exported:
    data: bytes
    what: str  # for the confirmation line, e.g. "3 follow-ups"


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(metavar="WHAT", help="contacts, followups or all.")],
    format_: Annotated[
        str | None, typer.Option("--format", "-f", metavar="FMT", help="csv, vcf, ics or json.")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write FILE instead of stdout."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this salesperson's follow-ups.")
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
) -> None:
    """Export data; `crm export followups --format ics` feeds calendar apps."""
    exporter = _exporter_for(what, format_)
    exported = exporter(ctx, ExportRequest(owner=owner, kind=kind.strip().lower()))
    if output is None or output == "-":
        _write_stdout(exported.data)
        return
    from minicrm.commands import _output as out

    path = Path(output).expanduser()
    _write_atomically(path, exported.data)
    out.info(f"crm: wrote {exported.what} to {path}")


def _exporter_for(what: str, format_: str | None) -> Callable[..., Exported]:
    from minicrm.errors import UserError

    target = what.strip().lower()
    if target not in TARGETS:
        raise UserError(f"cannot export {what!r}; choose one of: {', '.join(TARGETS)}")
    if not format_:
        raise UserError(f"say which format with --format; available now: {_available()}")
    fmt = format_.strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"unknown format {format_!r}; choose one of: {', '.join(FORMATS)}")
    exporter = EXPORTERS.get((target, fmt))
    if exporter is None:
        raise UserError(
            f"exporting {target} as {fmt} is not available yet; available now: {_available()}"
        )
    return exporter


def _available() -> str:
    return ", ".join(f"crm export {target} --format {fmt}" for target, fmt in EXPORTERS)


def _now():
    """When the export is made (DTSTAMP); a function so tests can fix it."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _followups_ics(ctx: typer.Context, request: ExportRequest) -> Exported:
    from minicrm.commands._store import unit_of_work
    from minicrm.errors import UserError
    from minicrm.services.config import local_zone_of
    from minicrm.services.exporting import followups_to_ics, open_followups_for_export

    if request.kind not in ICS_KINDS:
        raise UserError(f"unknown --as {request.kind!r}; choose todo or event")
    with unit_of_work(ctx, write=False) as session:
        followups = open_followups_for_export(session, owner=request.owner)
        zone = local_zone_of(session)
    data = followups_to_ics(followups, now=_now(), kind=request.kind, zone=zone)
    count = len(followups)
    return Exported(data, f"{count} follow-up{'' if count == 1 else 's'}")


EXPORTERS: dict[tuple[str, str], Callable[[typer.Context, ExportRequest], Exported]] = {
    ("followups", "ics"): _followups_ics,
}


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _write_atomically(path: Path, data: bytes) -> None:
    """The whole file or no change: a temp file in the same folder, then a
    rename over the target. An existing file keeps its permissions."""
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
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
