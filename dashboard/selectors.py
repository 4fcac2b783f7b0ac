"""Reads: the history search, as a newest-first keyset over Task.id that never counts the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BigIntegerField, ExpressionWrapper, F, Func, Max, Q, QuerySet, Subquery, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.utils import timezone

from .models import Attempt, Task

# 25 rows keep a page under 15 ms at a million tasks: rendering, not the query, is the cost (bench/).
PAGE_SIZE = 25
# A File ID prefix matching at most PREFIX_PROBE_LIMIT tasks is fetched by the ids that a probe of the
# file_id index reads. A broader one is first looked for among the PREFIX_WINDOW ids next to the cursor,
# where matches spread over the table are met; the rest is found bucket by bucket of PREFIX_BUCKET ids
# through the index of migration 0004, which must use the same number (see _dense_prefix_rows).
PREFIX_PROBE_LIMIT = 2000
PREFIX_WINDOW = 2000
PREFIX_BUCKET = 16384
_MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class HistoryPage:
    tasks: list[Task]
    newer: int | None  # pass as ?after= for the page before this one
    older: int | None  # pass as ?before= for the page after this one


def task_history(
    *,
    q: str = "",
    vendor: str = "",
    mode: str = "",
    state: str = "",
    code: int | None = None,
    submitter: str = "",
    since: date | None = None,
    until: date | None = None,
    before: int | None = None,
    after: int | None = None,
    page_size: int | None = None,
) -> HistoryPage:
    page_size = page_size or PAGE_SIZE
    qs = Task.objects.select_related("created_by")
    if vendor:
        qs = qs.filter(vendor=vendor)
    if mode:
        qs = qs.filter(mode=mode)
    if state:
        qs = qs.filter(state=state)
    if code is not None:
        qs = qs.filter(latest_code=code)
    if submitter:
        user_id = get_user_model().objects.filter(username=submitter).values_list("pk", flat=True).first()
        if user_id is None:
            return HistoryPage(tasks=[], newer=None, older=None)
        qs = qs.filter(created_by_id=user_id)
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    if q:
        filtered = any(v not in ("", None) for v in (vendor, mode, state, code, submitter, since, until))
        return _search_page(qs, q, filtered=filtered, before=before, after=after, page_size=page_size)
    return _keyset_page(qs, before=before, after=after, page_size=page_size)


def _keyset_page(qs: QuerySet[Task], *, before: int | None, after: int | None, page_size: int) -> HistoryPage:
    rows = _keyset_rows(qs, before=before, after=after, limit=page_size + 1)
    return _page(rows, before=before, after=after, page_size=page_size)


def _keyset_rows(qs: QuerySet[Task], *, before: int | None, after: int | None, limit: int) -> list[Task]:
    """The first `limit` rows away from the cursor: newest first, or oldest first after ?after=."""
    if not _newest_first(before, after):
        return list(qs.filter(id__gt=after).order_by("id")[:limit])
    if before is not None:
        qs = qs.filter(id__lt=before)
    return list(qs.order_by("-id")[:limit])


def _newest_first(before: int | None, after: int | None) -> bool:
    return before is not None or after is None


def _page(rows: list[Task], *, before: int | None, after: int | None, page_size: int) -> HistoryPage:
    """rows: up to page_size + 1 tasks in walking order, away from the cursor."""
    if not _newest_first(before, after):
        tasks = rows[:page_size][::-1]
        return HistoryPage(
            tasks=tasks,
            newer=tasks[0].pk if tasks and len(rows) > page_size else None,
            older=tasks[-1].pk if tasks else None,
        )
    tasks = rows[:page_size]
    return HistoryPage(
        tasks=tasks,
        newer=tasks[0].pk if tasks and before is not None else None,
        older=tasks[-1].pk if len(rows) > page_size else None,
    )


def _search_page(
    qs: QuerySet[Task], q: str, *, filtered: bool, before: int | None, after: int | None, page_size: int
) -> HistoryPage:
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
    sample = list(probe.values_list("id", flat=True)[: PREFIX_PROBE_LIMIT + 1])
    limit = page_size + 1
    if len(sample) <= PREFIX_PROBE_LIMIT:
        matches = set(sample) | set(by_attempt)
        if not filtered:  # every match is known: fetch only the page's own rows
            matches = _first_ids(matches, before=before, after=after, limit=limit)
        return _keyset_page(qs.filter(id__in=matches), before=before, after=after, page_size=page_size)
    rows = _dense_prefix_rows(qs, q, sample=None if filtered else sample, before=before, after=after, limit=limit)
    if by_attempt:
        rows = _merge(rows, _keyset_rows(qs.filter(id__in=by_attempt), before=before, after=after, limit=limit))
        rows = rows if _newest_first(before, after) else rows[::-1]
    return _page(rows[:limit], before=before, after=after, page_size=page_size)


def _dense_prefix_rows(
    qs: QuerySet[Task], q: str, *, sample: list[int] | None, before: int | None, after: int | None, limit: int
) -> list[Task]:
    """The first `limit` File ID prefix matches away from the cursor, for a prefix with many matches.

    Matches spread over the table are met within a few rows: walk the id index from the cursor over at
    most PREFIX_WINDOW ids, testing an expression no index covers. If they are not all there (the
    matches are old, say), the rest comes from the index on (id / PREFIX_BUCKET, file_id): the probe's
    sample holds `limit` matches, so the page lies between the window and the sample's limit-th one,
    and the database seeks the prefix in each bucket of ids in between instead of walking its rows.
    With other filters the sample says nothing about the page: the file_id index then gives every match.
    """
    starts = Q(Exact(Substr("file_id", 1, len(q)), Value(q)))
    newest_first = _newest_first(before, after)
    if not newest_first:
        edge = after + PREFIX_WINDOW
        rows = list(qs.filter(starts, id__gt=after, id__lte=edge).order_by("id")[:limit])
    elif before is not None:
        edge = before - PREFIX_WINDOW
        rows = list(qs.filter(starts, id__gte=edge, id__lt=before).order_by("-id")[:limit])
    else:  # the newest id, in the same query
        newest = Subquery(Task.objects.order_by("-id").values("id")[:1])
        window = ExpressionWrapper(newest - (PREFIX_WINDOW - 1), output_field=BigIntegerField())
        rows = list(qs.filter(starts, id__gte=window).order_by("-id")[:limit])
    if len(rows) == limit:
        return rows
    if newest_first and before is None:
        edge = (Task.objects.aggregate(newest=Max("id"))["newest"] or 0) + 1 - PREFIX_WINDOW
    # id + 0, not id: with a condition or an order on id itself the database would walk the id index again.
    far = qs.alias(id0=F("id") + 0).filter(_prefix_range(q))
    if newest_first:
        far, order = far.filter(id0__lt=edge), "-id0"
    else:
        far, order = far.filter(id0__gt=edge), "id0"
    if sample is not None and len(sample) >= limit:
        bound = sorted(sample, reverse=newest_first)[limit - 1]
        low, high = (bound, edge - 1) if newest_first else (edge + 1, bound)
        buckets = range(low // PREFIX_BUCKET, high // PREFIX_BUCKET + 1)
        far = far.alias(bucket=_IdBucket("id")).filter(id0__gte=low, id0__lte=high, bucket__in=list(buckets))
    far_ids = far.order_by(order).values("id")[: limit - len(rows)]
    return rows + list(qs.filter(id__in=far_ids).order_by("-id" if newest_first else "id"))


class _IdBucket(Func):
    output_field = BigIntegerField()

    def __init__(self, expression: str) -> None:
        super().__init__(expression)
        # The divisor is written into the SQL as in the index (migration 0004): a bound parameter would
        # not match the index's expression, and the database would not use the index.
        self.template = f"(%(expressions)s / {PREFIX_BUCKET:d})"


def _first_ids(ids: set[int], *, before: int | None, after: int | None, limit: int) -> list[int]:
    if _newest_first(before, after):
        return sorted((i for i in ids if before is None or i < before), reverse=True)[:limit]
    return sorted(i for i in ids if i > after)[:limit]


def _merge(a: list[Task], b: list[Task]) -> list[Task]:
    """Newest first, each task once."""
    return sorted({t.pk: t for t in [*a, *b]}.values(), key=lambda t: t.pk, reverse=True)


def _prefix_range(q: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(file_id__startswith=q)  # LIKE 'q%', served by the varchar_pattern_ops index
    # SQLite compares with the binary collation, so a range is an exact, index-friendly prefix test.
    return Q(file_id__gte=q, file_id__lt=q + _MAX_CHAR)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
