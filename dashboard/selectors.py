"""Reads: the history search, as a newest-first keyset over Task.id that never counts the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.utils import timezone

from .models import Attempt, Task

# 25 rows keep a page under 15 ms at a million tasks: rendering, not the query, is the cost (bench/).
PAGE_SIZE = 25
# A File ID prefix matching at most this many tasks is fetched through the file_id index; a broader one
# is dense enough that walking the id index newest-first meets a page of matches within about
# PAGE_SIZE * rows / PREFIX_PROBE_LIMIT rows (12,500 at a million). The probe reads up to this many ids.
PREFIX_PROBE_LIMIT = 2000
_MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class HistoryPage:
    tasks: list[Task]
    newer: int | None  # pass as ?after= for the page before this one
    older: int | None  # pass as ?before= for the page after this one


def task_history(
    *,
    q: str = "",
    before: int | None = None,
    after: int | None = None,
    page_size: int | None = None,
    **filters: object,
) -> HistoryPage:
    page_size = page_size or PAGE_SIZE
    qs = _filtered(**filters)
    if qs is None:
        return HistoryPage(tasks=[], newer=None, older=None)
    if q:
        qs = qs.filter(_search_q(q, before=before, after=after, page_size=page_size))
    return _keyset_page(qs.select_related("created_by"), before=before, after=after, page_size=page_size)


def tasks_matching(*, q: str = "", **filters: object) -> QuerySet[Task]:
    """Every task the history's filters match, unpaged (bulk retry): the same filters, and the search's
    meaning (exact RequestId or vendor task id of any attempt, File ID exact or by prefix) without its paging
    shortcuts."""
    qs = _filtered(**filters)
    if qs is None:
        return Task.objects.none()
    if q:
        ids = Attempt.objects.filter(Q(request_id=q) | Q(vendor_task_id=q)).values("task_id")
        qs = qs.filter(Q(pk__in=ids) | _prefix_range(q))
    return qs


def _filtered(
    *,
    vendor: str = "",
    mode: str = "",
    state: str = "",
    result: str = "",
    code: int | None = None,
    submitter: str = "",
    since: date | None = None,
    until: date | None = None,
    batch: int | None = None,
) -> QuerySet[Task] | None:
    """The history's filters other than the search box; None when they cannot match anything."""
    qs = Task.objects.all()
    if batch is not None:
        qs = qs.filter(batch_items__batch_id=batch)
    if vendor:
        qs = qs.filter(vendor=vendor)
    if mode:
        qs = qs.filter(mode=mode)
    if state:
        qs = qs.filter(state=state)
    if result:
        qs = qs.filter(result=result)  # the task_result index
    if code is not None:
        qs = qs.filter(latest_code=code)
    if submitter:
        user_id = get_user_model().objects.filter(username=submitter).values_list("pk", flat=True).first()
        if user_id is None:
            return None
        qs = qs.filter(created_by_id=user_id)
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return qs


def _keyset_page(qs: QuerySet[Task], *, before: int | None, after: int | None, page_size: int) -> HistoryPage:
    if after is not None and before is None:
        rows = list(qs.filter(id__gt=after).order_by("id")[: page_size + 1])
        more_newer = len(rows) > page_size
        tasks = rows[:page_size][::-1]
        return HistoryPage(
            tasks=tasks,
            newer=tasks[0].pk if tasks and more_newer else None,
            older=tasks[-1].pk if tasks else None,
        )
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: page_size + 1])
    tasks = rows[:page_size]
    return HistoryPage(
        tasks=tasks,
        newer=tasks[0].pk if tasks and before is not None else None,
        older=tasks[-1].pk if len(rows) > page_size else None,
    )


def _search_q(q: str, *, before: int | None, after: int | None, page_size: int) -> Q:
    """Exact RequestId or vendor task id of any attempt, or a File ID that equals or starts with q."""
    by_attempt = list(
        Attempt.objects.filter(Q(request_id=q) | Q(vendor_task_id=q))
        .order_by()  # Attempt's default ordering would join Task and sort
        .values_list("task_id", flat=True)[:page_size]
    )
    # Only how many match matters here: without order_by() the default "-id" would sort every match.
    probe = Task.objects.filter(_prefix_range(q)).order_by()
    if before is not None:
        probe = probe.filter(id__lt=before)
    if after is not None:
        probe = probe.filter(id__gt=after)
    sparse = list(probe.values_list("id", flat=True)[: PREFIX_PROBE_LIMIT + 1])
    if len(sparse) <= PREFIX_PROBE_LIMIT:
        return Q(id__in=set(sparse) | set(by_attempt))
    # Dense: an expression no index covers, so the database walks the id index and stops at a page.
    return Q(Exact(Substr("file_id", 1, len(q)), Value(q))) | Q(id__in=by_attempt)


def _prefix_range(q: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(file_id__startswith=q)  # LIKE 'q%', served by the varchar_pattern_ops index
    # SQLite compares with the binary collation, so a range is an exact, index-friendly prefix test.
    return Q(file_id__gte=q, file_id__lt=q + _MAX_CHAR)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
