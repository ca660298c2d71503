"""Where the data lives, and the settings kept in the database.

Settings live in the `setting` table, not in a file, so every front end and
every machine sharing one database agrees on stages, currency and region.
"""

import os
from pathlib import Path

APP_NAME = "minicrm"
DB_FILE_NAME = "crm.db"

# Each known setting with its default (None: unset) and a line of help.
KNOWN_SETTINGS: dict[str, tuple[str | None, str]] = {
    "stages": ("awareness,interest,decision,action", "open funnel stages, in order"),
    "currency": ("USD", "ISO 4217 code of the one currency money is kept in"),
    "default_region": ("US", "ISO 3166 region for phone numbers typed without +country"),
    "timezone": (None, "IANA zone dates are shown in (default: TZ or the system zone)"),
    "smtp_host": (None, "mail server for crm remind --mail-to"),
    "smtp_port": (None, "mail server port (default 587 with STARTTLS, else 25)"),
    "smtp_user": (None, "mail server login (the password only ever comes from CRM_SMTP_PASSWORD)"),
    "smtp_starttls": (None, "yes/no: upgrade the mail connection with STARTTLS"),
    "mail_from": (None, "sender address of the digest"),
    "scoring_rules": (None, "lead scoring rules (TOML): `crm score rules --edit` or `--load`"),
}


def data_dir() -> Path:
    """The platform's user data folder for minicrm (XDG on Linux)."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def default_database_path() -> Path:
    return data_dir() / DB_FILE_NAME


def debug_enabled() -> bool:
    return os.environ.get("CRM_DEBUG", "") not in ("", "0")


def current_user() -> str:
    """Who is running the command: CRM_USER, else the OS login name."""
    import getpass

    name = os.environ.get("CRM_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "me"
