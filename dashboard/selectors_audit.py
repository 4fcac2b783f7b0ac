"""Reads: the audit trail, newest first, a keyset over id (never a COUNT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from .models import AuditEntry

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older: int | None  # pass as ?before= for the next page


def audit_entries(
    *,
    action: str = "",
    who: str = "",
    task: int | None = None,
    since: date | None = None,
    until: date | None = None,
    before: int | None = None,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    qs = AuditEntry.objects.select_related("task")
    if action:
        qs = qs.filter(action=action)
    if who:
        qs = qs.filter(Q(actor_name=who) | Q(details__user=who))
    if task is not None:
        qs = qs.filter(task_id=task)
    if since:
        qs = qs.filter(at__gte=_day_start(since))
    if until:
        qs = qs.filter(at__lt=_day_start(until + timedelta(days=1)))
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: page_size + 1])
    entries = rows[:page_size]
    return AuditPage(entries=entries, older=entries[-1].pk if len(rows) > page_size else None)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
