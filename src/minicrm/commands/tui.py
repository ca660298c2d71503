"""`crm tui`: the full-screen app. Textual loads only when this command runs."""

import typer


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(ctx: typer.Context) -> None:
    """Open the full-screen app: dashboard, contacts, follow-ups, pipeline, reports."""
    from minicrm.commands._store import state
    from minicrm.tui.app import make_app

    # state() creates or upgrades the schema first and says so on stderr,
    # before the screen is taken over.
    make_app(state(ctx).engine()).run()
