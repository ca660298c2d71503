"""Fixtures: every test gets its own migrated database and a private data dir.

Migrating once and copying the file keeps each test's database real (the
shipped Alembic migrations, FTS5 triggers and all) without paying for an
upgrade per test.
"""

import shutil
from pathlib import Path

import pytest

from minicrm.db import ensure_schema, make_engine, session_scope


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


@pytest.fixture
def engine(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session whose work is committed when the test ends."""
    with session_scope(engine) as session:
        yield session
