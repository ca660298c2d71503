"""Start-up stays fast: heavy libraries load only in the commands that use them.

Each check runs the CLI in a fresh interpreter and lists what got imported.
"""

import json
import subprocess
import sys

import pytest

HEAVY_FOR_HELP = ["textual", "sqlmodel", "sqlalchemy", "alembic", "vobject", "icalendar"]
NEVER_FOR_LIST = ["textual", "alembic", "vobject", "icalendar", "rapidfuzz"]

PROBE = """
import json, sys
sys.argv = ["crm", *{args!r}]
from minicrm.commands import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
roots = sorted({{name.split(".")[0] for name in sys.modules}})
print(json.dumps({{"code": code, "modules": roots}}), file=sys.stderr)
"""


def imported_by(args: list[str], env_db: str | None = None) -> set[str]:
    env = None
    if env_db:
        import os

        env = {**os.environ, "CRM_DB": env_db}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return set(report["modules"])


def test_help_imports_neither_textual_nor_the_database_stack():
    loaded = imported_by(["--help"])
    assert "typer" in loaded  # the probe really ran the CLI
    assert loaded.isdisjoint(HEAVY_FOR_HELP), loaded & set(HEAVY_FOR_HELP)


@pytest.mark.parametrize("args", [["list"], ["show", "1"], ["search", "maria"]])
def test_simple_commands_do_not_import_the_tui_or_file_format_libraries(db_path, args):
    from minicrm.db import make_engine, session_scope
    from minicrm.services.contacts.editing import ContactInput, add_contact

    engine = make_engine(f"sqlite:///{db_path}")
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Maria Lopez"))
    engine.dispose()
    loaded = imported_by(args, env_db=str(db_path))
    assert "sqlmodel" in loaded  # it did reach the database
    assert loaded.isdisjoint(NEVER_FOR_LIST), loaded & set(NEVER_FOR_LIST)
