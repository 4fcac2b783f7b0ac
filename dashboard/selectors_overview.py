"""Reads: the overview on the home page. Counts over the last day and week, a chart of submissions and
failures, the most frequent failure codes, what is in progress. Kept for OVERVIEW_SECONDS in the cache: the
page answers "is anything wrong right now?", and a few seconds of delay cost nothing there.

Computed afresh, it reads index ranges only (bench/overview.py: 14 to 16 ms of SQL at a million tasks):
the windows and the top codes from the task_overview and task_state_created indexes alone, and each bar as
two range counts, all bars in one query. Every range has both ends, so that SQLite's planner takes the range
instead of walking a whole index in GROUP BY order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .models import RETRYABLE_STATES, Batch, State, Task
from .zego.codes import lookup
from .zego.types import MEDIA_THUMBNAILS

OVERVIEW_SECONDS = 15
CHART_WIDTH, CHART_HEIGHT = 720, 120


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    total: int
    failed: int
    x: float
    width: float
    y: float  # top of the bar (SVG's y grows downwards)
    height: float
    failed_y: float
    failed_height: float
    since: str  # the history filter this bar links to (a day)

    @property
    def middle_percent(self) -> float:
        """Where the bar's middle is, in percent of the chart's width: the axis labels are placed by it, outside
        the bars' stretched drawing, so that they keep their shape at any width."""
        return round((self.x + self.width / 2) * 100 / CHART_WIDTH, 2)


@dataclass(frozen=True)
class Window:
    name: str
    total: int
    by_state: dict[str, int]
    by_vendor: dict[str, int]
    by_result: dict[str, int]

    @property
    def failure_rate(self) -> int:
        bad = self.by_state.get(State.FAILED, 0) + self.by_state.get(State.UNKNOWN, 0)
        return round(100 * bad / self.total) if self.total else 0


@dataclass(frozen=True)
class Overview:
    windows: list[Window]
    hours: list[Bar]
    days: list[Bar]

    @property
    def anything(self) -> bool:
        return any(bar.total for bar in self.days)

    top_codes: list[tuple[int, str, int]]
    running: list[Batch]


CACHE_KEY = "thumbs-overview"


def overview_forget() -> None:
    """Drop the cached overview (after a submission, so that the operator sees it counted at once)."""
    cache.delete(CACHE_KEY)


def overview(*, now: datetime | None = None, use_cache: bool = True) -> Overview:
    if use_cache and now is None:
        found = cache.get(CACHE_KEY)
        if found is not None:
            return found
    now = now or timezone.now()
    hours, days = _bars(now)
    data = Overview(
        # Lazy texts: the cached overview is shared by readers of either language.
        windows=[
            _window(_("Last 24 hours"), now - timedelta(days=1), now),
            _window(_("Last 7 days"), now - timedelta(days=7), now),
        ],
        hours=hours,
        days=days,
        top_codes=_top_codes(now - timedelta(days=7), now),
        running=list(Batch.objects.filter(finished_at__isnull=True, cancelled_at__isnull=True)[:5]),
    )
    if use_cache:
        cache.set(CACHE_KEY, data, OVERVIEW_SECONDS)
    return data


def _window(name: str, since: datetime, now: datetime) -> Window:
    recent = Task.objects.filter(created_at__gte=since, created_at__lte=now)
    rows = list(recent.values_list("state", "vendor", "result").annotate(n=Count("*")).order_by())
    by_state: dict[str, int] = {}
    by_vendor: dict[str, int] = {}
    by_result: dict[str, int] = {}
    for state, vendor, result, n in rows:
        by_state[state] = by_state.get(state, 0) + n
        by_vendor[vendor] = by_vendor.get(vendor, 0) + n
        if result:
            by_result[result] = by_result.get(result, 0) + n
    return Window(name, sum(by_state.values()), by_state, by_vendor, by_result)


def _slots(start: datetime, now: datetime, step: timedelta) -> list[datetime]:
    at = start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        at = at.replace(hour=0)
    slots = []
    while at <= now:
        slots.append(at)
        at += step
    return slots


def _bars(now: datetime) -> tuple[list[Bar], list[Bar]]:
    """Hour bars for the last day, day bars for the last 30 days: submitted, and failed or unknown."""
    hours = _slots(now - timedelta(hours=23), now, timedelta(hours=1))
    days = _slots(now - timedelta(days=29), now, timedelta(days=1))
    edges = [
        (a, b)
        for slots, step in ((hours, timedelta(hours=1)), (days, timedelta(days=1)))
        for a, b in pairwise([*slots, slots[-1] + step])
    ]
    totals, failed = _range_counts(edges)
    split = len(hours)
    return (
        _drawn(hours, totals[:split], failed[:split], "%H:00"),
        _drawn(days, totals[split:], failed[split:], "%m-%d"),
    )


def _range_counts(edges: list[tuple[datetime, datetime]]) -> tuple[list[int], list[int]]:
    """Tasks created in each [start, end), and those of them failed or unknown, in one query: for each row
    of a VALUES list of ranges, two correlated counts, each an index range (task_created_at,
    task_state_created). A GROUP BY over a truncated time would call a function on every task (on SQLite,
    a Python one); a subquery per range is planned once per range (9 ms for 55 on PostgreSQL) where the
    correlated ones are planned once; and building the SQL with the ORM costs more than running it."""
    created = Task._meta.get_field("created_at")
    params: list[object] = [*RETRYABLE_STATES]
    for i, edge in enumerate(edges):
        params += [i, *(created.get_db_prep_value(t, connection) for t in edge)]
    # VALUES names its columns column1, column2... on both databases. The table's name comes from the
    # model; every value is a parameter.
    table, ranges = Task._meta.db_table, ", ".join(["(%s, %s, %s)"] * len(edges))
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE created_at >= r.column2 AND created_at < r.column3), "  # noqa: S608
        f"(SELECT COUNT(*) FROM {table} WHERE state IN (%s, %s) AND created_at >= r.column2 "
        f"AND created_at < r.column3) FROM (VALUES {ranges}) AS r ORDER BY r.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [total for total, _ in rows], [failed for _, failed in rows]


def _drawn(slots: list[datetime], totals: list[int], failed_counts: list[int], fmt: str) -> list[Bar]:
    peak = max(totals, default=0) or 1
    width = CHART_WIDTH / max(len(slots), 1)
    bars = []
    for i, (at, total, failed) in enumerate(zip(slots, totals, failed_counts, strict=True)):
        height = round(CHART_HEIGHT * total / peak, 1)
        failed_height = round(CHART_HEIGHT * failed / peak, 1)
        bars.append(
            Bar(
                label=at.strftime(fmt),
                title=format_lazy(
                    _("{time} UTC: {total} submitted, {failed} failed or unknown"),
                    time=f"{at:%Y-%m-%d %H:%M}",
                    total=total,
                    failed=failed,
                ),
                total=total,
                failed=failed,
                x=round(i * width, 1),
                width=round(width * 0.8, 1),
                y=round(CHART_HEIGHT - height, 1),
                height=height,
                failed_y=round(CHART_HEIGHT - failed_height, 1),
                failed_height=failed_height,
                since=at.strftime("%Y-%m-%d"),
            )
        )
    return bars


def _top_codes(since: datetime, now: datetime) -> list[tuple[int, str, int]]:
    rows = (
        Task.objects.filter(state=State.FAILED, created_at__gte=since, created_at__lte=now)
        .values_list("latest_code")
        .annotate(n=Count("*"))
        .order_by("-n")[:5]
    )
    return [(code, lookup(MEDIA_THUMBNAILS, code).meaning, n) for code, n in rows if code is not None]
