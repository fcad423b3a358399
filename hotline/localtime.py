"""Times as people read them: in the city's time zone (HOTLINE_TIMEZONE), always with its name (WIB)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.settings import get_settings

STAMP = "%d-%m-%Y %H:%M"


def city_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def zone_name(at: datetime | None = None) -> str:
    """The zone's short name (WIB for Asia/Jakarta), as of `at` (a zone with summer time has two)."""
    return (at or datetime.now(city_zone())).astimezone(city_zone()).strftime("%Z")


def local(value: datetime | None, fmt: str = STAMP) -> str:
    """`value` in the city's time, followed by the zone's name: "07-12-2026 15:02 WIB"."""
    if value is None:
        return "—"
    here = value.astimezone(city_zone())
    return f"{here.strftime(fmt)} {here.strftime('%Z')}"
