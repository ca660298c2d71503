"""A writer that finds the database locked longer than busy_timeout keeps
waiting instead of failing with "database is locked"."""

import sqlite3
import threading

import pytest

from minicrm import db
from minicrm.services.contacts.editing import ContactInput, add_contact


@pytest.mark.sqlite_only("SQLite's write lock")
def test_writer_outwaits_a_lock_held_longer_than_busy_timeout(db_path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE setting SET value = value")  # hold the write lock
    release = threading.Timer(0.5, holder.execute, args=("COMMIT",))  # 10× the timeout
    release.start()
    engine = db.make_engine(f"sqlite:///{db_path}")
    try:
        with db.session_scope(engine) as session:
            added = add_contact(session, ContactInput(name="Patient Writer"))
        assert added.id == 1
    finally:
        release.join()
        holder.close()
        engine.dispose()


@pytest.mark.sqlite_only("SQLite's write lock")
def test_patience_has_an_end(db_path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr(db, "SQLITE_LOCK_PATIENCE_S", 0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    engine = db.make_engine(f"sqlite:///{db_path}")
    try:
        with pytest.raises(Exception, match="locked"), db.session_scope(engine) as session:
            add_contact(session, ContactInput(name="Impatient Writer"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
