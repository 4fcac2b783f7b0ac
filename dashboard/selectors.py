"""Reads: the history search, as a newest-first keyset over Task.id that never counts the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.utils import timezone

from .models import Attempt, Task

# 25 rows a page: rendering them, not finding them, is most of what a page costs (bench/README.md).
PAGE_SIZE = 25
# A File ID prefix matching at most PREFIX_PROBE_LIMIT tasks is fetched by the ids that a probe of the
# file_id index reads. A broader one is first looked for among the PREFIX_WINDOW ids next to the cursor,
# where matches spread over the table are met; the rest is found bucket by bucket of PREFIX_BUCKET ids
# through the index of migration 0013, which must use the same number (see _dense_prefix_rows).
PREFIX_PROBE_LIMIT = 1000
PREFIX_WINDOW = 16384
PREFIX_BUCKET = 16384
PREFIX_BUCKETS_A_QUERY = 64
_MAX_CHAR = "\U0010ffff"
_TASK, _ATTEMPT = Task._meta.db_table, Attempt._meta.db_table


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
    batch: int | None = None,
    **filters: object,
) -> HistoryPage:
    page_size = page_size or PAGE_SIZE
    qs = _filtered(**filters, batch=batch if q else None)  # without a search, the keyset joins the batch
    if qs is None:
        return HistoryPage(tasks=[], newer=None, older=None)
    qs = qs.select_related("created_by")
    if q:
        filtered = any(v not in ("", None) for v in (*filters.values(), batch))
        return _search_page(qs, q, filtered=filtered, before=before, after=after, page_size=page_size)
    return _keyset_page(qs, before=before, after=after, page_size=page_size, batch=batch)


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


def _keyset_page(
    qs: QuerySet[Task], *, before: int | None, after: int | None, page_size: int, batch: int | None = None
) -> HistoryPage:
    rows = _keyset_rows(qs, before=before, after=after, limit=page_size + 1, batch=batch)
    return _page(rows, before=before, after=after, page_size=page_size)


def _keyset_rows(
    qs: QuerySet[Task], *, before: int | None, after: int | None, limit: int, batch: int | None = None
) -> list[Task]:
    """The first `limit` rows away from the cursor: newest first, or oldest first after ?after=.

    With ``batch``, only that batch's tasks, walked by its items' task ids (the same numbers) in their
    (batch, task) index: the database reads a page of items instead of sorting every task of the batch.
    One filter() call, so that the cursor and the order use the join that picks the batch."""
    key = "id" if batch is None else "batch_items__task_id"
    where: dict[str, object] = {} if batch is None else {"batch_items__batch_id": batch}
    if not _newest_first(before, after):
        where.update({"id__gt": after, f"{key}__gt": after})
        return list(qs.filter(**where).order_by(key)[:limit])
    if before is not None:
        where.update({"id__lt": before, f"{key}__lt": before})  # both: PostgreSQL bounds each side of the join
    return list(qs.filter(**where).order_by(f"-{key}")[:limit])


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
    limit = page_size + 1
    probe = _probe(q, before=before, after=after, limit=limit)
    sparse = probe.count <= PREFIX_PROBE_LIMIT
    top = (before if before is not None else probe.newest + 1) if _newest_first(before, after) else None
    if filtered:  # the other filters decide which matches count: the database sees them all
        if sparse:
            matches = {*_prefix_ids(q, before=before, after=after), *probe.by_attempt}
            return _keyset_page(qs.filter(id__in=matches), before=before, after=after, page_size=page_size)
        rows = _filtered_prefix_rows(qs, q, top=top, after=after, limit=limit)
        rows = _merge(rows, _keyset_rows(qs.filter(id__in=probe.by_attempt), before=before, after=after, limit=limit))
        rows = rows if top is not None else rows[::-1]
        return _page(rows[:limit], before=before, after=after, page_size=page_size)
    if sparse:  # the probe saw every File ID match: only the page's own rows are fetched
        ids = _first_ids({*probe.first, *probe.by_attempt}, before=before, after=after, limit=limit)
        return _keyset_page(qs.filter(id__in=ids), before=before, after=after, page_size=page_size)
    rows = _dense_prefix_rows(qs, q, probe.first, top=top, after=after, limit=limit)
    if probe.by_attempt:
        rows = _merge(rows, _keyset_rows(qs.filter(id__in=probe.by_attempt), before=before, after=after, limit=limit))
        rows = rows if top is not None else rows[::-1]
    return _page(rows[:limit], before=before, after=after, page_size=page_size)


@dataclass(frozen=True)
class _Probe:
    by_attempt: list[int]  # tasks with an attempt whose RequestId or vendor task id is q
    count: int  # File IDs starting with q, counted up to PREFIX_PROBE_LIMIT + 1
    first: list[int]  # the first `limit` of those, away from the cursor
    newest: int  # the newest task's id


def _probe(q: str, *, before: int | None, after: int | None, limit: int) -> _Probe:
    """One round trip. The File ID matches are read in index order, not id order (so the database never
    sorts every match), up to PREFIX_PROBE_LIMIT + 1 of them: the first few of these by id come back."""
    prefix, params = _prefix_sql(q)
    if before is not None:
        prefix, params = f"{prefix} AND id < %s", [*params, before]
    if after is not None:
        prefix, params = f"{prefix} AND id > %s", [*params, after]
    direction = "DESC" if _newest_first(before, after) else "ASC"
    # Table names and conditions from this module; every value is a parameter.
    sql = (
        f"SELECT 'attempt', task_id, 0 FROM (SELECT task_id FROM {_ATTEMPT} WHERE request_id = %s "  # noqa: S608
        f"OR vendor_task_id = %s LIMIT %s) a "
        f"UNION ALL SELECT * FROM (SELECT 'prefix', id, COUNT(*) OVER () FROM (SELECT id FROM {_TASK} "
        f"WHERE {prefix} LIMIT %s) p ORDER BY id {direction} LIMIT %s) f "
        f"UNION ALL SELECT 'newest', MAX(id), 0 FROM {_TASK}"
    )
    by_attempt, first, count, newest = [], [], 0, 0
    for kind, pk, n in _rows(sql, [q, q, limit - 1, *params, PREFIX_PROBE_LIMIT + 1, limit]):
        if kind == "attempt":
            by_attempt.append(pk)
        elif kind == "prefix":
            first.append(pk)
            count = n
        elif pk is not None:
            newest = pk
    return _Probe(by_attempt=by_attempt, count=count, first=first, newest=newest)


def _prefix_ids(q: str, *, before: int | None, after: int | None) -> list[int]:
    """Every File ID match within the cursor, for a prefix the probe saw whole."""
    prefix, params = _prefix_sql(q)
    if before is not None:
        prefix, params = f"{prefix} AND id < %s", [*params, before]
    if after is not None:
        prefix, params = f"{prefix} AND id > %s", [*params, after]
    return [pk for (pk,) in _rows(f"SELECT id FROM {_TASK} WHERE {prefix}", params)]  # noqa: S608


def _dense_prefix_rows(
    qs: QuerySet[Task], q: str, first_matches: list[int], *, top: int | None, after: int | None, limit: int
) -> list[Task]:
    """The first `limit` File ID prefix matches below top (the cursor, or past the newest task), or else
    above after, for a prefix with more matches than the probe reads; ids found in SQL, rows in the same query.

    Matches spread over the table are met within a few rows: walk the id index from the cursor over at
    most PREFIX_WINDOW ids, testing an expression no index covers, and stop at a page. If the page is not
    all there (the matches are old, say), the rest comes from the index on (id / PREFIX_BUCKET, file_id):
    the database seeks the prefix in each bucket of ids down to the bound instead of walking every row.
    """
    newest_first = top is not None
    direction, order = ("DESC", "-id") if newest_first else ("ASC", "id")
    # The probe's first `limit` matches are a part of all of them: the page lies between the cursor and the
    # last of these (the bound), and a window that reaches the bound is sure to fill the page.
    bound = first_matches[-1] if len(first_matches) == limit else None
    if newest_first:
        first, last = max(top - PREFIX_WINDOW, bound or 0), top - 1
    else:
        first, last = after + 1, min(after + PREFIX_WINDOW, bound or after + PREFIX_WINDOW)
    rows: list[Task] = []
    if first_matches and first <= first_matches[0] <= last:
        near = (
            f"SELECT id FROM {_TASK} WHERE id >= %s AND id <= %s AND substr(file_id, 1, %s) = %s "  # noqa: S608
            f"ORDER BY id {direction} LIMIT %s"
        )
        rows = list(qs.filter(id__in=RawSQL(near, [first, last, len(q), q, limit])).order_by(order))  # noqa: S611
        if len(rows) == limit:
            return rows
        low, high = (bound or 0, first - 1) if newest_first else (last + 1, bound)
    else:  # none of the probe's matches in the window: the buckets cover it as well
        low, high = (bound or 0, top - 1) if newest_first else (after + 1, bound)
    need = limit - len(rows)
    if bound is None:
        chunks: list[list[int] | None] = [None]
    else:
        buckets = list(range(low // PREFIX_BUCKET, high // PREFIX_BUCKET + 1))[:: -1 if newest_first else 1]
        chunks = [buckets[i : i + PREFIX_BUCKETS_A_QUERY] for i in range(0, len(buckets), PREFIX_BUCKETS_A_QUERY)]

    def far(chunk: list[int] | None, count: int) -> tuple[str, list]:
        prefix, params = _prefix_sql(q)
        if chunk is not None:
            # The divisor written out as in the index (migration 0013): a parameter would not match it.
            prefix = f"{prefix} AND id / {PREFIX_BUCKET:d} IN ({', '.join(['%s'] * len(chunk))})"
            params += chunk
        # id + 0, not id: with a condition or an order on id itself the database would walk the id index.
        if high is not None:
            prefix, params = f"{prefix} AND id + 0 <= %s", [*params, high]
        sql = f"SELECT id FROM {_TASK} WHERE {prefix} AND id + 0 >= %s ORDER BY id + 0 {direction} LIMIT %s"  # noqa: S608
        return sql, [*params, low, count]

    if len(chunks) == 1:
        far_ids = RawSQL(*far(chunks[0], need))  # noqa: S611 -- as above, values are parameters
        return rows + list(qs.filter(id__in=far_ids).order_by(order))
    # Many buckets (an old prefix in a large table): a few at a time, in walking order, until the page is
    # full. Given hundreds at once, PostgreSQL reads every match from the file_id index instead (138 ms
    # for /vod/ at 10M tasks, bench/README.md).
    ids: list[int] = []
    for chunk in chunks:
        ids += [pk for (pk,) in _rows(*far(chunk, need - len(ids)))]
        if len(ids) == need:
            break
    return rows + list(qs.filter(id__in=ids).order_by(order))


def _filtered_prefix_rows(qs: QuerySet[Task], q: str, *, top: int | None, after: int | None, limit: int) -> list[Task]:
    """As _dense_prefix_rows, with other filters: the window first, then every match from the file_id index."""
    starts = Q(Exact(Substr("file_id", 1, len(q)), Value(q)))
    if top is not None:
        rows = list(qs.filter(starts, id__gte=top - PREFIX_WINDOW, id__lt=top).order_by("-id")[:limit])
        beyond, order = Q(id0__lt=top - PREFIX_WINDOW), "-id0"
    else:
        rows = list(qs.filter(starts, id__gt=after, id__lte=after + PREFIX_WINDOW).order_by("id")[:limit])
        beyond, order = Q(id0__gt=after + PREFIX_WINDOW), "id0"
    if len(rows) == limit:
        return rows
    # id + 0, not id: ordered by id itself the database would walk the id index again.
    far = qs.alias(id0=F("id") + 0).filter(_prefix_range(q), beyond).order_by(order).values("id")[: limit - len(rows)]
    return rows + list(qs.filter(id__in=far).order_by(order.replace("id0", "id")))


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _prefix_sql(q: str) -> tuple[str, list]:
    """The File ID prefix test in SQL, as _prefix_range has the ORM write it (so the same indexes serve it)."""
    if connection.vendor == "postgresql":
        return "file_id LIKE %s", [connection.ops.prep_for_like_query(q) + "%"]
    return "file_id >= %s AND file_id < %s", [q, q + _MAX_CHAR]


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
