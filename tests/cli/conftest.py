import json
import sqlite3

import pytest
from typer.testing import CliRunner

from minicrm.commands import app


class Cli:
    """Runs `crm --db <test database> ARGS…` in-process and keeps stdout and
    stderr apart, as a shell would."""

    def __init__(self, db_path):
        self.db_path = db_path
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return self.runner.invoke(app, ["--db", str(self.db_path), *args], input=input, env=env)

    def ok(self, *args: str, **kwargs):
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json").stdout)

    @staticmethod
    def assert_user_error(result, *fragments: str) -> None:
        assert_user_error(result, *fragments)

    def table_counts(self) -> dict[str, int]:
        """Rows per table, to prove a failed command wrote nothing."""
        with sqlite3.connect(self.db_path) as connection:
            tables = [
                "contact", "tag", "contact_tag", "interaction", "followup", "stage_change",
                "setting",
            ]  # fmt: skip
            return {
                t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables
            }


@pytest.fixture
def cli(db_path) -> Cli:
    return Cli(db_path)


def assert_user_error(result, *fragments: str) -> None:
    """Exit 2 with exactly one line on stderr that says what was wrong."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crm: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""
