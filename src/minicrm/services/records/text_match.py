"""Comparing names people type (owner, source) ignoring case, in any script.

SQLite's own lower() folds ASCII letters only, so `--owner ΣΑΡΑ` would miss
"Σάρα"'s rows there while PostgreSQL found them. Each SQLite connection
gets `unicode_lower` (db.py: Python's str.lower, which lowercases every
script as PostgreSQL's lower() does), and filters compare through it.
Email lookups keep lower(), which their index is built on.
"""

from typing import Any

from sqlalchemy import func
from sqlmodel import Session


def same_text(session: Session, column: Any, value: str) -> Any:
    """`column` equals `value` (stripped) ignoring case, as a WHERE clause."""
    wanted = value.strip()
    if session.get_bind().dialect.name == "sqlite":
        return func.unicode_lower(column) == wanted.lower()
    return func.lower(column) == func.lower(wanted)
