"""`crm db`: where the data is, backups, restore, schema upgrade, health check."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from minicrm.commands._store import state, unit_of_work

app = typer.Typer(help="Where the data lives, backups, restore, schema upgrades, checks.")


def _url(ctx: typer.Context) -> str:
    from minicrm.db import resolve_database_url

    return resolve_database_url(state(ctx).db_path)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the database is (a file, or a server URL without its password)."""
    from sqlalchemy.engine import make_url

    from minicrm.db import sqlite_path

    url = _url(ctx)
    file = sqlite_path(url)
    print(file if file else make_url(url).render_as_string(hide_password=True))


@app.command("backup")
def backup(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILE]", help="Where to write (default: backups/ beside the database)."
        ),
    ] = None,
) -> None:
    """Copy the live database consistently (SQLite online backup, or pg_dump); prints the file."""
    from minicrm.commands._paths import file_path
    from minicrm.db import backup_sqlite, sqlite_path

    file = file_path(file, what="a backup") if file is not None else None

    url = _url(ctx)
    state(ctx).engine()  # the database exists and is current before it is copied
    source = sqlite_path(url)
    if source is None:
        from minicrm.pgtools import backup_postgres

        target = file or _default_backup_path(Path.cwd() / "minicrm", suffix=".dump")
        backup_postgres(url, target)
    else:
        target = file or _default_backup_path(source)
        backup_sqlite(source, target)
    print(target)


def _default_backup_path(source: Path, suffix: str = ".db") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    return source.parent / "backups" / f"{source.stem}-{stamp}{suffix}"


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A backup made by `crm db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a backup (a SQLite database is backed up first)."""
    from minicrm.commands import _output as out
    from minicrm.commands._paths import file_path

    file = file_path(file, what="the backup to restore")
    from minicrm.db import backup_sqlite, restore_sqlite, sqlite_path
    from minicrm.errors import UserError

    url = _url(ctx)
    target = sqlite_path(url)
    if not file.is_file():
        raise UserError(f"no backup file at {file}")
    if not yes:
        if not out.interactive():
            out.fail("restore replaces the current database; add --yes to confirm")
        if not typer.confirm(f"Replace {target or 'the database'} with {file}?", default=False):
            out.fail("nothing restored", 1)
    if target is None:
        from minicrm.pgtools import restore_postgres

        restore_postgres(file, url)
        state(ctx).engine()
        out.info(f"restored the database from {file}")
        return
    saved = None
    if target.exists() and target.stat().st_size > 0:
        saved = _default_backup_path(target)
        backup_sqlite(target, saved)
    restore_sqlite(file, target)
    state(ctx).engine()  # upgrades an older backup's schema right away
    kept = f"; the previous database is saved as {saved}" if saved else ""
    out.info(f"restored {target} from {file}{kept}")


@app.command("migrate")
def migrate(ctx: typer.Context) -> None:
    """Upgrade the schema to this version of minicrm (done automatically too)."""
    from minicrm.commands import _output as out
    from minicrm.db import SCHEMA_HEAD, current_revision, ensure_schema, make_engine

    engine = make_engine(_url(ctx))
    try:
        before = current_revision(engine)
        upgrade = ensure_schema(engine)
    finally:
        engine.dispose()
    if upgrade is None:
        out.info(f"the schema is current ({SCHEMA_HEAD})")
    elif before is None:
        out.info(f"created the schema ({SCHEMA_HEAD})")
    else:
        saved = f"; backup at {upgrade.backup}" if upgrade.backup else ""
        out.info(f"upgraded the schema from {before} to {SCHEMA_HEAD}{saved}")


@app.command("check")
def check(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Integrity, schema version and row counts; exit 1 if anything is wrong."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DatabaseError

    from minicrm.commands import _output as out
    from minicrm.services.records.store import check_store

    try:
        with unit_of_work(ctx, write=False) as session:
            report = check_store(session)
    except DatabaseError:  # too damaged to read: a finding, not a crash
        _report_a_damaged_file(_url(ctx), json_)
        raise
    if json_:
        out.print_json(report.to_json())
    else:
        lines = {
            "database": make_url(_url(ctx)).render_as_string(hide_password=True),
            "backend": f"{report.backend} {report.server_version}",
            "schema": f"{report.schema_revision} (this minicrm: {report.schema_head})",
            "integrity": report.integrity,
            "foreign keys": f"{report.foreign_key_problems} problem(s)",
            **{name.replace("_", " "): count for name, count in report.counts.items()},
        }
        for label, value in lines.items():
            print(f"{label + ':':<18}{value}")
    if not report.ok:
        if report.integrity != "ok":
            _say_which_backup(_url(ctx))
        raise typer.Exit(1)


def _report_a_damaged_file(url: str, json_: bool) -> None:
    """Say what SQLite found in a file it cannot read, and which backup to
    restore; exit 1."""
    from minicrm.commands import _output as out
    from minicrm.db import newest_backup, sqlite_damage, sqlite_path

    file = sqlite_path(url)
    damage = sqlite_damage(file) if file else None
    if damage is None:
        return  # not a damaged file: the error is something else, raised as it is
    backup = newest_backup(file)
    if json_:
        out.print_json({"database": str(file), "integrity": "not ok", "problems": damage,
                        "newest_backup": str(backup) if backup else None})  # fmt: skip
    else:
        print(f"{'database:':<18}{file}")
        print(f"{'integrity:':<18}not ok ({damage})")
        print(f"{'newest backup:':<18}{backup or 'none'}")
        _say_which_backup(url)
    raise typer.Exit(1)


def _say_which_backup(url: str) -> None:
    from minicrm.commands import _output as out
    from minicrm.db import newest_backup, sqlite_path

    file = sqlite_path(url)
    if file is None:
        return
    backup = newest_backup(file)
    if backup:
        out.info(f"crm: the database is damaged; to go back to it: crm db restore {backup}")
    else:
        out.info("crm: the database is damaged and no backup was found beside it (backups/)")
