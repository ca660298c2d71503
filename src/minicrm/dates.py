"""Time zones: everything is stored in UTC and shown in the local zone.

The local zone is the database's `timezone` setting, else TZ, else the
system's zone.
"""

import os
from datetime import UTC, datetime, tzinfo


def local_zone(setting: str | None = None) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for name in (setting, os.environ.get("TZ")):
        if name:
            try:
                return ZoneInfo(name.lstrip(":"))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now(UTC).astimezone().tzinfo or UTC


def to_local(value: datetime, zone: tzinfo) -> datetime:
    return value.astimezone(zone)


def format_local(value: datetime | None, zone: tzinfo, *, with_time: bool = True) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
