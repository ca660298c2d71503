"""`crm edit REF` with no options: the contact as TOML in $EDITOR.

The file is validated on save with the same rules as the flags; a mistake
re-opens the editor (on a terminal) with the error on top, so nothing typed
is lost, and nothing is written until it is valid.
"""

import os
import shlex
import subprocess
import tempfile
import tomllib
from pathlib import Path

import typer

from minicrm.commands._store import unit_of_work

EDITABLE = (
    "name", "email", "phone", "company", "title", "city", "region", "country", "industry",
    "source", "stage", "value", "owner", "lost_reason", "notes",
)  # fmt: skip
HEADER = '# Edit and save; empty the file to cancel. Remove a line or set it to "" to clear.\n'


def edit_in_editor(ctx: typer.Context, ref: str):
    """Returns the updated contact, or None when nothing changed."""
    from minicrm.commands import _output as out
    from minicrm.errors import UserError
    from minicrm.services.contacts.editing import update_contact
    from minicrm.services.records.contacts import get_contact

    with unit_of_work(ctx, write=False) as session:
        before = get_contact(session, ref)
    text = HEADER + contact_to_toml(before)
    while True:
        text = run_editor(text)
        try:
            changes = changes_from_toml(before, text)
            if changes is None:
                return None
            with unit_of_work(ctx) as session:
                return update_contact(session, before.id, changes, expected_version=before.version)
        except UserError as exc:
            if not out.interactive():
                raise
            text = f"# ERROR: {exc.message}\n" + _strip_error_lines(text)


def contact_to_toml(contact) -> str:
    import tomli_w

    data = {}
    for name in EDITABLE:
        value = contact.value if name == "value" else getattr(contact, name)
        data[name] = "" if value is None else value
    data["tags"] = list(contact.tags)
    data["extra"] = dict(contact.extra)
    return tomli_w.dumps(data)


def changes_from_toml(before, text: str):
    """The ContactChanges that turn `before` into what the TOML says."""
    from minicrm.errors import UserError
    from minicrm.services.contacts.editing import ContactChanges

    if not _strip_error_lines(text).strip() or all(
        line.startswith("#") or not line.strip() for line in text.splitlines()
    ):
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"the edited file is not valid TOML: {exc}") from exc
    unknown = set(data) - set(EDITABLE) - {"tags", "extra"}
    if unknown:
        raise UserError(f"unknown field(s) {', '.join(sorted(unknown))}")
    changes = ContactChanges()
    for name in EDITABLE:
        new = data.get(name, "")
        old = before.value if name == "value" else getattr(before, name)
        if _as_text(new) != _as_text(old):
            changes.fields[name] = _as_text(new)
    tags = data.get("tags", [])
    if not isinstance(tags, list):
        raise UserError('tags must be a list, e.g. tags = ["vip"]')
    changes.add_tags = [str(t) for t in tags if str(t) not in before.tags]
    changes.remove_tags = [t for t in before.tags if t not in [str(x) for x in tags]]
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise UserError('extra must be a table, e.g. [extra] birthday = "1980-01-01"')
    for key, value in extra.items():
        if before.extra.get(key) != value:
            changes.set_extra[key] = str(value)
    for key in before.extra.keys() - extra.keys():
        changes.set_extra[key] = ""
    if "lost_reason" in changes.fields:
        changes.stage_reason = changes.fields["lost_reason"] or None
    return None if changes.is_empty() else changes


def _as_text(value) -> str:
    return "" if value is None else str(value)


def _strip_error_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith("# ERROR:"))


def run_editor(text: str) -> str:
    from minicrm.errors import UserError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UserError("set $EDITOR (e.g. export EDITOR=nano), or give the fields as options")
    with tempfile.TemporaryDirectory(prefix="crm-edit-") as folder:
        path = Path(folder) / "contact.toml"
        path.write_text(text, encoding="utf-8")
        try:
            status = subprocess.call([*shlex.split(editor), str(path)])
        except OSError as exc:
            raise UserError(f"cannot start the editor {editor!r}: {exc.strerror}") from exc
        if status != 0:
            raise UserError(f"the editor exited with status {status}; nothing changed")
        return path.read_text(encoding="utf-8")
