#!/usr/bin/env python
"""Benchmark: the history page against Django's own admin changelist, at a million tasks.

    .venv/bin/python bench/history.py                          # SQLite file in a temp dir, 1,000,000 tasks
    scripts/with-postgres.sh .venv/bin/python bench/history.py  # the same on a throwaway PostgreSQL

It migrates the target database, bulk-fills tasks and attempts (raw executemany on SQLite, COPY on
PostgreSQL, secondary indexes built after the load), ANALYZEs, then times real requests through Django's
test Client with a logged-in superuser: middleware, session, auth, view, selector and template rendering.
Every response must be a 200 and every history page must list exactly the rows an independent reference
query gives, so an error page or a wrong answer can never be timed as a fast one. Results are printed as
a table and written as JSON (see bench/README.md for the targets and the numbers measured).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEVELOPER_DB = ROOT / "db.sqlite3"

# --- Targets (the product owner's) -----------------------------------------------------------------
TARGET_MS = 15.0  # every history case, median
TARGET_EXACT_MS = 10.0  # exact lookups (RequestId), median
RATIO_LIST = {"sqlite": 50.0, "postgresql": 20.0}  # admin median / history median, list pages
RATIO_SEARCH = 500.0  # admin median / history median, searches (both databases)

PAGE = 200  # the deep page reached by following cursors
SEED = 20261127
END = datetime(2026, 11, 27)  # naive UTC: the newest task is created just before this
SPAN = timedelta(days=365)  # tasks are spread evenly over a year, created_at increasing with id
STREAMS = 5000  # Huawei recordings: /record/stream-NNNN/YYYYMMDD-HHMMSS.mp4
LEGACY_SHARE = 0.10  # the oldest tenth of Huawei tasks use the bucket's old layout, /vod/...
TENCENT_PREFIX = "1397"  # every Tencent FileId here: 1397 + 15 digits (19 digits)
RID_MULT = 5903470279234613357  # coprime with 9e18: 10**18 + (n * RID_MULT) % 9e18 is a bijection
RID_OFFSET = 123456789012345678
FAILED_CODES = ((1000, 40), (41003, 35), (6, 10), (2, 10), (7, 5))  # failed tasks: code, weight


# --- Django set-up -----------------------------------------------------------------------------------
def default_sqlite_path(tasks: int, attempts_per_task: int) -> Path:
    return Path(tempfile.gettempdir()) / "thumbs-bench" / f"history-{tasks}x{attempts_per_task}.sqlite3"


def setup_django(database_url: str) -> None:
    os.environ.update(
        {
            "THUMBS_ENV_FILE": "",  # read no .env: the developer's settings never leak in
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "off",
            "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "off",
            "DJANGO_HSTS_SECONDS": "0",
            "ZEGO_SIMULATOR": "on",
            "DJANGO_SETTINGS_MODULE": "thumbs_admin.settings",
        }
    )
    for name in ("ZEGO_APP_ID", "ZEGO_SERVER_SECRET", "ZEGO_API_URL"):
        os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Data ----------------------------------------------------------------------------------------------
def request_id(n: int) -> str:
    """The n-th attempt's RequestId: 19 digits, unique for every n below 9e18, random-looking."""
    return str(10**18 + (n * RID_MULT + RID_OFFSET) % (9 * 10**18))


TASK_COLUMNS = (
    "id", "vendor", "mode", "file_id", "definition", "time_points", "interval", "created_at",
    "submission_token", "state", "state_changed_at", "latest_code", "latest_message", "latest_request_id",
    "vendor_task_id", "attempt_count", "created_by_id", "resubmitted_from_id",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "number", "reason", "started_at", "finished_at", "state", "nonce", "timestamp", "request_id",
    "vendor_task_id", "vendor_request_id", "code", "message", "http_status", "latency_ms", "transport_error",
    "transport_detail", "may_have_reached", "response_body", "created_by_id", "task_id",
)  # fmt: skip


class RowMaker:
    """Deterministic, realistic rows; datetimes come out as the text each database stores."""

    def __init__(self, *, tasks: int, attempts_per_task: int, user_ids: list[int], vendor: str) -> None:
        from dashboard.models import ACTION
        from dashboard.zego.codes import lookup

        self.rng = random.Random(SEED)
        self.tasks = tasks
        self.apt = attempts_per_task
        self.user_ids = user_ids
        self.suffix = "+00" if vendor == "postgresql" else ""
        self.start = END - SPAN
        self.step = SPAN.total_seconds() / max(tasks, 1)
        self.legacy_below = int(tasks * LEGACY_SHARE)
        self.streams = [f"stream-{k:04d}" for k in range(STREAMS)]
        self.meaning = {code: lookup(ACTION, code).meaning for code, _ in FAILED_CODES}
        self.meaning[0] = lookup(ACTION, 0).meaning
        codes, weights = zip(*FAILED_CODES, strict=True)
        self.failed_codes = self.rng.choices(codes, weights, k=4096)  # a pool: choices() per row is slow
        self.time_points = ['["1"]', '["0.5", "10", "30"]', '["5", "15"]', '["2.25", "60", "120", "180"]']

    def dt(self, value: datetime) -> str:
        return str(value) + self.suffix

    def batch(self, first: int, last: int) -> tuple[list[tuple], list[tuple]]:
        """Tasks first..last (ids) and all their attempts."""
        rand, bits = self.rng.random, self.rng.getrandbits
        apt, dt, td = self.apt, self.dt, timedelta
        tasks, attempts = [], []
        for tid in range(first, last + 1):
            created = self.start + td(seconds=(tid - 1) * self.step + rand() * self.step * 0.9)
            tencent = rand() < 0.6
            vendor = "Tencent" if tencent else "Huawei"
            if tencent:
                file_id = f"{TENCENT_PREFIX}{bits(50) % 10**15:015d}"
            else:
                recorded = created - td(seconds=60 + bits(12))
                folder = "vod" if tid <= self.legacy_below else "record"
                file_id = f"/{folder}/{self.streams[bits(20) % STREAMS]}/{recorded:%Y%m%d-%H%M%S}.mp4"
            if rand() < 0.55:
                mode, points, interval = "SnapshotByTimeOffset", self.time_points[bits(2)], None
            else:
                mode, points, interval = "SampleSnapshot", "[]", (10, 30, 60, 300)[bits(2)]
            definition = (None, 10, 20, 30)[bits(2)]
            roll = rand()
            state = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "unknown"
            code = 0 if state == "succeeded" else self.failed_codes[bits(12)] if state == "failed" else None
            user = self.user_ids[bits(8) % len(self.user_ids)]
            base = (tid - 1) * apt
            started = created
            for number in range(1, apt + 1):
                last_one = number == apt
                a_state, a_code = (state, code) if last_one else ("failed", 6 if rand() < 0.5 else 1000)
                rid = request_id(base + number)
                if tencent:
                    vtid = f"1500030200-procedurev2-{bits(128):032x}tt0"
                    vrid = f"{bits(128):032x}"
                else:
                    vtid, vrid = f"{bits(128):032x}", ""
                latency = 80 + bits(9)
                finished = started + td(milliseconds=latency)
                if a_code is None:  # unknown: the answer was lost on the way back
                    http, message, body, terr, tdetail, reached = None, "", "", "read_timeout", "Timed out.", True
                else:
                    http, message = 200, self.meaning[a_code]
                    data = f'{{"{vendor}":{{"TaskId":"{vtid}"}}}}' if a_code == 0 else "{}"
                    body = f'{{"Code":{a_code},"Message":"{message}","RequestId":"{rid}","Data":{data}}}'
                    terr, tdetail, reached = "", "", None
                attempts.append(
                    (
                        base + number, number, "submit" if number == 1 else "retry", dt(started), dt(finished),
                        a_state, f"{bits(64):016x}", int((started - datetime(1970, 1, 1)).total_seconds()), rid,
                        vtid, vrid, a_code, message, http, latency, terr, tdetail, reached, body, user, tid,
                    )
                )  # fmt: skip
                if not last_one:
                    started = finished + td(seconds=30 + bits(7))
            tasks.append(
                (
                    tid, vendor, mode, file_id, definition, points, interval, dt(created), f"{bits(128):032x}",
                    state, dt(finished), code, message, rid, vtid, apt, user, None,
                )
            )  # fmt: skip
        return tasks, attempts


def _check_columns(model, columns: tuple[str, ...]) -> None:
    """The fill writes these columns; a NOT NULL column it does not know about must stop it loudly."""
    known = set(columns)
    for f in model._meta.concrete_fields:
        if f.column not in known and not f.null and not getattr(f, "generated", False):
            raise SystemExit(
                f"bench: {model.__name__}.{f.name} ({f.column}) is new and NOT NULL: teach bench/history.py "
                "RowMaker to fill it."
            )
    missing = known - {f.column for f in model._meta.concrete_fields}
    if missing:
        raise SystemExit(f"bench: {model.__name__} has no column(s) {sorted(missing)}: update bench/history.py.")


def _secondary_indexes(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes on table that no constraint or primary key owns."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        return list(cursor.fetchall())
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = %s
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname)
                             || '.' || quote_ident(i.indexname))::regclass)""",
        [table],
    )
    return list(cursor.fetchall())


def fill(*, tasks: int, attempts_per_task: int, user_ids: list[int], batch: int = 20_000) -> dict:
    """Load the rows in one transaction with secondary indexes dropped, rebuild them, ANALYZE."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from dashboard.models import Attempt, Task

    vendor = connection.vendor
    _check_columns(Task, TASK_COLUMNS)
    _check_columns(Attempt, ATTEMPT_COLUMNS)
    maker = RowMaker(tasks=tasks, attempts_per_task=attempts_per_task, user_ids=user_ids, vendor=vendor)
    tables = [(Task._meta.db_table, TASK_COLUMNS), (Attempt._meta.db_table, ATTEMPT_COLUMNS)]
    qn = connection.ops.quote_name
    timings = {}

    if vendor == "sqlite":
        with connection.cursor() as cursor:  # for the load only; the connection is closed afterwards
            for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY"):
                cursor.execute(f"PRAGMA {pragma}")
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        indexes = []
        for table, _ in tables:
            indexes += _secondary_indexes(cursor, vendor, table)
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
        raw = connection.connection  # the driver's own connection: no per-row Django overhead
        if vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            task_copy = f"COPY {qn(tables[0][0])} ({', '.join(map(qn, TASK_COLUMNS))}) FROM STDIN"
            attempt_copy = f"COPY {qn(tables[1][0])} ({', '.join(map(qn, ATTEMPT_COLUMNS))}) FROM STDIN"
            with raw.cursor() as pg:
                for first in range(1, tasks + 1, batch):
                    task_rows, attempt_rows = maker.batch(first, min(first + batch - 1, tasks))
                    with pg.copy(task_copy) as copy:
                        for row in task_rows:
                            copy.write_row(row)
                    with pg.copy(attempt_copy) as copy:
                        for row in attempt_rows:
                            copy.write_row(row)
        else:
            sql = [
                f"INSERT INTO {qn(t)} ({', '.join(map(qn, cols))}) VALUES ({', '.join('?' * len(cols))})"
                for t, cols in tables
            ]
            for first in range(1, tasks + 1, batch):
                task_rows, attempt_rows = maker.batch(first, min(first + batch - 1, tasks))
                raw.executemany(sql[0], task_rows)
                raw.executemany(sql[1], attempt_rows)
        if vendor == "postgresql":
            # The foreign keys are deferred: check the queued rows now, as CREATE INDEX refuses to run
            # on a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        timings["load_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _, create in indexes:
            cursor.execute(create)
        timings["indexes_s"] = time.perf_counter() - t1
        timings["indexes_rebuilt"] = len(indexes)
        for statement in connection.ops.sequence_reset_sql(no_style(), [Task, Attempt]):
            cursor.execute(statement)
    t2 = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {qn(tables[0][0])}, {qn(tables[1][0])}")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA journal_mode=WAL")
    timings["analyze_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    connection.close()  # measure with the settings' own connection options, not the load's pragmas
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in timings.items()}


# --- Cases ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    label: str
    kind: str  # "list" | "search" | "exact"
    params: dict[str, str]  # the history page's query string
    admin_params: dict[str, str] | None  # None: not compared with the admin
    expected: list[int]  # ids the history page must list, newest first
    note: str = ""
    extra: bool = False  # outside the product owner's six cases: reported, not part of the verdict
    admin_expect_id: int | None = None
    results: dict = field(default_factory=dict)

    @property
    def target_ms(self) -> float:
        return TARGET_EXACT_MS if self.kind == "exact" else TARGET_MS


ROW_ID = re.compile(r'<tr id="task-(\d+)">')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def page_ids(body: str) -> list[int]:
    return [int(x) for x in ROW_ID.findall(body)]


def reference_search(q: str, limit: int | None = None) -> list[int]:
    """What a search for q must list: exact attempt ids, or File ID prefix; plain queries, no tricks."""
    from django.db.models import Q

    from dashboard.models import Attempt, Task
    from dashboard.selectors import PAGE_SIZE

    limit = limit or PAGE_SIZE
    by_attempt = set(Attempt.objects.filter(Q(request_id=q) | Q(vendor_task_id=q)).values_list("task_id", flat=True))
    by_file = list(Task.objects.filter(file_id__startswith=q).order_by("-id").values_list("id", flat=True)[:limit])
    return sorted(by_attempt | set(by_file), reverse=True)[:limit]


def build_cases(client, *, tasks: int, attempts_per_task: int, page: int) -> list[Case]:
    from dashboard.models import Attempt, Task
    from dashboard.selectors import PAGE_SIZE as size

    newest = list(Task.objects.order_by("-id").values_list("id", flat=True)[:size])
    mid = tasks // 2 or 1

    vendor, state, code = "Huawei", "failed", 41003
    filtered = list(
        Task.objects.filter(vendor=vendor, state=state, latest_code=code)
        .order_by("-id")
        .values_list("id", flat=True)[:size]
    )

    # An earlier attempt's RequestId (not the task's latest): only the attempts table knows it.
    probe = Attempt.objects.filter(task_id__gte=mid).order_by("task_id", "number").first()
    rid, rid_task = probe.request_id, probe.task_id

    huawei = (
        Task.objects.filter(id__gte=mid, vendor="Huawei", file_id__startswith="/record/").order_by("id").first()
        or Task.objects.filter(vendor="Huawei").order_by("id").first()
    )
    folder, _, name = huawei.file_id.rpartition("/")
    handful = f"{folder}/{name[:6]}"  # one stream's month: a handful of recordings
    handful_count = Task.objects.filter(file_id__startswith=handful).count()
    broad = "/record/"
    broad_count = Task.objects.filter(file_id__startswith=broad).count()
    tencent = Task.objects.filter(id__gte=mid, vendor="Tencent").order_by("id").first()
    threshold = tencent.file_id[: len(TENCENT_PREFIX) + 2]
    threshold_count = Task.objects.filter(file_id__startswith=threshold).count()
    legacy = "/vod/"
    legacy_count = Task.objects.filter(file_id__startswith=legacy).count()

    # The deep page: follow the "Older" links from the first page, as a user (or htmx) would.
    url, pages = "/tasks/", 1
    while pages < page:
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)
        found = NEXT.search(response.text)
        if not found:
            break
        url, pages = "/tasks/" + html.unescape(found.group(1)), pages + 1
    cursor = int(re.search(r"before=(\d+)", url).group(1)) if pages > 1 else None
    deep_offset = (pages - 1) * size
    deep = list(Task.objects.order_by("-id").values_list("id", flat=True)[deep_offset : deep_offset + size])
    admin_page = max(1, math.ceil((deep_offset + size) / 100) if pages < page else page)

    cases = [
        Case("first_page", "First page", "list", {}, {}, newest),
        Case(
            "filter",
            f"Filter {vendor} + {state} + {code}",
            "list",
            {"vendor": vendor, "state": state, "code": str(code)},
            {"vendor__exact": vendor, "state__exact": state, "latest_code": str(code)},
            filtered,
        ),
        Case(
            "request_id",
            "Exact RequestId",
            "exact",
            {"q": rid},
            {"q": rid},
            [rid_task],
            note=f"attempt 1 of task {rid_task}",
            admin_expect_id=rid_task,
        ),
        Case(
            "prefix_handful",
            "File ID prefix, a handful",
            "search",
            {"q": handful},
            {"q": handful},
            reference_search(handful),
            note=f"{handful!r}: {handful_count} tasks",
        ),
        Case(
            "prefix_broad",
            "File ID prefix, broad",
            "search",
            {"q": broad},
            {"q": broad},
            reference_search(broad),
            note=f"{broad!r}: {broad_count} tasks",
        ),
        Case(
            "page_200",
            f"Page {pages} by cursor",
            "list",
            {"before": str(cursor)} if cursor else {},
            {"p": str(admin_page)} if admin_page > 1 else {},
            deep,
            note=f"history rows {deep_offset + 1}-{deep_offset + size}; admin page {admin_page} "
            f"(100 rows a page, rows {(admin_page - 1) * 100 + 1}-{admin_page * 100})",
        ),
        Case(
            "prefix_threshold",
            "File ID prefix, just dense",
            "search",
            {"q": threshold},
            None,
            reference_search(threshold),
            note=f"{threshold!r}: {threshold_count} tasks, evenly spread",
            extra=True,
        ),
        Case(
            "prefix_old_dense",
            "File ID prefix, dense but old",
            "search",
            {"q": legacy},
            None,
            reference_search(legacy),
            note=f"{legacy!r}: {legacy_count} tasks, all in the oldest {LEGACY_SHARE:.0%}",
            extra=True,
        ),
    ]
    return cases


# --- Timing --------------------------------------------------------------------------------------------
def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "min_ms": round(ordered[0], 2),
        "max_ms": round(ordered[-1], 2),
        "samples": len(ordered),
    }


def _get(client, url: str):
    t = time.perf_counter()
    response = client.get(url, secure=True)
    return response, (time.perf_counter() - t) * 1000


def time_history(client, case: Case, repeat: int, explain: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/tasks/" + ("?" + urlencode(case.params) if case.params else "")
    with CaptureQueriesContext(connection) as captured:  # doubles as the warm-up
        response = client.get(url, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"bench: {url} answered {response.status_code}")
    got = page_ids(response.text)
    if got != case.expected:
        raise SystemExit(f"bench: {case.name}: {url} listed {got[:5]}... ({len(got)} rows), expected "
                         f"{case.expected[:5]}... ({len(case.expected)} rows)")  # fmt: skip
    if not got:
        raise SystemExit(f"bench: {case.name}: {url} listed no task: the case measures nothing")
    # Read now: the next request's request_started signal empties the connection's query log.
    raw_sql = [q["sql"] for q in captured.captured_queries]
    queries = [{"sql": _redact(q["sql"]), "ms": round(float(q["time"]) * 1000, 2)} for q in captured.captured_queries]
    samples = []
    for _ in range(repeat):
        response, ms = _get(client, url)
        if response.status_code != 200:
            raise SystemExit(f"bench: {url} answered {response.status_code}")
        samples.append(ms)
    result = {"url": url, "rows": len(got), "bytes": len(response.content), "queries": len(queries),
              **_stats(samples), "selector": time_selector(case, repeat), "sql": queries}  # fmt: skip
    if explain:
        result["plans"] = [
            {"sql": _redact(sql), "plan": explain_sql(sql)} for sql in raw_sql if sql.lstrip().startswith("SELECT")
        ]
    return result


SESSION_KEY = re.compile(r"""("session_key" = )'[^']*'""")


def _redact(sql: str) -> str:
    """The results are shared: keep the bench session's key out of them."""
    return SESSION_KEY.sub(r"\1'<session key>'", sql)


def time_selector(case: Case, repeat: int) -> dict:
    """The history selector alone (the view's database work), to tell queries from rendering."""
    from dashboard.forms import HistorySearchForm
    from dashboard.selectors import task_history

    form = HistorySearchForm(case.params or None)
    if form.is_bound and not form.is_valid():
        raise SystemExit(f"bench: {case.name}: the search form rejects {case.params}: {form.errors}")
    filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)} if form.is_bound else {}
    if [t.pk for t in task_history(**filters).tasks] != case.expected:
        raise SystemExit(f"bench: {case.name}: the selector lists other rows than the page")
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        list(task_history(**filters).tasks)
        samples.append((time.perf_counter() - t) * 1000)
    return _stats(samples)


def time_admin(client, case: Case, repeat: int) -> dict:
    url = "/admin/dashboard/task/" + ("?" + urlencode(case.admin_params) if case.admin_params else "")
    response, warm_ms = _get(client, url)
    if response.status_code != 200:
        raise SystemExit(f"bench: {url} answered {response.status_code}")
    body = response.text
    if 'id="result_list"' not in body:
        raise SystemExit(f"bench: {case.name}: the admin changelist {url} shows no results")
    if case.admin_expect_id and f"/admin/dashboard/task/{case.admin_expect_id}/change/" not in body:
        raise SystemExit(f"bench: {case.name}: the admin did not find task {case.admin_expect_id}")
    samples = []
    for _ in range(repeat):
        response, ms = _get(client, url)
        if response.status_code != 200:
            raise SystemExit(f"bench: {url} answered {response.status_code}")
        samples.append(ms)
    return {"url": url, "warmup_ms": round(warm_ms, 2), **_stats(samples or [warm_ms])}


def explain_sql(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]


# --- Report --------------------------------------------------------------------------------------------
def machine_info() -> dict:
    from django import get_version
    from django.db import connection

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": get_version(),
        "sqlite": sqlite3.sqlite_version,
        "database": connection.vendor,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        import psycopg

        info["psycopg"] = psycopg.__version__
    return info


def verdict(case: Case, vendor: str) -> None:
    h, a = case.results["history"], case.results.get("admin")
    case.results["target_ms"] = case.target_ms
    case.results["time_pass"] = h["median_ms"] <= case.target_ms
    if a:
        ratio = a["median_ms"] / h["median_ms"]
        target = RATIO_LIST[vendor] if case.kind == "list" else RATIO_SEARCH
        case.results.update(ratio=round(ratio, 1), ratio_target=target, ratio_pass=ratio >= target)
    case.results["pass"] = case.results["time_pass"] and case.results.get("ratio_pass", True)


def print_table(cases: list[Case], vendor: str, out=sys.stdout) -> None:
    head = (f"{'case':<38} {'page med':>8} {'p95':>7} {'sel.':>6} {'q':>2} {'target':>6}  "
            f"{'admin med':>9} {'ratio':>6} {'target':>6}  result")  # fmt: skip
    print(f"\n{vendor}: whole request through the view, median and p95 of the timed requests (ms);", file=out)
    print("sel. = the history selector alone (median ms); q = SQL queries a page, session and auth included", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    for case in cases:
        r, h, a = case.results, case.results["history"], case.results.get("admin")
        if a:
            admin = f"{a['median_ms']:>9.0f} {r['ratio']:>5.0f}x {r['ratio_target']:>5.0f}x"
        else:
            admin = f"{'-':>9} {'-':>6} {'-':>6}"
        label = case.label + (" (extra)" if case.extra else "")
        print(f"{label:<38} {h['median_ms']:>8.2f} {h['p95_ms']:>7.2f} {h['selector']['median_ms']:>6.2f} "
              f"{h['queries']:>2} {case.target_ms:>6.0f}  {admin}  {'PASS' if r['pass'] else 'FAIL'}",
              file=out)  # fmt: skip
    for case in cases:
        if case.note:
            print(f"  {case.name}: {case.note}", file=out)


# --- Main ----------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", type=int, default=1_000_000, help="tasks to fill (default 1,000,000)")
    p.add_argument("--attempts-per-task", type=int, default=2, help="attempts per task (default 2)")
    p.add_argument("--repeat", type=int, default=15, help="timed requests per history case (default 15)")
    p.add_argument("--admin-repeat", type=int, default=3, help="timed requests per admin case (default 3)")
    p.add_argument("--page", type=int, default=PAGE, help="the deep page reached by cursor (default 200)")
    p.add_argument(
        "--database-url",
        help="database to fill and measure (default: $DATABASE_URL, else a fresh SQLite file in a temp dir)",
    )
    p.add_argument("--output", type=Path, help="write the results as JSON to this file")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the filled database after the run, and reuse it if it already holds the requested rows",
    )
    p.add_argument("--no-admin", action="store_true", help="skip the admin changelist (much faster)")
    p.add_argument("--explain", action="store_true", help="store each history query's plan in the JSON")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    args = p.parse_args(argv)
    if args.tasks < 1 or args.attempts_per_task < 1 or args.repeat < 1 or args.admin_repeat < 0 or args.page < 1:
        p.error("--tasks, --attempts-per-task, --repeat and --page must be at least 1")
    return args


def resolve_database(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The URL to use, and the temp SQLite file this run owns (deleted unless --keep)."""
    url = args.database_url or os.environ.get("DATABASE_URL", "")
    owned = None
    if not url:
        owned = default_sqlite_path(args.tasks, args.attempts_per_task)
        owned.parent.mkdir(parents=True, exist_ok=True)
        if not args.keep:
            _remove_sqlite(owned)
        url = f"sqlite:///{owned}"
    if url.startswith("sqlite:"):
        path = url.split(":///", 1)[-1] if ":///" in url else ""
        if path and Path(path).resolve() == DEVELOPER_DB.resolve():
            raise SystemExit(f"bench: refusing to fill the developer's database {DEVELOPER_DB}")
        if not path or path == ":memory:":
            raise SystemExit("bench: give SQLite a file (sqlite:////tmp/bench.sqlite3), not memory")
    return url, owned


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, owned = resolve_database(args)
    setup_django(url)

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from dashboard.models import Attempt, Task

    vendor = connection.vendor
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    shown = url if vendor == "sqlite" else re.sub(r"//[^@/]*@", "//***@", url)
    print(f"bench: {vendor} at {shown}; {args.tasks:,} tasks x {args.attempts_per_task} attempts", flush=True)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
            "bench-admin", "bench-admin@example.com", "bench-admin-password-not-secret"
        )
        operators = Group.objects.filter(name="operator").first()
        user_ids = []
        for k in range(1, 9):
            user, created = User.objects.get_or_create(username=f"bench-op{k}")
            if created and operators:
                user.groups.add(operators)
            user_ids.append(user.pk)

        have = Task.objects.count()
        want_attempts = args.tasks * args.attempts_per_task
        fill_info: dict = {"reused": False}
        if have == 0:
            if Attempt.objects.exists():
                raise SystemExit("bench: the database has attempts but no tasks: use an empty database")
            print("bench: filling ...", flush=True)
            fill_info.update(fill(tasks=args.tasks, attempts_per_task=args.attempts_per_task, user_ids=user_ids))
            print(f"bench: filled in {fill_info['total_s']:.1f} s ({fill_info})", flush=True)
        elif not args.keep:
            raise SystemExit(f"bench: the database already holds {have:,} tasks: pass --keep to reuse them, "
                             "or give an empty database")  # fmt: skip
        elif have != args.tasks or Attempt.objects.count() != want_attempts:
            raise SystemExit(f"bench: the database holds {have:,} tasks, not the {args.tasks:,} asked for")
        else:
            fill_info["reused"] = True
            print(f"bench: reusing the {have:,} tasks already there (--keep)", flush=True)
        fill_info["tasks"] = Task.objects.count()
        fill_info["attempts"] = Attempt.objects.count()

        client = Client()
        client.force_login(admin)  # a real session row: session and auth middleware run on every request
        cases = build_cases(client, tasks=args.tasks, attempts_per_task=args.attempts_per_task, page=args.page)

        for case in cases:
            case.results["history"] = time_history(client, case, args.repeat, args.explain)
            h = case.results["history"]
            print(f"bench: history {case.name:<18} median {h['median_ms']:8.2f} ms  p95 {h['p95_ms']:8.2f}  "
                  f"selector {h['selector']['median_ms']:7.2f}  {h['queries']} queries  {h['rows']} rows",
                  flush=True)  # fmt: skip
        if not args.no_admin:
            for case in cases:
                if case.admin_params is None:
                    continue
                case.results["admin"] = time_admin(client, case, args.admin_repeat)
                a = case.results["admin"]
                print(f"bench: admin   {case.name:<18} median {a['median_ms']:8.1f} ms  "
                      f"(warm-up {a['warmup_ms']:.1f})", flush=True)  # fmt: skip
        for case in cases:
            verdict(case, vendor)

        required = [c for c in cases if not c.extra]
        report = {
            "benchmark": "history page vs admin changelist",
            "machine": {**machine_info(), "load_average_at_start": load_at_start},
            "config": {
                "tasks": args.tasks,
                "attempts_per_task": args.attempts_per_task,
                "repeat": args.repeat,
                "admin_repeat": 0 if args.no_admin else args.admin_repeat,
                "page": args.page,
                "database": shown,
            },
            "fill": fill_info,
            "targets": {
                "history_median_ms": TARGET_MS,
                "exact_median_ms": TARGET_EXACT_MS,
                "ratio_list": RATIO_LIST[vendor],
                "ratio_search": RATIO_SEARCH,
            },
            "cases": [
                {"name": c.name, "label": c.label, "kind": c.kind, "extra": c.extra, "note": c.note, **c.results}
                for c in cases
            ],
            "all_pass": all(c.results["pass"] for c in required),
        }
        print_table(cases, vendor)
        passed = sum(c.results["pass"] for c in required)
        print(f"\nbench: {'all targets met' if report['all_pass'] else 'TARGETS MISSED'} "
              f"({passed}/{len(required)} cases pass; extras not counted)")  # fmt: skip
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=2) + "\n")
            print(f"bench: results written to {args.output}")
        return 1 if args.strict and not report["all_pass"] else 0
    finally:
        connection.close()
        if owned and not args.keep:
            _remove_sqlite(owned)


if __name__ == "__main__":
    sys.exit(main())
