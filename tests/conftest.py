"""Fixtures: every test gets its own migrated database and a private data dir.

SQLite (the default): the shipped migrations run once into a template file,
and each test gets a copy — real FTS5 triggers and all, without paying for
an upgrade per test.

PostgreSQL: with CRM_TEST_DATABASE_URL set (a server the tests may use), a
fresh database is created for the run, migrated once, and emptied before
every test. Tests that open the SQLite file directly (they ask for
`db_path`, or are marked `sqlite_only`) do not apply there and are
deselected; tests marked `postgres_only` are deselected on SQLite.

No test is skipped for missing data: everything a test reads is in the
repository (tests/data). The only skip allowed names an optional system
tool that is absent ("optional tool missing: openssl"); any other skip
fails the run (pytest_sessionfinish below), so CI cannot go green with
tests that did not run.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from minicrm.db import ensure_schema, make_engine, session_scope

TEST_SERVER_URL = os.environ.get("CRM_TEST_DATABASE_URL")
BACKEND = "postgresql" if TEST_SERVER_URL else "sqlite"


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): needs the SQLite file itself")
    config.addinivalue_line("markers", "postgres_only(reason): needs a PostgreSQL server")


def pytest_collection_modifyitems(config, items):
    """Tests for the other backend do not apply here: deselected, not skipped."""
    other = [item for item in items if not _applies_here(item)]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if _applies_here(item)]


def _applies_here(item) -> bool:
    if BACKEND == "postgresql":
        return not (item.get_closest_marker("sqlite_only") or "db_path" in item.fixturenames)
    return item.get_closest_marker("postgres_only") is None


ALLOWED_SKIP = re.compile(r"^optional tool missing: \S")
_unexplained_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        if not ALLOWED_SKIP.match(reason):
            _unexplained_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _unexplained_skips and not hasattr(session.config, "workerinput"):
        print("\nskipped without naming a missing optional tool (not allowed):")
        for line in _unexplained_skips:
            print(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def private_environment(tmp_path, monkeypatch):
    """No test may touch the real user data dir or inherit a user's settings."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (
        "CRM_DB", "CRM_DATABASE_URL", "CRM_DEBUG", "CRM_USER", "EDITOR", "VISUAL",
        "CRM_SMTP_HOST", "CRM_SMTP_PORT", "CRM_SMTP_USER", "CRM_SMTP_PASSWORD",
        "CRM_SMTP_STARTTLS", "CRM_MAIL_FROM",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


@pytest.fixture
def db_path(tmp_path, migrated_template) -> Path:
    path = tmp_path / "crm.db"
    shutil.copyfile(migrated_template, path)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def server_database():
    """A PostgreSQL database made for this test run, migrated once."""
    if BACKEND != "postgresql":
        yield None
        return
    from tests_support_pg import create_test_database, drop_test_database

    url = create_test_database(TEST_SERVER_URL)
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    yield url
    drop_test_database(TEST_SERVER_URL, url)


@pytest.fixture
def database_url(request, server_database) -> str:
    """The URL of this test's own, empty, migrated database."""
    if BACKEND == "postgresql":
        from tests_support_pg import empty_all_tables

        empty_all_tables(server_database)
        return server_database
    path = request.getfixturevalue("db_path")
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session whose work is committed when the test ends."""
    with session_scope(engine) as session:
        yield session


@pytest.fixture
def cli(database_url):
    """`crm` against this test's database: cli.ok(...), cli.json(...)."""
    from cli_support import Cli

    return Cli(database_url)
