"""Backups of a PostgreSQL database with the server's own tools.

`crm db backup` runs pg_dump (custom format) and `crm db restore` runs
pg_restore; both must be installed where crm runs (Debian:
postgresql-client). The password is handed over in PGPASSWORD, never on
the command line where `ps` would show it.
"""

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from minicrm.errors import StoreError, UserError


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise StoreError(f"{name} is not installed; install the PostgreSQL client tools")
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise StoreError(f"{what} failed: {reason}")


def backup_postgres(url: str, target: Path) -> None:
    if target.exists():
        raise UserError(f"{target} already exists; name a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    dsn, env = _libpq(url)
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), dsn],
        env,
        "pg_dump",
    )
    target.chmod(0o600)


def restore_postgres(backup: Path, url: str) -> None:
    if not backup.is_file():
        raise UserError(f"no backup file at {backup}")
    dsn, env = _libpq(url)
    command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "--dbname", dsn, str(backup)]  # fmt: skip
    _run(command, env, "pg_restore")
