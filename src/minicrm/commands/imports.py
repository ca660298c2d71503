"""`crm import FILE`, `crm import --list`, `crm import --undo BATCH`."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

LARGE_FILE_ROWS = 5_000  # below this an import is over before a bar is worth drawing
SKIPPED_SHOWN = 20


def register(app: typer.Typer) -> None:
    app.command("import")(import_)


def import_(
    ctx: typer.Context,
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE...",
            help="A CSV, vCard (.vcf) or minicrm JSON file; or the Maven CRM folder (or its "
            "four files: accounts, products, sales_teams, sales_pipeline .csv).",
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", "-f", metavar="FMT", help="csv, vcf or json (default: by name)."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=FIELD",
            help="Which CSV column feeds which field (name, email, phone, company, title, "
            "city, region, country, industry, source, stage, value, owner, notes, "
            "lost_reason, tags, created_at, stage_changed_at, closed_at, extra.KEY, ignore). "
            "Repeatable.",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            metavar="NAME",
            help="The file's text encoding, when it is not UTF-8, UTF-16 or Windows cp1252 "
            "(e.g. shift_jis, cp1251, iso-8859-2).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; write nothing.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, report the rest.")
    ] = False,
    on_duplicate: Annotated[
        str,
        typer.Option(
            "--on-duplicate",
            metavar="skip|update|create",
            help="A row with the id (in a minicrm export), email or phone of a contact (or "
            "an earlier row): skip it, update that contact, or create another.",
        ),
    ] = "skip",
    list_: Annotated[bool, typer.Option("--list", help="List past imports.")] = False,
    undo: Annotated[
        int | None, typer.Option("--undo", metavar="BATCH", help="Take back an import.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="--undo even contacts changed since the import.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Import contacts from CSV, vCard or a minicrm JSON export; list or undo imports."""
    from minicrm.errors import UserError

    if sum([bool(files), list_, undo is not None]) != 1:
        raise UserError("give a FILE to import, or --list, or --undo BATCH")
    if list_:
        _list(ctx, json_)
    elif undo is not None:
        _undo(ctx, undo, force, json_)
    else:
        from minicrm.services.transfer.files import ImportOptions

        options = ImportOptions(
            format=format_,
            mapping=map_ or [],
            on_duplicate=on_duplicate.strip().lower(),
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            encoding=encoding,
        )
        _import(ctx, files, options, json_)


def _import(ctx, files, options, json_) -> None:
    from minicrm.commands import _output as out
    from minicrm.commands._paths import path_or_stdio
    from minicrm.errors import UserError
    from minicrm.services.transfer.importing import ImportRejected
    from minicrm.services.transfer.maven import import_maven, maven_files

    paths = [path_or_stdio(f) or Path("-") for f in files]
    maven = maven_files(paths)
    if maven is not None:
        if options.dry_run or options.mapping or options.format or options.encoding:
            raise UserError(
                "--dry-run, --map, --format and --encoding do not apply to the Maven CRM files"
            )
        with unit_of_work(ctx) as session:
            report = import_maven(session, maven)
        if json_:
            out.print_json(report.to_json())
            return
        out.info(
            f"crm: import #{report.batch_id}: {report.notes[0]} "
            f"(undo: crm import --undo {report.batch_id})"
        )
        return
    if len(files) > 1:
        raise UserError("give one FILE (several only as the four Maven CRM files)")
    file = files[0]

    bar = _ProgressBar() if sys.stderr.isatty() and not json_ else None
    try:
        with unit_of_work(ctx) as session:
            report = _import_one(session, file, options, bar)
    except ImportRejected as exc:
        if bar:
            bar.stop()
        if json_:
            out.print_json(exc.report.to_json())
        elif options.dry_run:
            _print_actions(exc.report)
        _print_rejected(exc)
        raise typer.Exit(2) from None
    finally:
        if bar:
            bar.stop()
    if json_:
        out.print_json(report.to_json())
        return
    if options.dry_run:
        _print_actions(report)
    for note in report.notes:
        out.info(f"crm: note: {out.one_line(note)}")
    if not options.dry_run:  # a dry run listed them on stdout already
        for line, why in report.skipped[:SKIPPED_SHOWN]:
            out.info(f"crm: skipped {_where(line)}{why}")
        if len(report.skipped) > SKIPPED_SHOWN:
            more = len(report.skipped) - SKIPPED_SHOWN
            out.info(f"crm: skipped {more} more duplicates (--json lists them all)")
    for line, reason in report.rejected:
        out.info(f"crm: rejected {_where(line)}{reason}")
    out.info(_summary(report))


def _print_actions(report) -> None:
    for line, action, who in report.actions:
        print(f"{_where(line)}{action:<6} {who}")


def _where(line: int) -> str:
    return f"line {line}: " if line else ""


def _summary(report) -> str:
    counts = report.counts()
    parts = [f"{counts['created']} created", f"{counts['updated']} updated"]
    parts += [f"{counts['skipped']} skipped (duplicates)", f"{counts['rejected']} rejected"]
    if report.dry_run:
        return f"crm: dry run of {report.file_name}, nothing written: would be " + ", ".join(parts)
    return f"crm: imported {report.file_name} as batch #{report.batch_id}: " + ", ".join(parts)


def _print_rejected(exc) -> None:
    """The documented exception to one line: a summary, then every rejection."""
    print(f"crm: error: {exc.message}", file=sys.stderr)
    for line, reason in exc.report.rejected:
        print(f"  {_where(line)}{reason}", file=sys.stderr)


def _list(ctx, json_: bool) -> None:
    from minicrm.commands import _output as out
    from minicrm.services.records.config import local_zone_of
    from minicrm.services.transfer.batches import list_batches

    with unit_of_work(ctx, write=False) as session:
        batches = list_batches(session)
        zone = local_zone_of(session)
    if json_:
        out.print_json([b.to_json() for b in batches])
        return
    if not batches:
        out.info("crm: no imports yet")
        return
    from minicrm.dates import format_local

    header = ["Batch", "When", "File", "Format", "Created", "Updated", "Skipped", "Rejected",
              "Undone"]  # fmt: skip
    rows = [
        [str(b.id), format_local(b.created_at, zone), b.file_name, b.format,
         *(str(b.counts.get(k, 0)) for k in ("created", "updated", "skipped", "rejected")),
         format_local(b.undone_at, zone)]
        for b in batches
    ]  # fmt: skip
    out.print_table(header, rows)


def _undo(ctx, batch_id: int, force: bool, json_: bool) -> None:
    from minicrm.commands import _output as out
    from minicrm.services.transfer.batches import undo_batch

    with unit_of_work(ctx) as session:
        result = undo_batch(session, batch_id, force=force)
    if json_:
        out.print_json({"batch": result.batch.to_json(), "deleted": result.deleted,
                        "restored": result.restored, "gone": result.gone})  # fmt: skip
        return
    gone = f", {result.gone} already purged" if result.gone else ""
    out.info(
        f"crm: undid import #{batch_id} ({result.batch.file_name}): deleted {result.deleted} "
        f"contacts it created, restored {result.restored} it updated{gone}"
    )


class _ProgressBar:
    """A rich bar on stderr, shown only once a file turns out to be large."""

    def __init__(self):
        self.progress = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            if total < LARGE_FILE_ROWS:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task("checking rows", total=total)
        self.progress.update(self.task, completed=min(done, total))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _import_one(session, file: str, options, bar):
    """FILE, or `-` for standard input (its format read from its first characters)."""
    from minicrm.commands._paths import path_or_stdio
    from minicrm.services.transfer.files import import_file

    path = path_or_stdio(file)
    if path is None:
        data = sys.stdin.buffer.read()
        return import_file(session, Path("stdin"), options, progress=bar, data=data)
    return import_file(session, path, options, progress=bar)
