"""PostgreSQL helpers for the test run: a throwaway database per run, and
emptying it between tests (much faster than a database per test)."""

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

KEEP = {"alembic_version"}


def _admin_engine(server_url: str):
    admin = make_url(server_url).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def create_test_database(server_url: str) -> str:
    name = f"minicrm_test_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_test_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def empty_all_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables if t not in KEEP)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
