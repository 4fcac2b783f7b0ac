"""The console's template tags: times in the operator's zone, raw replies made readable.

``{% when value %}`` is the one way a page shows a time: "3 min ago" within a day, else "11-28 14:01" (this
year) or "2025-11-28", in the operator's zone, with the exact time and the zone in the tooltip and the
machine-readable instant in ``datetime``. ``{% when value "exact" %}`` always shows the exact time with its
offset.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from ..timezones import Zone, zone_for

register = template.Library()

RELATIVE_WITHIN = timedelta(hours=24)


def _zone(context: template.Context) -> Zone:
    return zone_for(context.get("request"))


@register.simple_tag(takes_context=True)
def when(context: template.Context, value: datetime | None, style: str = "auto") -> SafeString | str:
    if not isinstance(value, datetime):
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    zone = _zone(context)
    local = value.astimezone(zone.tz)
    offset = zone.offset_label(value)
    exact = f"{local:%Y-%m-%d %H:%M:%S} {offset}"
    title = exact if zone.name == "UTC" else f"{exact} ({zone.name})"
    shown = exact if style == "exact" else relative(value, timezone.now()) or _short(local, zone)
    return format_html('<time datetime="{}" title="{}">{}</time>', value.astimezone(UTC).isoformat(), title, shown)


def _short(local: datetime, zone: Zone) -> str:
    """Beyond a day: the month, day and time within this year, else the date (the tooltip has it all)."""
    if local.year == timezone.now().astimezone(zone.tz).year:
        return f"{local:%m-%d %H:%M}"
    return f"{local:%Y-%m-%d}"


def relative(value: datetime, now: datetime) -> str | None:
    """ "3 min ago", "in 5 s": None beyond a day, where the date reads better."""
    delta = value - now
    seconds = abs(delta.total_seconds())
    if seconds >= RELATIVE_WITHIN.total_seconds():
        return None
    future = delta.total_seconds() > 0
    if seconds < 5:
        return _("now") if future else _("just now")
    if seconds < 60:
        n = int(seconds)
        return (_("in %(n)d s") if future else _("%(n)d s ago")) % {"n": n}
    if seconds < 3600:
        n = int(seconds // 60)
        return (_("in %(n)d min") if future else _("%(n)d min ago")) % {"n": n}
    n = int(seconds // 3600)
    return (_("in %(n)d h") if future else _("%(n)d h ago")) % {"n": n}


@register.simple_tag(takes_context=True)
def current_zone(context: template.Context) -> Zone:
    """The zone this page shows times in: {% current_zone as zone %}{{ zone.name }}."""
    return _zone(context)


@register.filter
def pretty_json(body: str) -> str:
    """A JSON reply indented for reading; anything else (an HTML error page, a cut-off body) as it came."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return body
    if not isinstance(parsed, (dict, list)):
        return body
    return json.dumps(parsed, indent=2, ensure_ascii=False)
