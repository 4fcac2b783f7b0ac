"""The history benchmark keeps running, and the history page's SQL does not grow with the rows.

The benchmark itself (python -m bench.history, a million tasks) is run by hand; here it runs at toy scale
so that it cannot rot. No timing is asserted: only that it completed, checked and measured every case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Attempt, State, Task

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "first_page",
    "filter",
    "request_id",
    "prefix_handful",
    "prefix_broad",
    "page_200",
    "prefix_threshold",
    "prefix_old_dense",
}


def test_benchmark_runs_at_small_scale(tmp_path):
    output = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TMPDIR"] = str(tmp_path)
    command = [
        sys.executable, "-m", "bench.history",
        "--tasks", "300",
        "--repeat", "1",
        "--admin-repeat", "1",
        "--database-url", f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "--output", str(output),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

    report = json.loads(output.read_text())
    assert report["fill"]["tasks"] == 300
    assert report["fill"]["attempts"] == 600
    assert report["machine"]["cpu"] and report["machine"]["django"]
    assert report["config"]["client"].endswith("WSGIHandler")
    cases = {case["name"]: case for case in report["cases"]}
    assert cases.keys() == CASES
    for name, case in cases.items():
        history, floor, admin = case["history"], case["floor"], case["admin"]
        assert history["samples"] == floor["samples"] == 1 and history["median_ms"] > 0, name
        assert history["rows"] == floor["rows"] > 0, name  # the floor renders the same rows
        assert floor["queries"] < history["queries"], name  # ... without the selector's queries
        assert history["selector"]["median_ms"] > 0, name
        assert admin["samples"] == 1 and admin["median_ms"] > 0, name
        assert case["floor_ratio"] == round(history["median_ms"] / floor["median_ms"], 2), name
        assert case["pass"] == (case["floor_ratio"] <= report["targets"]["floor_ratio"]), name
        assert case["ratio"] > 0, name
    assert cases["request_id"]["history"]["rows"] == 1
    assert report["all_pass"] == all(case["pass"] for case in cases.values())
    assert "First page" in run.stdout  # the table was printed

    growth = subprocess.run(
        [sys.executable, "-m", "bench.history.report", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert growth.returncode == 0, growth.stderr
    assert "| File ID prefix, dense but old |" in growth.stdout


def _add_tasks(user, first: int, count: int) -> None:
    """Tasks first..first+count-1: odd ones Huawei recordings, every third failed with 41003."""
    tasks = Task.objects.bulk_create(
        Task(
            vendor=Task.Vendor.HUAWEI if i % 2 else Task.Vendor.TENCENT,
            mode=Task.Mode.INTERVAL,
            interval=10,
            file_id=f"/record/cam-{i % 3}/{i:06d}.mp4" if i % 2 else f"1397{i:015d}",
            created_by=user,
            state=State.FAILED if i % 3 == 0 else State.SUCCEEDED,
            latest_code=41003 if i % 3 == 0 else 0,
            latest_request_id=str(10**18 + i),
            attempt_count=1,
        )
        for i in range(first, first + count)
    )
    Attempt.objects.bulk_create(
        Attempt(
            task=task,
            number=1,
            reason=Attempt.Reason.SUBMIT,
            created_by=user,
            state=task.state,
            nonce="0" * 16,
            timestamp=0,
            request_id=task.latest_request_id,
            code=task.latest_code,
        )
        for task in tasks
    )


def _queries(client, params: dict[str, str]) -> tuple[int, int]:
    """(SQL queries, rows listed) for one history page, after a warm-up request."""
    client.get("/tasks/", params)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/tasks/", params)
    assert response.status_code == 200
    return len(captured), response.text.count('<tr id="task-')


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="list"),
        pytest.param({"vendor": "Huawei", "state": "failed", "code": "41003"}, id="filter"),
        pytest.param({"q": "/record/"}, id="file-id-prefix"),
        pytest.param({"q": str(10**18 + 1)}, id="request-id"),
    ],
)
def test_history_query_count_does_not_grow_with_rows(operator_client, operator, params):
    _add_tasks(operator, 1, 5)
    few_queries, few_rows = _queries(operator_client, params)
    _add_tasks(operator, 6, 115)
    many_queries, many_rows = _queries(operator_client, params)

    assert few_rows >= 1
    if "q" not in params or params["q"] == "/record/":
        assert many_rows > few_rows  # the page really got fuller
    assert many_queries == few_queries


def test_the_hostile_server_benchmark_runs_at_small_scale(tmp_path):
    output = tmp_path / "hostile.json"
    command = [sys.executable, str(ROOT / "bench" / "hostile.py"), "--cases", "50MB,gzip-bomb",
               "--body-mb", "2", "--bomb-mb", "8", "--output", str(output)]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    cases = json.loads(output.read_text())["cases"]
    assert {name: case["failure"] for name, case in cases.items()} == {"50MB": "too_large", "gzip-bomb": "too_large"}


def test_the_batch_benchmark_runs_at_small_scale(tmp_path):
    output = tmp_path / "batch.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [
        sys.executable, str(ROOT / "bench" / "batch.py"),
        "--items", "60", "--runs", "1", "--web-rate", "2",
        "--lines", "400", "--invalid", "8", "--repeat-check", "1",
        "--scale-items", "200", "--repeat-pages", "1",
        "--database-url", f"sqlite:///{tmp_path / 'batch.sqlite3'}",
        "--output", str(output),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr

    report = json.loads(output.read_text())
    drain = report["drain"]["runs"][0]
    assert drain["batch_sent"] == 60 and sum(drain["batch_states"].values()) == 60
    assert drain["batch_calls_per_s"] > 0 and drain["web"]["submitted"] > 0
    assert {"code_6_attempts", "code_6_simulator"} <= drain.keys()
    validation = report["validation"]
    assert validation["check"]["with_invalid"]["invalid"] == 8
    assert validation["form_post"]["status"] == 200 and validation["form_post"]["samples"] == 1
    pages = report["scale"]["pages"]
    assert pages["batch_page"]["median_ms"] > 0 and pages["history_by_batch"]["rows"] > 0
    assert report["machine"]["cpu"]


def test_the_overview_benchmark_runs_at_small_scale(tmp_path):
    output = tmp_path / "overview.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [
        sys.executable, "-m", "bench.overview", "--tasks", "3000", "--repeat", "1",
        "--database-url", f"sqlite:///{tmp_path / 'overview.sqlite3'}", "--output", str(output),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

    report = json.loads(output.read_text())
    assert report["fill"]["tasks"] == 3000 and report["machine"]["cpu"]
    assert 0 < report["rows"]["tasks_24h"] < report["rows"]["tasks_7d"] < report["rows"]["tasks_30d"]
    assert report["results"].keys() == {"cached", "uncached", "selector"}
    for name, result in report["results"].items():
        assert result["samples"] == 1 and result["median_ms"] > 0, name
        assert result["pass"] == (result["median_ms"] < report["target_ms"]), name
    assert report["results"]["cached"]["sql_median_ms"] < report["results"]["uncached"]["sql_median_ms"]
    assert report["queries"] and all(q["sql"].startswith("SELECT") for q in report["queries"])
    assert report["all_pass"] == all(r["pass"] for r in report["results"].values())


def test_the_export_benchmark_runs_at_small_scale(tmp_path):
    output = tmp_path / "export.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [
        sys.executable, "-m", "bench.export", "--tasks", "300",
        "--database-url", f"sqlite:///{tmp_path / 'export.sqlite3'}", "--output", str(output),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr

    report = json.loads(output.read_text())
    results = report["results"]
    assert results.keys() == {"idle", "all_command", "all_view", "filtered_command"}
    assert results["idle"]["rows"] == 0
    assert results["all_command"]["rows"] == results["all_view"]["rows"] == 600  # one row per attempt
    assert 0 < results["filtered_command"]["rows"] < 600
    for name, result in results.items():
        assert result["seconds"] > 0 and result["peak_rss_mb"] > 0, name
    for name in ("all_command", "all_view"):
        result = results[name]
        assert result["rows_per_s"] == round(result["rows"] / result["seconds"]), name
        assert result["pass"] == (
            result["rows_per_s"] >= report["targets"]["rows_per_s"]
            and result["peak_rss_mb"] < report["targets"]["peak_rss_mb"]
        ), name
    assert report["all_pass"] == all(r["pass"] for r in results.values() if "pass" in r)
