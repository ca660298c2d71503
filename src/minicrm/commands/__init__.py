"""The `crm` command tree.

Each noun lives in its own module with its own typer.Typer(); this module
joins them, holds the global options, and turns errors into exit codes.
Command modules import only typer at the top so `crm --help` stays fast:
services, SQLModel and rich load inside the command that needs them.
"""

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from minicrm.commands._help import tidy_help_types
from minicrm.errors import CrmError, ExitCode
from minicrm.settings import debug_enabled

tidy_help_types()


class CrmGroup(TyperGroup):
    """Runs a command and maps what escapes it to one line and an exit code:
    2 for user mistakes, 1 for runtime failures, no traceback unless CRM_DEBUG=1."""

    def invoke(self, ctx: typer.Context) -> Any:
        from typer._click.exceptions import UsageError

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except CrmError as exc:
            _fail(exc.message, exc.exit_code, exc)
        except UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            _fail(exc.format_message() + hint, ExitCode.USER, exc)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise
        except Exception as exc:
            _fail(_describe_failure(exc), ExitCode.RUNTIME, exc)


def _fail(message: str, code: int, exc: BaseException):
    if debug_enabled():
        raise exc
    from minicrm.commands._output import fail

    fail(message, code)


def _describe_failure(exc: Exception) -> str:
    """A runtime failure in words a shop owner can act on."""
    text = str(getattr(exc, "orig", None) or exc)
    if "database is locked" in text or "database is busy" in text:
        return "the database is busy (another program holds a lock); try again in a moment"
    if "unable to open database" in text or "file is not a database" in text:
        return f"cannot open the database: {text}; check `crm db path`"
    if "malformed" in text:  # a damaged file, as `crm db check` reports it
        return f"the database file is damaged ({text}); `crm db check` says which backup to restore"
    if "disk I/O error" in text or "readonly database" in text:
        return f"cannot write the database: {text}"
    return f"internal error: {exc.__class__.__name__}: {text} (run with CRM_DEBUG=1 for details)"


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="minicrm: customers, leads, follow-ups and funnel reports, in your terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from minicrm import __version__

        print(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="CRM_DB",
            metavar="PATH",
            help="SQLite database file (default: in your user data folder). "
            "For a server set CRM_DATABASE_URL.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    from minicrm.commands._store import state

    state(ctx).db_path = db


def _register() -> None:
    from minicrm.commands import (
        cadence,
        companies,
        config,
        contacts,
        db,
        deals,
        dedupe,
        demo,
        export,
        followups,
        imports,
        products,
        remind,
        reports,
        score,
        stages,
        trash,
        tui,
    )

    contacts.register(app)
    trash.register(app)
    followups.register(app)
    stages.register(app)
    export.register(app)
    remind.register(app)
    dedupe.register(app)
    imports.register(app)
    tui.register(app)
    app.add_typer(cadence.app, name="cadence")
    app.add_typer(reports.app, name="report")
    app.add_typer(score.app, name="score")
    app.add_typer(config.app, name="config")
    app.add_typer(db.app, name="db")
    app.add_typer(companies.app, name="company")
    app.add_typer(deals.app, name="deal")
    app.add_typer(products.app, name="product")
    demo.register(app)


_register()


def main() -> None:
    app()
