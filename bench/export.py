"""Benchmark: CSV export of every attempt of a million tasks, its rows a second and its process's peak memory.

    .venv/bin/python -m bench.export --keep                          # SQLite file in a temp dir
    scripts/with-postgres.sh .venv/bin/python -m bench.export         # the same on a throwaway PostgreSQL

The rows are bench.history's (the same fill, and with --keep the same SQLite file). Each export runs in a
process of its own, so that its memory is its own:

- command: ``manage.py thumbnails export --filter ... -o FILE``, the whole table and one filter;
- view: the history's "Export CSV" (``/tasks/export.csv``) called through Django's WSGI handler as a server
  calls it, its streamed body written to a file;
- idle: the command exporting nothing, for what Python, Django and the database driver take by themselves.

The time is the whole process's, start-up included. The peak is the process's own high-water mark (VmHWM in
/proc/self/status, read by the process as it exits: ru_maxrss would count the bench's own memory, which a
spawned child inherits in its accounting); the benchmark also samples its RSS while the file grows, to show
that memory stays flat. Every output is checked: the header, one row per attempt the filter matches
(counted by a plain query), oldest task first, the first row's RequestId, and the view's file byte for byte
the command's.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.history.main import ROOT, _remove_sqlite, resolve_database, setup_django, write_results

ROWS_PER_S_TARGET = 50_000
PEAK_MB_TARGET = 100.0
FILTER = "vendor=Huawei&state=failed"
MB = 1_000_000
COLUMNS = {"vendor": "vendor", "mode": "mode", "state": "state", "result": "result", "code": "latest_code"}

# Runs manage.py in this interpreter and reports the process's memory as it exits.
LAUNCH = """
import atexit, runpy, sys

def report():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmHWM", "VmRSS")):
                sys.stderr.write("bench-memory " + line)

atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=1_000_000, help="tasks to fill (default 1,000,000)")
    p.add_argument("--attempts-per-task", type=int, default=2, help="attempts per task (default 2)")
    p.add_argument(
        "--database-url", help="database to fill and measure (default: $DATABASE_URL, else a SQLite file in a temp dir)"
    )
    p.add_argument("--filter", default=FILTER, help=f"the filtered export's history filter (default {FILTER!r})")
    p.add_argument("--runs", type=int, default=1, help="runs of each export (default 1; the median is reported)")
    p.add_argument("--output", type=Path, help="write the results as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the filled database, and reuse one that holds the rows")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    p.add_argument("--child-view", nargs=3, metavar=("URL", "FILE", "USER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.tasks < 1 or args.attempts_per_task < 1 or args.runs < 1:
        p.error("--tasks, --attempts-per-task and --runs must be at least 1")
    return args


def child_view(url: str, target: str, username: str) -> int:
    """In its own process: GET url through the WSGI handler as a server would, the streamed body into target."""
    setup_django(os.environ["DATABASE_URL"])
    from django.contrib.auth.models import User
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client, RequestFactory

    login = Client()
    login.force_login(User.objects.get(username=username))
    factory = RequestFactory()
    factory.cookies = login.cookies
    status: list[str] = []
    response = WSGIHandler()(factory.get(url, secure=True).environ, lambda s, h, exc_info=None: status.append(s))
    try:
        with open(target, "wb") as out:
            for chunk in response:
                out.write(chunk)
    finally:
        response.close()
    with open("/proc/self/status") as own:
        for line in own:
            if line.startswith(("VmHWM", "VmRSS")):
                sys.stderr.write("bench-memory " + line)
    if not status or not status[0].startswith("200"):
        print(f"bench: {url} answered {status[:1]}", file=sys.stderr)
        return 1
    return 0


def run_process(command: list[str], target: Path, *, interval: float = 0.05) -> dict:
    """Run command, sampling its RSS and the size of target until it exits."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, int]] = []  # seconds, bytes written, RSS in kB
    status_file = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            rss = next(int(x.split()[1]) for x in status_file.read_text().splitlines() if x.startswith("VmRSS"))
            size = target.stat().st_size if target.exists() else 0
        except (OSError, StopIteration):  # exiting
            break
        samples.append((time.perf_counter() - started, size, rss))
        time.sleep(interval)
    stderr = proc.communicate()[1]
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:6])}... exited {proc.returncode}:\n{stderr[-3000:]}")
    memory = dict(re.findall(r"bench-memory (\w+):\s+(\d+) kB", stderr))
    if "VmHWM" not in memory:
        raise SystemExit(f"bench: the process did not report its memory:\n{stderr[-3000:]}")
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(int(memory["VmHWM"]) * 1024 / MB, 1),
        "samples": samples,
    }


def check_csv(path: Path, expected_rows: int, first_request_id: str | None) -> tuple[int, str]:
    """The file's data rows (checked) and its sha256."""
    from dashboard.selectors_export import HEADER

    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    rows = 0
    last = (0, 0)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if tuple(header) != ("\ufeff" + HEADER[0], *HEADER[1:]):
            raise SystemExit(f"bench: {path.name}: unexpected header {header}")
        task_col, number_col, rid_col = HEADER.index("task"), HEADER.index("attempt"), HEADER.index("request_id")
        for row in reader:
            key = (int(row[task_col]), int(row[number_col]))
            if key <= last:
                raise SystemExit(f"bench: {path.name}: row {rows + 1} ({key}) is out of order after {last}")
            if rows == 0 and first_request_id is not None and row[rid_col] != first_request_id:
                raise SystemExit(f"bench: {path.name}: first RequestId {row[rid_col]}, expected {first_request_id}")
            last = key
            rows += 1
    if rows != expected_rows:
        raise SystemExit(f"bench: {path.name}: {rows:,} rows, expected {expected_rows:,} (one per attempt)")
    return rows, digest.hexdigest()


def flatness(samples: list[tuple[float, int, int]], total_bytes: int) -> dict:
    """RSS when the file reached each tenth of its size: a streamed export stays flat after the first."""
    at: dict[str, float] = {}
    for tenth in range(1, 11):
        mark = total_bytes * tenth / 10
        hit = next((rss for _, size, rss in samples if size >= mark), None)
        if hit is not None:
            at[f"{tenth * 10}%"] = round(hit * 1024 / MB, 1)
    return at


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_view:
        return child_view(*args.child_view)
    url, owned = resolve_database(args)
    setup_django(url)  # also sets the environment the export processes inherit
    from urllib.parse import urlencode

    from django.db import connection
    from django.http import QueryDict

    from bench.history import fill, report
    from dashboard.models import Attempt

    vendor = connection.vendor
    shown = url if vendor == "sqlite" else re.sub(r"//[^@/]*@", "//***@", url)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    print(f"bench: export on {vendor} at {shown}; {args.tasks:,} tasks x {args.attempts_per_task} attempts", flush=True)
    try:
        admin, fill_info = fill.prepare(tasks=args.tasks, attempts_per_task=args.attempts_per_task, keep=args.keep)
        filters = QueryDict(args.filter).dict()
        if not filters or set(filters) - COLUMNS.keys():
            raise SystemExit(f"bench: --filter takes {', '.join(COLUMNS)} (the reference count is a plain query)")
        matching = Attempt.objects.filter(**{f"task__{COLUMNS[k]}": v for k, v in filters.items()}).count()
        machine = {**report.machine_info(), "load_average_at_start": load_at_start}
        connection.close()  # the exports run in other processes
        launch = [sys.executable, "-c", LAUNCH, str(ROOT / "manage.py"), "thumbnails", "export"]
        cases = [
            ("idle", "command, nothing matches", [*launch, "--filter", "state=queued"], 0, None),
            ("all_command", "command, every attempt", launch, args.tasks * args.attempts_per_task, fill.request_id(1)),
            ("all_view", "view /tasks/export.csv, every attempt", None, args.tasks * args.attempts_per_task,
             fill.request_id(1)),
            ("filtered_command", f"command, --filter {args.filter!r}", [*launch, "--filter", args.filter], matching,
             None),
        ]  # fmt: skip
        results: dict[str, dict] = {}
        digests: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="thumbs-export-") as tmp:
            for name, label, command, expected, first_rid in cases:
                target = Path(tmp) / f"{name}.csv"
                if command is None:
                    command = [
                        sys.executable, "-m", "bench.export", "--child-view", "/tasks/export.csv", str(target),
                        admin.username,
                    ]  # fmt: skip
                else:
                    command = [*command, "-o", str(target)]
                runs = []
                for _ in range(args.runs):
                    target.unlink(missing_ok=True)
                    runs.append(run_process(command, target))
                    rows, digests[name] = check_csv(target, expected, first_rid)
                size = target.stat().st_size
                target.unlink()
                runs.sort(key=lambda r: r["seconds"])
                median = runs[len(runs) // 2]
                result = {
                    "label": label,
                    "rows": rows,
                    "bytes": size,
                    "seconds": median["seconds"],
                    "rows_per_s": round(rows / median["seconds"]) if rows else 0,
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                    "rss_mb_at_share_of_output": flatness(median["samples"], size) if rows else {},
                    "runs": [{"seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]} for r in runs],
                }
                if name != "idle":
                    fast = name == "filtered_command" or result["rows_per_s"] >= ROWS_PER_S_TARGET
                    result["pass"] = fast and result["peak_rss_mb"] < PEAK_MB_TARGET
                results[name] = result
                print(
                    f"bench: {label:<50} {rows:>9,} rows in {median['seconds']:7.2f} s = {result['rows_per_s']:>7,} "
                    f"rows/s, peak {result['peak_rss_mb']:6.1f} MB"
                    + ("" if "pass" not in result else "  PASS" if result["pass"] else "  MISSED"),
                    flush=True,
                )
        if digests["all_view"] != digests["all_command"]:
            raise SystemExit("bench: the view's CSV differs from the command's")
        output = {
            "benchmark": "CSV export: rows a second and the process's peak memory",
            "machine": machine,
            "config": {
                "tasks": args.tasks,
                "attempts_per_task": args.attempts_per_task,
                "database": shown,
                "filter": args.filter,
                "filter_url": "/tasks/export.csv?" + urlencode(filters),
                "runs": args.runs,
            },
            "fill": fill_info,
            "targets": {"rows_per_s": ROWS_PER_S_TARGET, "peak_rss_mb": PEAK_MB_TARGET},
            "results": results,
            "all_pass": all(r["pass"] for r in results.values() if "pass" in r),
        }
        write_results(args.output, output)
        return 1 if args.strict and not output["all_pass"] else 0
    finally:
        connection.close()
        if owned and not args.keep:
            _remove_sqlite(owned)


if __name__ == "__main__":
    sys.exit(main())
