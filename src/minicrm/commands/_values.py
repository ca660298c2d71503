"""Small values the commands read and show the same way everywhere: money,
the display zone, --mine, KEY=VALUE assignments."""


def money(cents: int | None) -> str:
    """Cents as the tables show them: 1,250.5 → '1,250.50', whole amounts without '.00'."""
    if cents is None:
        return ""
    return f"{cents / 100:,.2f}".removesuffix(".00")


def zone_of(session):
    """The zone times are shown in: the database's `timezone` setting, else TZ."""
    from minicrm.services.records.config import local_zone_of

    return local_zone_of(session)


def mine_or(owner: str | None, mine: bool) -> str | None:
    """--mine means the owner is whoever runs the command."""
    if not mine:
        return owner
    from minicrm.commands import _output as out
    from minicrm.settings import current_user

    if owner:
        out.fail("choose one of --mine and --owner")
    return current_user()


def assignments(items: list[str] | None) -> dict[str, str]:
    """KEY=VALUE options (`--set`) as a dict."""
    from minicrm.services.records.validation import parse_assignment

    return dict(parse_assignment(item) for item in items or [])
