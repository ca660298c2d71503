"""`crm db` on a PostgreSQL server: backup and restore with pg_dump/pg_restore."""

import pytest
from sqlalchemy.engine import make_url


@pytest.mark.postgres_only
def test_backup_and_restore_on_a_server(cli, tmp_path):
    cli.ok("add", "Kept Person")
    backup = tmp_path / "crm.dump"
    assert cli.ok("db", "backup", str(backup)).stdout.strip() == str(backup)
    cli.ok("add", "Later Person")
    cli.ok("db", "restore", str(backup), "--yes")
    assert [c["name"] for c in cli.json("list")] == ["Kept Person"]


@pytest.mark.postgres_only
def test_check_reports_the_server_and_schema(cli):
    report = cli.json("db", "check")
    assert report["backend"] == "postgresql"
    assert report["server_version"][:2].isdigit()
    assert report["schema_revision"] == report["schema_head"]


def test_check_hides_a_server_password(cli):
    out = cli.ok("db", "check").stdout
    first = out.splitlines()[0]
    assert first.startswith("database:")
    password = make_url(cli.url).password
    if password:
        assert f":{password}@" not in first and ":***@" in first
