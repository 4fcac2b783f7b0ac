"""Reads: the overview on the home page. Counts over the last day and week, a chart of submissions and
failures, the most frequent failure codes, what is in progress. Kept for OVERVIEW_SECONDS in the cache: the
page answers "is anything wrong right now?", and a few seconds of delay cost nothing there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .models import Batch, State, Task
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
    data = Overview(
        # Lazy texts: the cached overview is shared by readers of either language.
        windows=[
            _window(_("Last 24 hours"), now - timedelta(days=1)),
            _window(_("Last 7 days"), now - timedelta(days=7)),
        ],
        hours=_bars(now - timedelta(hours=23), now, TruncHour, timedelta(hours=1), "%H:00"),
        days=_bars(now - timedelta(days=29), now, TruncDay, timedelta(days=1), "%m-%d"),
        top_codes=_top_codes(now - timedelta(days=7)),
        running=list(Batch.objects.filter(finished_at__isnull=True, cancelled_at__isnull=True)[:5]),
    )
    if use_cache:
        cache.set(CACHE_KEY, data, OVERVIEW_SECONDS)
    return data


def _window(name: str, since: datetime) -> Window:
    recent = Task.objects.filter(created_at__gte=since)
    rows = list(recent.values_list("state", "vendor", "result").annotate(n=Count("id")).order_by())
    by_state: dict[str, int] = {}
    by_vendor: dict[str, int] = {}
    by_result: dict[str, int] = {}
    for state, vendor, result, n in rows:
        by_state[state] = by_state.get(state, 0) + n
        by_vendor[vendor] = by_vendor.get(vendor, 0) + n
        if result:
            by_result[result] = by_result.get(result, 0) + n
    return Window(name, sum(by_state.values()), by_state, by_vendor, by_result)


def _bars(start: datetime, now: datetime, trunc, step: timedelta, fmt: str) -> list[Bar]:
    first = start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    counts = {
        bucket: (total, failed)
        for bucket, total, failed in Task.objects.filter(created_at__gte=first)
        .annotate(bucket=trunc("created_at"))
        .values_list("bucket")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(state__in=(State.FAILED, State.UNKNOWN))))
        .order_by()
    }
    slots = []
    at = first
    while at <= now:
        slots.append(at)
        at += step
    peak = max([t for t, _ in counts.values()] or [0]) or 1
    width = CHART_WIDTH / max(len(slots), 1)
    bars = []
    for i, at in enumerate(slots):
        total, failed = counts.get(at, (0, 0))
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


def _top_codes(since: datetime) -> list[tuple[int, str, int]]:
    rows = (
        Task.objects.filter(created_at__gte=since, state=State.FAILED)
        .values_list("latest_code")
        .annotate(n=Count("id"))
        .order_by("-n")[:5]
    )
    return [(code, lookup(MEDIA_THUMBNAILS, code).meaning, n) for code, n in rows if code is not None]
