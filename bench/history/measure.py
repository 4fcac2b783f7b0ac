"""Timing: whole requests through Django's WSGI handler, the floor beside them, the selector alone."""

from __future__ import annotations

import inspect
import math
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from unittest import mock

from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, reset_queries
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from dashboard.forms import HistorySearchForm
from dashboard.selectors import HistoryPage, task_history

from .cases import Case, page_ids

SESSION_KEY = re.compile(r"""("session_key" = )'[^']*'""")


class WsgiClient:
    """GET requests through Django's WSGIHandler, called as a WSGI server such as gunicorn calls it.

    Django's test Client keeps the database connection open from one request to the next; a server
    does not unless CONN_MAX_AGE says so. Here request_started and request_finished run Django's
    close_old_connections as in production, so the connection settings are part of what is measured.
    """

    def __init__(self, user: User) -> None:
        login = Client()
        login.force_login(user)  # a real session row: session and auth middleware run on every request
        self.factory = RequestFactory()
        self.factory.cookies = login.cookies
        self.handler = WSGIHandler()

    def get(self, url: str) -> tuple[int, str, float]:
        environ = self.factory.get(url, secure=True).environ
        started = time.perf_counter()
        response = self.handler(environ, lambda status, headers, exc_info=None: None)
        try:
            body = b"".join(response)
        finally:
            response.close()  # as the server does: request_finished fires
        return response.status_code, body.decode(), (time.perf_counter() - started) * 1000


class SqlClock:
    """Wall time of each database call, as an execute wrapper: on PostgreSQL the whole round trip with its
    rows; SQLite hands rows over as they are fetched, after the call, so there it is a lower bound."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, execute, sql, params, many, context):  # Django's execute wrapper signature
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((time.perf_counter() - started) * 1000)


@contextmanager
def rows_in_memory(page: HistoryPage) -> Iterator[None]:
    """The history view with its selector answering from memory: the floor of this stack.

    Everything else runs as for a real page (middleware, session, auth, the form, the template with the
    same rows), so the difference between a case and the floor is what finding its rows costs.
    """
    view = inspect.unwrap(resolve("/tasks/").func)
    module = sys.modules[view.__module__]
    if getattr(module, "task_history", None) is not task_history:
        raise SystemExit(
            f"bench: the history view ({view.__module__}.{view.__name__}) no longer calls task_history by "
            "that name: update rows_in_memory in bench/history/measure.py"
        )
    with mock.patch.object(module, "task_history", lambda **filters: page):
        yield


def selector_filters(case: Case) -> dict:
    """What the view passes the selector for this case's query string."""
    form = HistorySearchForm(case.params or None)
    if form.is_bound and not form.is_valid():
        raise SystemExit(f"bench: {case.name}: the search form rejects {case.params}: {form.errors}")
    return {k: v for k, v in form.cleaned_data.items() if v not in ("", None)} if form.is_bound else {}


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "min_ms": round(ordered[0], 2),
        "max_ms": round(ordered[-1], 2),
        "samples": len(ordered),
    }


def check_page(client: WsgiClient, case: Case, *, explain: bool, floor: HistoryPage | None = None) -> dict:
    """One request (the warm-up) with its SQL captured; a wrong answer or an error page stops the run."""
    reset_queries()  # the capture counts from the log's current length; start it empty
    clock = SqlClock()
    with (
        rows_in_memory(floor) if floor else nullcontext(),
        CaptureQueriesContext(connection) as captured,
        connection.execute_wrapper(clock),
    ):
        status, body, _ = client.get(case.url)
    if status != 200:
        raise SystemExit(f"bench: {case.url} answered {status}")
    got = page_ids(body)
    if got != case.expected:
        raise SystemExit(
            f"bench: {case.name}: {case.url} listed {got[:5]}... ({len(got)} rows), "
            f"expected {case.expected[:5]}... ({len(case.expected)} rows)"
        )
    if not got:
        raise SystemExit(f"bench: {case.name}: {case.url} listed no task: the case measures nothing")
    queries = [{"sql": _redact(q["sql"]), "ms": round(ms, 3)} for q, ms in zip(captured, clock.calls, strict=True)]
    result = {"url": case.url, "rows": len(got), "bytes": len(body), "queries": len(queries), "sql": queries}
    if explain and not floor:
        selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
        result["plans"] = [{"sql": _redact(sql), "plan": explain_sql(sql)} for sql in selects]
    return result


def time_round_robin(client: WsgiClient, cases: list[Case], repeat: int) -> None:
    """Each round requests every case's floor and page once, so that the machine's ups and downs (other
    work on shared cores) fall on all of them alike. The floor is the same URL with the selector
    answering from memory with the case's own rows."""
    pages = {case.name: task_history(**selector_filters(case)) for case in cases}
    samples: dict[tuple[str, str], list[float]] = {}
    sql: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat):
        for case in cases:
            for kind in ("floor", "history"):
                clock = SqlClock()
                memory = rows_in_memory(pages[case.name]) if kind == "floor" else nullcontext()
                with memory, connection.execute_wrapper(clock):
                    status, _, ms = client.get(case.url)
                if status != 200:
                    raise SystemExit(f"bench: {case.url} answered {status}")
                samples.setdefault((case.name, kind), []).append(ms)
                sql.setdefault((case.name, kind), []).append(sum(clock.calls))
    for case in cases:
        for kind in ("floor", "history"):
            median_sql = round(statistics.median(sql[case.name, kind]), 2)
            case.results[kind].update(stats(samples[case.name, kind]), sql_median_ms=median_sql)


def check_floor(client: WsgiClient, case: Case) -> dict:
    """The case's floor answers with the same rows as its page, with fewer queries (no task query)."""
    result = check_page(client, case, explain=False, floor=task_history(**selector_filters(case)))
    if result["queries"] >= case.results["history"]["queries"]:
        raise SystemExit(
            f"bench: {case.name}: the floor ran as many queries as the page: the selector was not bypassed"
        )
    return result


def time_selector(case: Case, repeat: int) -> dict:
    """The history selector alone (the view's database work), to tell queries from rendering."""
    filters = selector_filters(case)
    if [t.pk for t in task_history(**filters).tasks] != case.expected:
        raise SystemExit(f"bench: {case.name}: the selector lists other rows than the page")
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        list(task_history(**filters).tasks)
        samples.append((time.perf_counter() - started) * 1000)
    return stats(samples)


def time_admin(client: WsgiClient, case: Case, repeat: int) -> dict:
    status, body, warm_ms = client.get(case.admin_url)
    if status != 200:
        raise SystemExit(f"bench: {case.admin_url} answered {status}")
    if 'id="result_list"' not in body:
        raise SystemExit(f"bench: {case.name}: the admin changelist {case.admin_url} shows no results")
    if case.admin_expect_id and f"/admin/dashboard/task/{case.admin_expect_id}/change/" not in body:
        raise SystemExit(f"bench: {case.name}: the admin did not find task {case.admin_expect_id}")
    samples = []
    for _ in range(repeat):
        status, _, ms = client.get(case.admin_url)
        if status != 200:
            raise SystemExit(f"bench: {case.admin_url} answered {status}")
        samples.append(ms)
    return {"url": case.admin_url, "warmup_ms": round(warm_ms, 2), **stats(samples or [warm_ms])}


def explain_sql(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]


def _redact(sql: str) -> str:
    """The results are shared: keep the bench session's key out of them."""
    return SESSION_KEY.sub(r"\1'<session key>'", sql)
