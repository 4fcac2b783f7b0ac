"""Whose clock a page shows: the operator's chosen time zone, else the browser's, else UTC.

Times are stored and filtered in UTC (Django's active time zone stays UTC, so history dates, the overview
and the export agree); only their display is converted, by the ``when`` template tag.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest

# app.js writes the browser's IANA zone (Intl.DateTimeFormat().resolvedOptions().timeZone) here.
BROWSER_ZONE_COOKIE = "thumbs_tz"
# Offered first in the settings page: where operators of a ZEGO console usually are.
COMMON_ZONES = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)


@dataclass(frozen=True)
class Zone:
    name: str  # the IANA name, such as Asia/Shanghai
    tz: tzinfo
    source: str  # "chosen", "browser" or "default"

    @property
    def label(self) -> str:
        """Asia/Shanghai (UTC+8), or UTC."""
        offset = self.offset_label()
        return self.name if offset == self.name else f"{self.name} ({offset})"

    def offset_label(self, at: datetime | None = None) -> str:
        """UTC, UTC+8, UTC+5:30, UTC-3: the zone's offset at a moment (daylight saving moves it)."""
        return utc_offset_label((at or datetime.now(UTC)).astimezone(self.tz).utcoffset())


DEFAULT_ZONE = Zone("UTC", UTC, "default")


def utc_offset_label(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds() // 60)
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@functools.cache
def known_zones() -> frozenset[str]:
    """Places (Area/City) and UTC: not the database's pseudo-zones ("Factory", "localtime", "posixrules") nor
    Etc/GMT+8 and its kin, whose signs run backwards (Etc/GMT+8 is UTC-8) and would mislead an operator."""
    places = {name for name in available_timezones() if "/" in name and not name.startswith(_NOT_PLACES)}
    return frozenset(places) | {"UTC"}


_NOT_PLACES = ("Etc/", "SystemV/", "posix/", "right/")


def zone_named(name: str | None) -> tzinfo | None:
    """The zone of an IANA name from outside (a cookie, a form), or None: never an exception."""
    if not name or len(name) > 64 or name not in known_zones():
        return None
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def chosen_zone_name(user) -> str:
    """The zone a signed-in operator picked in their settings, or "" (follow the browser)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    from .models import Preference  # models import nothing from here; keep it that way

    return Preference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def zone_for(request: HttpRequest | None) -> Zone:
    """The zone to show this request's times in, worked out once per request."""
    if request is None:
        return DEFAULT_ZONE
    cached = getattr(request, "_thumbs_zone", None)
    if cached is not None:
        return cached
    zone = DEFAULT_ZONE
    chosen = chosen_zone_name(getattr(request, "user", None))
    browser = request.COOKIES.get(BROWSER_ZONE_COOKIE, "")
    for name, source in ((chosen, "chosen"), (browser, "browser")):
        tz = zone_named(name)
        if tz is not None:
            zone = Zone(name, tz, source)
            break
    request._thumbs_zone = zone
    return zone


def zone_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Choices for a select, labelled with their offset now: the common zones, then every other one."""
    now = datetime.now(UTC)

    def label(name: str) -> str:
        tz = zone_named(name)
        return f"{name} ({utc_offset_label(now.astimezone(tz).utcoffset())})" if tz else name

    common = [(name, label(name)) for name in COMMON_ZONES if name in known_zones()]
    rest = [(name, label(name)) for name in sorted(known_zones() - set(COMMON_ZONES))]
    return common, rest
