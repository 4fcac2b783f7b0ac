"""Benchmark: the overview (the home page) at a million tasks, from its cache and computed afresh.

    .venv/bin/python -m bench.overview --keep                          # SQLite file in a temp dir
    scripts/with-postgres.sh .venv/bin/python -m bench.overview         # the same on a throwaway PostgreSQL

The rows are bench.history's (the same fill, and with --keep the same SQLite file: fill once, run the history,
overview and export benchmarks on it). The clock is set to the fill's end, so that the last day, week and
month hold what they would on a console busy all year. Three things are timed, round robin:

- the home page through Django's WSGI handler with the overview in its cache (most requests);
- the home page with the cache emptied first (one request every OVERVIEW_SECONDS pays this);
- the overview selector alone, uncached (its queries and the chart's arithmetic).

Before timing, the overview's counts are checked against plain reference queries (a range count per bar),
so that a wrong answer is never timed as a fast one.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.history.main import _remove_sqlite, resolve_database, setup_django, write_results

TARGET_MS = 50.0
warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for a benchmark


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.overview", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=1_000_000, help="tasks to fill (default 1,000,000)")
    p.add_argument("--attempts-per-task", type=int, default=2, help="attempts per task (default 2)")
    p.add_argument("--repeat", type=int, default=30, help="timed rounds (default 30)")
    p.add_argument(
        "--database-url", help="database to fill and measure (default: $DATABASE_URL, else a SQLite file in a temp dir)"
    )
    p.add_argument("--output", type=Path, help="write the results as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the filled database, and reuse one that holds the rows")
    p.add_argument("--explain", action="store_true", help="store the uncached overview's query plans in the JSON")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    args = p.parse_args(argv)
    if args.tasks < 1 or args.attempts_per_task < 1 or args.repeat < 1:
        p.error("--tasks, --attempts-per-task and --repeat must be at least 1")
    return args


@contextmanager
def frozen_clock(now: datetime):
    """The overview's clock at `now` (the rest of Django keeps the real one: sessions must not expire)."""
    from unittest import mock

    from django.utils import timezone

    from dashboard import selectors_overview

    if getattr(selectors_overview, "timezone", None) is not timezone:
        raise SystemExit(
            "bench: dashboard.selectors_overview no longer reads django.utils.timezone: update frozen_clock"
        )

    class Frozen:
        def __getattr__(self, name: str):
            return getattr(timezone, name)

        @staticmethod
        def now() -> datetime:
            return now

    with mock.patch.object(selectors_overview, "timezone", Frozen()):
        yield


def reference(now: datetime) -> dict:
    """What the overview must say, from plain queries: counts per window and state, per bar, per failure code."""
    from django.db.models import Q

    from dashboard.models import State, Task

    bad = Q(state__in=(State.FAILED, State.UNKNOWN))
    windows = []
    for days in (1, 7):
        recent = Task.objects.filter(created_at__gte=now - timedelta(days=days))
        by_state = {s: recent.filter(state=s).count() for s in State.values}
        windows.append((recent.count(), {s: n for s, n in by_state.items() if n}))
    bars = []
    hour = now.replace(minute=0, second=0, microsecond=0)
    edges = [
        (hour - timedelta(hours=23), timedelta(hours=1)),  # 24 or 25 bars: the hour now running is the last
        (hour.replace(hour=0) - timedelta(days=29), timedelta(days=1)),
    ]
    for start, step in edges:
        while start <= now:
            span = Task.objects.filter(created_at__gte=start, created_at__lt=start + step)
            bars.append((span.count(), span.filter(bad).count()))
            start += step
    week_failed = Task.objects.filter(created_at__gte=now - timedelta(days=7), state=State.FAILED)
    codes = {
        c: week_failed.filter(latest_code=c).count() for c in set(week_failed.values_list("latest_code", flat=True))
    }
    return {
        "windows": windows,
        "bars": bars,
        "top_codes": sorted(((n, c) for c, n in codes.items() if c is not None), reverse=True)[:5],
    }


def check(now: datetime) -> dict:
    """The overview as computed matches the reference; returns the reference's headline figures."""
    from dashboard.selectors_overview import overview

    want = reference(now)
    got = overview(now=now, use_cache=False)
    have = {
        "windows": [(w.total, w.by_state) for w in got.windows],
        "bars": [(b.total, b.failed) for b in [*got.hours, *got.days]],
        "top_codes": sorted(((n, c) for c, _, n in got.top_codes), reverse=True),
    }
    for key in want:
        if have[key] != want[key]:
            raise SystemExit(
                f"bench: the overview's {key} differ from the reference:\n  got  {have[key]}\n  want {want[key]}"
            )
    if not want["windows"][0][0]:
        raise SystemExit("bench: the last 24 hours hold no task: the overview would measure nothing")
    return {
        "tasks_24h": want["windows"][0][0],
        "tasks_7d": want["windows"][1][0],
        "tasks_30d": sum(t for t, _ in want["bars"][len(got.hours) :]),
        "bars": len(want["bars"]),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, owned = resolve_database(args)
    setup_django(url)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from bench.history import fill, measure, report
    from dashboard.selectors_overview import overview, overview_forget

    vendor = connection.vendor
    shown = url if vendor == "sqlite" else re.sub(r"//[^@/]*@", "//***@", url)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    print(
        f"bench: overview on {vendor} at {shown}; {args.tasks:,} tasks x {args.attempts_per_task} attempts", flush=True
    )
    try:
        admin, fill_info = fill.prepare(tasks=args.tasks, attempts_per_task=args.attempts_per_task, keep=args.keep)
        now = fill.END.replace(tzinfo=UTC)
        client = measure.WsgiClient(admin)
        with frozen_clock(now):
            figures = check(now)
            overview_forget()
            reset_queries()
            clock = measure.SqlClock()
            with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(clock):
                overview(now=now, use_cache=False)
            sql = [{"sql": q["sql"], "ms": round(ms, 3)} for q, ms in zip(captured, clock.calls, strict=True)]
            if args.explain:
                for q in sql:
                    q["plan"] = measure.explain_sql(q["sql"])
            status, body, _ = client.get("/")
            if status != 200 or not re.search(rf"\b{figures['tasks_24h']:,}\b|\b{figures['tasks_24h']}\b", body):
                raise SystemExit(
                    f"bench: the home page answered {status} without the last day's {figures['tasks_24h']}"
                )
            print(
                f"bench: the overview counts right ({figures['tasks_24h']:,} tasks in 24 h, {figures['tasks_7d']:,} "
                f"in 7 days, {figures['tasks_30d']:,} in the chart's 30 days); timing {args.repeat} rounds",
                flush=True,
            )
            samples: dict[str, list[float]] = {"cached": [], "uncached": [], "selector": []}
            sql_ms: dict[str, list[float]] = {"cached": [], "uncached": [], "selector": []}
            for _ in range(args.repeat):
                for kind in ("uncached", "cached", "selector"):
                    clock = measure.SqlClock()
                    with connection.execute_wrapper(clock):
                        if kind == "selector":
                            started = time.perf_counter()
                            overview(now=now, use_cache=False)
                            ms = (time.perf_counter() - started) * 1000
                        else:
                            if kind == "uncached":
                                overview_forget()
                            status, _, ms = client.get("/")
                            if status != 200:
                                raise SystemExit(f"bench: the home page answered {status}")
                    samples[kind].append(ms)
                    sql_ms[kind].append(sum(clock.calls))
        results = {}
        for kind, label in (
            ("cached", "home page, overview from the cache"),
            ("uncached", "home page, overview computed"),
            ("selector", "overview selector alone"),
        ):
            stats = measure.stats(samples[kind])
            stats["sql_median_ms"] = round(sorted(sql_ms[kind])[len(sql_ms[kind]) // 2], 2)
            stats["pass"] = stats["median_ms"] < TARGET_MS
            results[kind] = {"label": label, **stats}
            print(
                f"bench: {label:<36} median {stats['median_ms']:7.2f} ms  p95 {stats['p95_ms']:7.2f}  "
                f"sql {stats['sql_median_ms']:7.2f}  {'PASS' if stats['pass'] else 'MISSED'} ({TARGET_MS:.0f} ms)",
                flush=True,
            )
        output = {
            "benchmark": "overview (the home page), cached and uncached",
            "machine": {**report.machine_info(), "load_average_at_start": load_at_start},
            "config": {
                "tasks": args.tasks,
                "attempts_per_task": args.attempts_per_task,
                "repeat": args.repeat,
                "database": shown,
                "clock": now.isoformat(),
                "client": "django.core.handlers.wsgi.WSGIHandler",
                **report.connection_settings(),
            },
            "fill": fill_info,
            "rows": figures,
            "target_ms": TARGET_MS,
            "queries": sql,
            "results": results,
            "all_pass": all(r["pass"] for r in results.values()),
        }
        write_results(args.output, output)
        return 1 if args.strict and not output["all_pass"] else 0
    finally:
        connection.close()
        if owned and not args.keep:
            _remove_sqlite(owned)


if __name__ == "__main__":
    sys.exit(main())
