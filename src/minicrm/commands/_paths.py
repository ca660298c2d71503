"""What a FILE argument means, the same for every command: `~` is your home
folder (also when the shell did not expand it, as in a quoted '~/x.db'), and
`-` is standard input or output where a command can stream, else a clear
error rather than a file named `-`."""

from pathlib import Path

STDIO = "-"


def file_path(text: str | Path, *, what: str) -> Path:
    """A path a command reads or writes as a file; `-` is refused."""
    if str(text).strip() == STDIO:
        raise _not_a_stream(what)
    return Path(str(text)).expanduser()


def path_or_stdio(text: str | Path | None) -> Path | None:
    """A path, or None for `-` (standard input or output)."""
    if text is None or str(text).strip() == STDIO:
        return None
    return Path(str(text)).expanduser()


def _not_a_stream(what: str):
    from minicrm.errors import UserError

    return UserError(f"{what} must be a file, not - (standard input or output); name a path")
