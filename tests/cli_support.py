"""Running `crm` in-process in tests: the `cli` fixture's helper."""

import json

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from minicrm.commands import app
from minicrm.db import sqlite_path

TABLES = ["contact", "tag", "contact_tag", "interaction", "followup", "stage_change", "setting"]


class Cli:
    """Runs `crm ARGS…` in-process against the test's database (`--db FILE`
    for SQLite, CRM_DATABASE_URL for a server) and keeps stdout and stderr
    apart, as a shell would."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.db_path = sqlite_path(database_url)  # None on a server
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        if self.db_path is not None:
            return self.runner.invoke(app, ["--db", str(self.db_path), *args], input=input, env=env)
        env = {**(env or {}), "CRM_DATABASE_URL": self.url}
        return self.runner.invoke(app, list(args), input=input, env=env)

    def ok(self, *args: str, **kwargs):
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json").stdout)

    @staticmethod
    def assert_user_error(result, *fragments: str) -> None:
        assert_user_error(result, *fragments)

    def count(self, table: str) -> int:
        return self.table_counts([table])[table]

    def table_counts(self, tables: list[str] = TABLES) -> dict[str, int]:
        """Rows per table, to prove a failed command wrote nothing."""
        engine = create_engine(make_url(self.url))
        try:
            with engine.connect() as connection:
                return {
                    t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in tables
                }
        finally:
            engine.dispose()


def assert_user_error(result, *fragments: str) -> None:
    """Exit 2 with exactly one line on stderr that says what was wrong."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crm: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""
