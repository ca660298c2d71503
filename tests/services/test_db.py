"""The store: engine, pragmas, schema upgrades, transactions, file backups."""

import ast
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from minicrm import db
from minicrm.db import (
    SCHEMA_HEAD,
    SchemaUpgrade,
    backup_sqlite,
    current_revision,
    ensure_schema,
    make_engine,
    resolve_database_url,
    restore_sqlite,
    session_scope,
    sqlite_path,
)
from minicrm.errors import StoreError, UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.listing import list_contacts

VERSIONS_DIR = Path(db.__file__).parent / "migrations" / "versions"
MINICRM_TABLES = {
    "alembic_version",
    "contact",
    "contact_tag",
    "followup",
    "interaction",
    "setting",
    "stage_change",
    "tag",
}


# ---------------------------------------------------------------- helpers


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pragma(engine, name):
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def schema_of(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).all()


def table_names(engine) -> set[str]:
    return {name for kind, name, _sql in schema_of(engine) if kind == "table"}


def add_person(engine, name):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name=name), force=True)


def people(engine) -> list[str]:
    with session_scope(engine, write=False) as session:
        return [c.name for c in list_contacts(session)]


def stamp(path: Path, revision: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    connection.close()


def revisions_on_disk() -> dict[str, str | None]:
    """revision -> down_revision, read from the migration files' source."""
    found = {}
    for path in VERSIONS_DIR.glob("*.py"):
        values = {}
        for node in ast.parse(path.read_text()).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                values[target.id] = ast.literal_eval(node.value)
        found[values["revision"]] = values.get("down_revision")
    return found


@pytest.fixture
def fresh(tmp_path):
    """An engine on a file that does not exist yet."""
    engine = make_engine(url_of(tmp_path / "fresh" / "crm.db"))
    yield engine
    engine.dispose()


# ----------------------------------------------------------------- engine


def test_make_engine_creates_a_private_folder_and_file(tmp_path):
    path = tmp_path / "data" / "minicrm" / "crm.db"
    old_umask = os.umask(0)  # the modes must not depend on a permissive umask
    try:
        engine = make_engine(url_of(path))
    finally:
        os.umask(old_umask)
    assert path.is_file()
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    engine.dispose()


def test_make_engine_leaves_an_existing_database_alone(db_path):
    before = db_path.read_bytes()
    engine = make_engine(url_of(db_path))
    engine.dispose()
    assert db_path.read_bytes() == before


def test_make_engine_explains_a_folder_it_cannot_create(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as caught:
        make_engine(url_of(blocker / "sub" / "crm.db"))
    assert "cannot create the data folder" in caught.value.message
    assert caught.value.exit_code == 1


@pytest.mark.sqlite_only("SQLite pragmas")
def test_file_database_pragmas(engine):
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "foreign_keys") == 1
    assert pragma(engine, "synchronous") == 2  # FULL
    assert pragma(engine, "busy_timeout") == db.SQLITE_BUSY_TIMEOUT_MS > 0


def test_in_memory_database_pragmas_and_schema():
    engine = make_engine("sqlite://")
    try:
        assert pragma(engine, "foreign_keys") == 1
        assert pragma(engine, "journal_mode") == "memory"
        ensure_schema(engine)
        add_person(engine, "Maria")
        assert people(engine) == ["Maria"]
    finally:
        engine.dispose()


def test_sqlite_path_of_urls(tmp_path):
    assert sqlite_path(url_of(tmp_path / "crm.db")) == tmp_path / "crm.db"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql+psycopg://crm@db.example.com/crm") is None


# -------------------------------------------------------- where the data is


def test_database_url_from_db_option_then_env_then_data_dir(tmp_path, monkeypatch):
    default = tmp_path / "xdg-data" / "minicrm" / "crm.db"
    assert resolve_database_url() == url_of(default)
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg://crm@db.example.com/crm")
    assert resolve_database_url() == "postgresql+psycopg://crm@db.example.com/crm"
    monkeypatch.setenv("CRM_DB", str(tmp_path / "env.db"))
    assert resolve_database_url() == url_of(tmp_path / "env.db")
    assert resolve_database_url(str(tmp_path / "option.db")) == url_of(tmp_path / "option.db")


def test_database_url_expands_home_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_database_url("~/crm.db") == url_of(tmp_path / "home" / "crm.db")
    assert resolve_database_url("shop.db") == url_of(tmp_path / "shop.db")


# ----------------------------------------------------------------- schema


def test_schema_head_is_the_newest_migration_file():
    revisions = revisions_on_disk()
    heads = set(revisions) - set(revisions.values())
    assert heads == {SCHEMA_HEAD}
    roots = [rev for rev, down in revisions.items() if down is None]
    assert len(roots) == 1


def test_ensure_schema_creates_a_fresh_database(fresh):
    assert current_revision(fresh) is None
    assert ensure_schema(fresh) == SchemaUpgrade(None, SCHEMA_HEAD, None)
    assert current_revision(fresh) == SCHEMA_HEAD
    assert table_names(fresh) >= MINICRM_TABLES | {"contact_fts", "interaction_fts"}
    add_person(fresh, "Maria")
    assert people(fresh) == ["Maria"]


def test_ensure_schema_is_a_no_op_on_a_current_database(fresh):
    ensure_schema(fresh)
    add_person(fresh, "Maria")
    schema = schema_of(fresh)
    assert ensure_schema(fresh) is None
    assert schema_of(fresh) == schema
    assert people(fresh) == ["Maria"]
    assert list(sqlite_path(fresh).parent.glob("*.bak")) == []


def test_ensure_schema_backs_up_an_older_database_before_upgrading(tmp_path):
    """A database made at revision 0001 (the first release) is copied aside,
    then upgraded to the head with its rows intact."""
    path = tmp_path / "crm.db"
    engine = make_engine(url_of(path))
    db.upgrade_schema(engine, "0001")
    with engine.begin() as connection:  # the 0001 columns: today's models have more
        connection.exec_driver_sql(
            "INSERT INTO contact (name, name_folded, stage, score, search_text, created_at, "
            "updated_at, stage_entered_at, version) VALUES ('Maria', 'maria', 'lead', 0, "
            "'maria', '2025-01-02 10:00:00', '2025-01-02 10:00:00', '2025-01-02 10:00:00', 1)"
        )
    done = ensure_schema(engine)
    assert current_revision(engine) == db.SCHEMA_HEAD
    assert people(engine) == ["Maria"]
    engine.dispose()
    assert done.from_revision == "0001"
    assert done.to_revision == db.SCHEMA_HEAD
    assert done.backup.parent == path.parent
    assert done.backup.name.startswith(f"crm.db.before-{db.SCHEMA_HEAD}-from-0001-")
    assert mode_of(done.backup) == 0o600
    backup = make_engine(url_of(done.backup))
    assert current_revision(backup) == "0001"
    with backup.connect() as connection:
        assert connection.exec_driver_sql("SELECT name FROM contact").scalars().all() == ["Maria"]
    backup.dispose()


def test_a_database_from_a_newer_minicrm_is_refused(db_path):
    stamp(db_path, "0999")
    engine = make_engine(url_of(db_path))
    with pytest.raises(StoreError) as caught:
        ensure_schema(engine)
    assert "0999" in caught.value.message
    assert current_revision(engine) == "0999"
    engine.dispose()
    assert list(db_path.parent.glob("*.bak")) == []


def test_a_sqlite_file_from_another_program_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.close()
    engine = make_engine(url_of(path))
    with pytest.raises(StoreError) as caught:
        ensure_schema(engine)
    assert "not made by minicrm" in caught.value.message
    assert table_names(engine) == {"notes"}
    engine.dispose()


def test_a_file_that_is_not_a_database_is_refused_with_a_store_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: olives, bread\n" * 100)
    engine = make_engine(url_of(path))
    try:
        with pytest.raises(StoreError):
            ensure_schema(engine)
    finally:
        engine.dispose()


# ----------------------------------------------------------- transactions


def test_session_scope_commits_when_the_block_finishes(engine):
    add_person(engine, "Maria")
    assert people(engine) == ["Maria"]


def test_session_scope_rolls_back_when_the_block_raises(engine):
    add_person(engine, "Maria")
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as session:
        add_contact(session, ContactInput(name="Ali"), force=True)
        session.execute(text("UPDATE contact SET city = 'Athens'"))
        raise RuntimeError("boom")
    assert people(engine) == ["Maria"]
    with session_scope(engine, write=False) as session:
        assert session.execute(text("SELECT city FROM contact")).scalars().all() == [None]


def other_writer(db_path):
    """A plain connection that gives up at once instead of waiting for a lock."""
    return sqlite3.connect(db_path, timeout=0, isolation_level=None)


def test_a_write_session_takes_the_write_lock_up_front(engine, db_path):
    outsider = other_writer(db_path)
    try:
        with session_scope(engine) as session:
            session.execute(text("SELECT count(*) FROM contact")).scalar()  # only a read
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                outsider.execute("BEGIN IMMEDIATE")
        outsider.execute("BEGIN IMMEDIATE")  # free again once the block ends
        outsider.execute("ROLLBACK")
    finally:
        outsider.close()


def test_a_read_session_does_not_block_writers(engine, db_path):
    outsider = other_writer(db_path)
    try:
        with session_scope(engine, write=False) as session:
            session.execute(text("SELECT count(*) FROM contact")).scalar()
            outsider.execute("BEGIN IMMEDIATE")
            outsider.execute("ROLLBACK")
    finally:
        outsider.close()


# ---------------------------------------------------------------- backups


def test_backup_and_restore_round_trip(engine, db_path, tmp_path):
    add_person(engine, "Maria")
    backup = tmp_path / "backups" / "monday.db"
    backup_sqlite(db_path, backup)
    assert mode_of(backup) == 0o600
    add_person(engine, "Ali")
    assert people(engine) == ["Ali", "Maria"]
    engine.dispose()
    restore_sqlite(backup, db_path)
    restored = make_engine(url_of(db_path))
    assert people(restored) == ["Maria"]
    assert current_revision(restored) == SCHEMA_HEAD
    restored.dispose()


def test_backup_refuses_to_overwrite_a_file(engine, db_path, tmp_path):
    target = tmp_path / "keep.db"
    target.write_bytes(b"precious")
    with pytest.raises(UserError) as caught:
        backup_sqlite(db_path, target)
    assert "already exists" in caught.value.message
    assert target.read_bytes() == b"precious"


def test_restore_refuses_a_file_that_is_not_a_database(engine, db_path, tmp_path):
    add_person(engine, "Maria")
    engine.dispose()
    before = db_path.read_bytes()
    bogus = tmp_path / "contacts.csv"
    bogus.write_text("name,email\n" + "Maria,maria@example.com\n" * 200)
    with pytest.raises(UserError) as caught:
        restore_sqlite(bogus, db_path)
    assert "not a minicrm database" in caught.value.message
    assert db_path.read_bytes() == before


def test_restore_refuses_a_sqlite_file_from_another_program(engine, db_path, tmp_path):
    add_person(engine, "Maria")
    engine.dispose()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    connection.close()
    with pytest.raises(UserError):
        restore_sqlite(other, db_path)
    engine = make_engine(url_of(db_path))
    assert people(engine) == ["Maria"]
    engine.dispose()


def test_restore_from_a_missing_file_creates_nothing(db_path, tmp_path):
    missing = tmp_path / "no-such-backup.db"
    with pytest.raises(UserError):
        restore_sqlite(missing, db_path)
    assert not missing.exists()
