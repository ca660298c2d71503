"""The errors a shop owner may see, each with the exit code the CLI uses.

Services raise these; only the CLI boundary turns them into a line on stderr
and an exit code (see commands/_output.py).
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    RUNTIME = 1  # locked or unreadable database, failed mail, internal error
    USER = 2  # the user asked for something wrong: fix the input and retry


class CrmError(Exception):
    """Base of every error meant for the user."""

    exit_code: ExitCode = ExitCode.RUNTIME

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UserError(CrmError):
    """Bad input: unknown contact, bad date, bad email, malformed file."""

    exit_code = ExitCode.USER


class ValidationError(UserError):
    """A field value that cannot be stored; `field` names it for forms."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFoundError(UserError):
    pass


class AmbiguousRefError(UserError):
    def __init__(self, message: str, candidates: list):
        super().__init__(message)
        self.candidates = candidates


class DuplicateError(UserError):
    """A new contact looks like existing ones; `--force` adds it anyway."""

    def __init__(self, message: str, duplicates: list):
        super().__init__(message)
        self.duplicates = duplicates


class StoreError(CrmError):
    """The database cannot be used: locked, unreadable, newer than this code."""

    exit_code = ExitCode.RUNTIME


class ConflictError(UserError):
    """An edit based on data someone else changed meanwhile."""
