"""The store: engine, pragmas, one transaction per command, schema upgrades.

The schema is owned by the Alembic migrations shipped in minicrm/migrations.
Checking that a database is current costs one small query; Alembic itself is
only imported when a database has to be created or upgraded.
"""

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError
from sqlmodel import Session

from minicrm.errors import StoreError, UserError

# The newest migration in minicrm/migrations/versions; a test keeps them equal.
SCHEMA_HEAD = "0009"
SQLITE_BUSY_TIMEOUT_MS = 15_000
SQLITE_LOCK_PATIENCE_S = 120
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def resolve_database_url(db_path: str | None = None) -> str:
    """--db PATH, then CRM_DB, then CRM_DATABASE_URL, then the user data dir."""
    path = db_path or os.environ.get("CRM_DB")
    if path:
        return "sqlite:///" + str(Path(path).expanduser().absolute())
    url = os.environ.get("CRM_DATABASE_URL")
    if url:
        return url
    from minicrm.settings import default_database_path

    return "sqlite:///" + str(default_database_path())


def sqlite_path(engine_or_url: Engine | str) -> Path | None:
    """The file behind a SQLite URL, or None for a server or in-memory database."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else None
    if url is None:
        from sqlalchemy.engine import make_url

        url = make_url(engine_or_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(url: str) -> Engine:
    """An engine with our pragmas; a SQLite file is created private (0600/0700)."""
    path = sqlite_path(url)
    if path is not None:
        _create_private_file(path)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _install_sqlite_pragmas(engine, in_memory=path is None)
    return engine


def _create_private_file(path: Path) -> None:
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {folder}: {exc.strerror}") from exc
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create the database {path}: {exc.strerror}") from exc
        os.close(fd)
        path.chmod(0o600)


def _install_sqlite_pragmas(engine: Engine, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # We issue BEGIN ourselves (below) so SQLite's transactions are real
        # and a writer can take its lock up front with BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        # Filters on owner and source compare lowercased text in any script
        # (services/records/text_match.py); SQLite's lower() is ASCII-only.
        dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        begin = connection.get_execution_options().get("sqlite_begin", "BEGIN")
        _begin_waiting_for_lock(connection.connection.dbapi_connection, begin)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _begin_waiting_for_lock(dbapi_connection, begin: str) -> None:
    """BEGIN IMMEDIATE waits busy_timeout for the write lock; a writer that
    holds it longer (a big import) makes us wait again, up to
    SQLITE_LOCK_PATIENCE_S in all, before "database is locked" may surface."""
    deadline = time.monotonic() + SQLITE_LOCK_PATIENCE_S
    while True:
        try:
            dbapi_connection.execute(begin)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit if the block finishes, roll back if it raises.

    Writers on SQLite take the write lock at BEGIN (IMMEDIATE), so two writers
    queue on busy_timeout instead of failing with "database is locked" when a
    read lock cannot be upgraded."""
    bind = engine
    if engine.dialect.name == "sqlite" and write:
        bind = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
    session = Session(bind=bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ------------------------------------------------------------------ schema


@dataclass(frozen=True)
class SchemaUpgrade:
    from_revision: str | None
    to_revision: str
    backup: Path | None


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            if _has_tables(engine):
                raise StoreError(
                    "this database was not made by minicrm (no schema version found)"
                ) from exc
            return None
        raise StoreError(f"cannot read the database: {exc.orig}") from exc
    except ProgrammingError:  # PostgreSQL: no alembic_version table yet
        return None
    except DatabaseError as exc:  # not a database at all, or damaged
        raise StoreError(f"cannot read the database: {exc.orig}") from exc


def _has_tables(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(engine).get_table_names())


def ensure_schema(engine: Engine) -> SchemaUpgrade | None:
    """Create or upgrade the schema when needed; returns what was done.

    An existing database is backed up before it is upgraded."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return None
    if revision is not None and not _is_known_revision(revision):
        raise StoreError(
            f"this database has schema {revision}, newer than this minicrm knows "
            f"({SCHEMA_HEAD}); upgrade minicrm"
        )
    backup = None
    if revision is not None:
        backup = backup_before_upgrade(engine, revision)
    upgrade_schema(engine)
    return SchemaUpgrade(revision, SCHEMA_HEAD, backup)


def _is_known_revision(revision: str) -> bool:
    return any(p.name.startswith(revision + "_") for p in (MIGRATIONS_DIR / "versions").iterdir())


def upgrade_schema(engine: Engine, target: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        # A migration may rebuild a table others point at (SQLite's recipe
        # for a change ALTER cannot make); with foreign keys on, dropping the
        # old table would delete or refuse its children. So they are off for
        # the migration, set before its transaction begins (SQLite ignores the
        # pragma inside one), and each migration checks them itself.
        raw = connection.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, target)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def backup_before_upgrade(engine: Engine, revision: str) -> Path | None:
    path = sqlite_path(engine)
    if path is None:
        return None  # servers are backed up with their own tools (pg_dump)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.before-{SCHEMA_HEAD}-from-{revision}-{stamp}.bak")
    backup_sqlite(path, target)
    return target


# ------------------------------------------------------------ file backups


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database with SQLite's online backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise UserError(f"{target} already exists; name a new file")
    fd = os.open(target, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    with _sqlite_connect(source) as src, _sqlite_connect(target) as dst:
        src.backup(dst)


def restore_sqlite(backup: Path, target: Path) -> None:
    """Replace `target`'s contents with `backup`'s, in one step for readers."""
    if not backup.is_file():
        raise UserError(f"no backup file at {backup}")
    with _sqlite_connect(backup) as src:
        check_sqlite_file(src, backup)
        with _sqlite_connect(target) as dst:
            src.backup(dst)


def check_sqlite_file(connection: sqlite3.Connection, path: Path) -> None:
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path} is not a minicrm database ({exc})") from exc
    if result != "ok":
        raise UserError(f"{path} is damaged: {result}")


def highest_id_used(connection, table: str) -> int:
    """The largest id `table` has ever handed out: its largest live id, or on
    SQLite the AUTOINCREMENT high-water mark when the newest rows were
    deleted (a purged contact's id is never given to the next one). Code
    that picks ids itself (bulk imports, demo data) starts above this."""
    from sqlalchemy import text

    largest = connection.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"')).scalar()
    if connection.dialect.name == "postgresql":  # the sequence remembers the deleted ones
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
        ).scalar()
        if sequence:
            drawn = connection.execute(
                text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
            ).scalar()
            largest = max(int(largest), int(drawn))
        return int(largest)
    if connection.dialect.name != "sqlite":
        return int(largest)
    has_sequence = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    ).scalar()
    used = 0
    if has_sequence:
        used = connection.execute(
            text("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = :t"), {"t": table}
        ).scalar()
    return max(int(largest), int(used))


def sqlite_damage(path: Path) -> str | None:
    """What SQLite finds wrong with the file at `path` (its integrity check,
    or the error that stops it reading the file at all); None when sound.
    Read straight through sqlite3, so a damaged file is reported, not raised."""
    if not path.exists():
        return None
    try:
        with _sqlite_connect(path) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if problems == ["ok"] else "; ".join(problems[:5])


def newest_backup(path: Path) -> Path | None:
    """The newest backup of the database at `path`: `crm db backup`'s
    (backups/NAME-STAMP.db) or an upgrade's (NAME.before-…)."""
    found = [
        *path.parent.glob(f"backups/{path.stem}-*.db"),
        *path.parent.glob(f"{path.name}.before-*"),
    ]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


@contextmanager
def _sqlite_connect(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    try:
        yield connection
    finally:
        connection.close()
