"""`crm remind`: the digest meant for cron. It never prompts and never needs a
TTY; the digest goes to stdout, or by mail with --mail-to (a one-line
confirmation on stderr)."""

from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

FORMATS = ("text", "md", "json", "html")


def register(app: typer.Typer) -> None:
    app.command("remind")(remind)


def remind(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option("--days", metavar="N", help="Also list the next N days.")
    ] = 0,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner's items (any case).")
    ] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="text (default), md, json or html.")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    mail_to: Annotated[
        str | None,
        typer.Option(
            "--mail-to",
            metavar="ADDR",
            help="Send the digest (text and HTML) to ADDR instead of printing it; "
            "several addresses separated by commas.",
        ),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything is overdue.")
    ] = False,
    only_new: Annotated[
        bool, typer.Option("--only-new", help="Leave out what an earlier --only-new run sent.")
    ] = False,
) -> None:
    """Overdue, today's and upcoming follow-ups and who is due to get in touch,
    grouped by owner, with phone and email. Made for cron."""
    from datetime import UTC, datetime

    from minicrm.services.followups.mailer import mail_settings, parse_recipients
    from minicrm.services.followups.remind import build_digest, check_days, mark_sent
    from minicrm.services.records.config import local_zone_of

    # Every check on the input comes before the database is touched.
    check_days(days)
    chosen = _chosen_format(format_, json_, mailing=mail_to is not None)
    recipients = parse_recipients(mail_to) if mail_to is not None else None

    now = datetime.now(UTC)
    with unit_of_work(ctx, write=False) as session:
        zone = local_zone_of(session)
        digest = build_digest(
            session, now=now, zone=zone, days=days, owner=owner, only_new=only_new
        )
        settings = mail_settings(session) if recipients else None

    if recipients:
        _mail(digest, zone, recipients, settings)
    else:
        _print(digest, zone, chosen)

    # Only once the digest is out: a failed send leaves the ledger as it was,
    # so the next run tries the same items again.
    if only_new and not digest.is_empty():
        with unit_of_work(ctx) as session:
            mark_sent(session, digest, now)

    if exit_code and digest.overdue_total:
        raise typer.Exit(1)


def _chosen_format(format_: str | None, json_: bool, *, mailing: bool) -> str:
    from minicrm.errors import UserError

    chosen = "json" if json_ else (format_ or "text").strip().lower()
    if json_ and format_ is not None and format_.strip().lower() != "json":
        raise UserError(f"--json means --format json; drop one of --json and --format {format_}")
    if chosen not in FORMATS:
        raise UserError(f"unknown --format {format_!r}; choose one of: {', '.join(FORMATS)}")
    if mailing and (format_ or json_):
        raise UserError("--format is for printed output; --mail-to always sends text and HTML")
    return chosen


def _print(digest, zone, chosen: str) -> None:
    import sys

    from minicrm.services.followups import remind as digests

    if chosen == "json":
        from minicrm.commands._output import print_json

        print_json(digests.digest_to_json(digest))
        return
    render = {
        "text": digests.render_text,
        "md": digests.render_markdown,
        "html": digests.render_html,
    }[chosen]
    sys.stdout.write(render(digest, zone))


def _mail(digest, zone, recipients: list[str], settings) -> None:
    from minicrm.commands._output import info
    from minicrm.services.followups import remind as digests
    from minicrm.services.followups.mailer import send_digest

    to = ", ".join(recipients)
    summary = digests.digest_summary(digest)
    if digest.is_empty():
        # A daily "nothing due" mail teaches people to ignore the real ones.
        info(f"crm: nothing due; no mail sent to {to}")
        return
    via = send_digest(
        f"Reminders: {summary}",
        digests.render_text(digest, zone),
        digests.render_html(digest, zone),
        to=recipients,
        sender=settings.sender,
        smtp=settings.smtp,
        now=digest.generated_at,
    )
    info(f"crm: sent the digest ({summary}) to {to} via {via}")
