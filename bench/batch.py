"""Batches at speed: a 1,000-item drain by two workers beside a web process, a 10,000-line check, and the
pages of a 10,000-item batch.

1. Drain: ``--items`` queued Huawei interval items (/record/b/NNNN.mp4) sent by ``--workers`` real
   ``manage.py db_worker`` processes while a web-like process submits single tasks through
   ``services.task_submit`` (``--web-rate`` a second), all against one simulator (in this process, counting
   calls by arrival and answering Code 6 beyond 20 in any second) and one database.
2. Validation: ``batch_check_lines`` on a ``--lines`` paste, and the batch form POSTed through the test
   client with the same paste, ``--invalid`` of its lines invalid (the page with its errors).
3. Scale: a batch of ``--scale-items`` items (most sent, some failed and unknown, the rest queued): the batch
   page and the history filtered by it, through the test client.

    .venv/bin/python bench/batch.py --output bench/results/batch-sqlite.json
    scripts/with-postgres.sh .venv/bin/python bench/batch.py --output bench/results/batch-postgresql.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pacing import machine_info, setup_django  # the sibling benchmark: the same environment

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for a benchmark
ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20
BATCH_PREFIX = "/record/b/"
WEB_PREFIX = "/record/web/"
FLOOR_RATIO = 1.5  # the history page's target: a page within 1.5x its floor (bench/README.md)
CHECK_TARGET_S = 1.0


def _ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


# --- the web-like process ------------------------------------------------------------------------------
def web_child(rate: float) -> None:
    """Submit one Huawei task every 1/rate seconds until a line arrives on stdin; print the outcomes."""
    setup_django(os.environ["DATABASE_URL"])
    from django.contrib.auth.models import User

    from dashboard import services
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    user, _ = User.objects.get_or_create(username="bench-web")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    outcomes: Counter[str] = Counter()
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        request = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, f"{WEB_PREFIX}{n:05}.mp4", interval=5)
        task = services.task_submit(user=user, request=request).task
        outcomes[f"{task.state} {task.latest_code}"] += 1
        n += 1
        next_at += 1 / rate
        stop.wait(max(0.0, next_at - time.monotonic()))
    print(json.dumps({"submitted": n, "outcomes": outcomes}), flush=True)


# --- 1. the drain --------------------------------------------------------------------------------------
def _env(port: int) -> dict[str, str]:
    return {**os.environ, "ZEGO_SIMULATOR_PORT": str(port), "PYTHONUNBUFFERED": "1"}


def _reset() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def drain_run(args: argparse.Namespace, number: int) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from dashboard.models import Attempt, BatchItem, ResultCheck, State, Task
    from dashboard.services import batches
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
    from zego_simulator import ZegoSimulator
    from zego_simulator.protocol import Reject

    _reset()
    sim = ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, quiet=True).start()
    refused: Counter[str] = Counter()  # the simulator's own count of Code 6 answers, by Action
    admit = sim.app.gateway.admit

    def counting_admit(q):
        try:
            return admit(q)
        except Reject as e:
            if e.code == 6:
                refused[(q.all("Action") or [""])[0]] += 1
            raise

    sim.app.gateway.admit = counting_admit
    user, _ = User.objects.get_or_create(username="bench-batch")
    template = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "", interval=5)
    ids = [f"{BATCH_PREFIX}{n:04}.mp4" for n in range(args.items)]
    batch = batches.batch_create(user=user, template=template, file_ids=ids)
    connection.close()  # the workers write; this process only reads from here on

    env = _env(sim.port)
    worker_cmd = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
    with tempfile.TemporaryFile("w+") as log:
        web = None
        workers: list[subprocess.Popen] = []
        try:
            if args.web_rate > 0:
                web = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--child-web", str(args.web_rate)],
                    cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                )  # fmt: skip
                if web.stdout.readline().strip() != "ready":
                    log.seek(0)
                    raise SystemExit(f"bench: the web process failed to start:\n{log.read()}")
            started = time.time()
            workers = [
                subprocess.Popen(worker_cmd, cwd=ROOT, env=env, stdout=log, stderr=log) for _ in range(args.workers)
            ]
            deadline = time.monotonic() + args.timeout
            items = BatchItem.objects.filter(batch=batch)
            while time.monotonic() < deadline:
                if (
                    not items.filter(status=BatchItem.Status.QUEUED).exists()
                    and not items.filter(task__state=State.SENDING).exists()
                ):
                    break
                if any(w.poll() is not None for w in workers):
                    log.seek(0)
                    raise SystemExit(f"bench: a worker died:\n{log.read()[-4000:]}")
                time.sleep(0.25)
            else:
                raise SystemExit(f"bench: the batch did not drain within {args.timeout} s")
            finished = time.time()
            # Result checks kept up with the sending (or waited for the batch to end): those due more than
            # 10 s before the last item was sent and not asked yet.
            overdue = Task.objects.filter(next_check_at__lt=timezone.now() - timedelta(seconds=10)).count()
            checks = ResultCheck.objects.count()
            web_report = None
            if web is not None:
                web.stdin.write("stop\n")
                web.stdin.flush()
                web_report = json.loads(web.stdout.readline() or "null")
                web.wait(timeout=30)
        finally:
            for p in [*workers, *([web] if web else [])]:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
            sim.stop()

    sent = sorted(t.timestamp() for t in items.exclude(sent_at=None).values_list("sent_at", flat=True))
    arrivals = sorted(t.created_at for t in sim.tasks if t.file_id.startswith(BATCH_PREFIX))
    all_arrivals = sorted(t.created_at for t in sim.tasks)

    def rate(times: list[float]) -> tuple[float, float]:
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return round(span, 3), round((len(times) - 1) / span, 3) if span else 0.0

    send_span, send_rate = rate(sent)
    arrival_span, arrival_rate = rate(arrivals)
    # Every MediaThumbnails call that reached the simulator while the batch was sending: batch and web.
    window = [t for t in all_arrivals if arrivals and arrivals[0] <= t <= arrivals[-1]]
    total_rate = round((len(window) - 1) / arrival_span, 3) if arrival_span else 0.0
    tightest = min((all_arrivals[i + LIMIT] - all_arrivals[i] for i in range(len(all_arrivals) - LIMIT)), default=None)
    batch_tasks = Task.objects.filter(batch_items__batch=batch)
    run = {
        "run": number,
        "items": args.items,
        "seconds_to_drain": round(finished - started, 2),
        "batch_sent": len(sent),
        "batch_states": dict(Counter(batch_tasks.values_list("state", flat=True))),
        "batch_send_span_s": send_span,
        "batch_calls_per_s": send_rate,
        "batch_arrival_span_s": arrival_span,
        "batch_arrivals_per_s": arrival_rate,
        "web_calls_in_window": len(window) - len(arrivals),
        "all_calls_per_s_in_window": total_rate,
        "share_of_limit": round(total_rate / LIMIT, 4),
        "tightest_21_arrivals_s": None if tightest is None else round(tightest, 4),
        "code_6_attempts": Attempt.objects.filter(code=6).count(),
        "code_6_tasks_latest": Task.objects.filter(latest_code=6).count(),
        "code_6_simulator": refused["MediaThumbnails"],
        "code_6_simulator_describe": refused["DescribeMediaTask"],  # the workers' result checks
        "result_checks_during_drain": checks,
        "checks_overdue_at_end": overdue,
        "web": web_report,
    }
    print(
        f"run {number}: {run['batch_sent']} items in {send_span:.1f} s: batch {send_rate:.2f} calls/s, "
        f"with the web's {run['web_calls_in_window']} calls {total_rate:.2f} calls/s "
        f"({run['share_of_limit']:.1%} of {LIMIT}); Code 6: attempts {run['code_6_attempts']}, "
        f"simulator {run['code_6_simulator']}; tightest 21 arrivals {run['tightest_21_arrivals_s']} s; "
        f"result checks {checks} answered, {overdue} overdue at the end",
        flush=True,
    )
    return run


# --- 2. validation -------------------------------------------------------------------------------------
def _paste(lines: int, invalid: int) -> str:
    step = lines // invalid if invalid else 0
    bad = set(range(step - 1, lines, step)[:invalid]) if step else set()
    # a tab inside: a control character, refused for every vendor
    return "\n".join(
        f"{BATCH_PREFIX}bad\t{n:05}.mp4" if n in bad else f"{BATCH_PREFIX}{n:05}.mp4" for n in range(lines)
    )


def _client():
    from django.contrib.auth.models import User
    from django.test import Client

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.invalid", "bench-only"
    )
    client = Client()
    client.force_login(admin)
    return client


def validation(args: argparse.Namespace) -> dict:
    from django.urls import reverse

    from dashboard.models import Batch
    from dashboard.services.batches import batch_check_lines

    _reset()
    clean = _paste(args.lines, 0)
    dirty = _paste(args.lines, args.invalid)
    checks: dict[str, dict] = {}
    for name, text in (("all_valid", clean), ("with_invalid", dirty)):
        samples = []
        for _ in range(args.repeat_check):
            t0 = time.perf_counter()
            result = batch_check_lines(text, vendor="Huawei")
            samples.append(time.perf_counter() - t0)
        checks[name] = {**_ms(samples), "valid": len(result.valid), "invalid": len(result.invalid)}

    client = _client()
    url = reverse("dashboard:batch_new", args=["interval"])
    data = {"vendor": "Huawei", "interval": "5", "file_ids": dirty}
    client.get(url)
    samples = []
    for _ in range(args.repeat_check):
        t0 = time.perf_counter()
        response = client.post(url, data)
        samples.append(time.perf_counter() - t0)
        if response.status_code != 200 or Batch.objects.exists():
            raise SystemExit(f"bench: the form with invalid lines answered {response.status_code}, not its errors")
    page = response.text
    form = {
        **_ms(samples),
        "status": response.status_code,
        "page_bytes": len(page.encode()),
        "lists_problems": page.count("bad\t"),
    }
    result = {"lines": args.lines, "invalid": args.invalid, "check": checks, "form_post": form}
    print(
        f"validation: batch_check_lines on {args.lines:,} lines: {checks['all_valid']['median_ms']} ms "
        f"(all valid), {checks['with_invalid']['median_ms']} ms ({checks['with_invalid']['invalid']} invalid); "
        f"form POST with its errors: {form['median_ms']} ms, {form['page_bytes']:,} bytes",
        flush=True,
    )
    return result


# --- 3. scale ------------------------------------------------------------------------------------------
def scale(args: argparse.Namespace) -> dict:
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from dashboard.models import Attempt, Batch, BatchItem, State, Task
    from dashboard.services import batches
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    _reset()
    user, _ = User.objects.get_or_create(username="bench-batch")
    template = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "", interval=5)
    ids = [f"{BATCH_PREFIX}{n:05}.mp4" for n in range(args.scale_items)]
    t0 = time.perf_counter()
    batch = batches.batch_create(user=user, template=template, file_ids=ids)
    create_s = time.perf_counter() - t0

    # A batch mid-way: nine tenths sent (mostly succeeded, some failed with 41003, a few unknown), at the
    # pace of the shared limiter (19.2 a second), the last one now.
    now = timezone.now()
    items = list(BatchItem.objects.filter(batch=batch).select_related("task").order_by("position"))
    sent = items[: len(items) * 9 // 10]

    def outcome(n: int) -> tuple[str, int | None]:
        return (State.FAILED, 41003) if n % 25 == 0 else (State.UNKNOWN, None) if n % 97 == 0 else (State.SUCCEEDED, 0)

    with transaction.atomic():
        attempts = Attempt.objects.bulk_create(
            [
                Attempt(
                    task=item.task,
                    number=1,
                    reason=Attempt.Reason.BATCH,
                    created_by=user,
                    state=outcome(item.position)[0],
                    nonce="0" * 16,
                    timestamp=0,
                    request_id=str(10**18 + item.position),
                    code=outcome(item.position)[1],
                )
                for item in sent
            ],
            batch_size=2000,
        )
        for item, attempt in zip(sent, attempts, strict=True):
            sent_at = now - timedelta(seconds=(len(sent) - item.position) / 19.2)
            item.status, item.attempt, item.state, item.sent_at = BatchItem.Status.SENT, attempt, attempt.state, sent_at
            item.task.state, item.task.latest_code = attempt.state, attempt.code
            item.task.latest_request_id, item.task.attempt_count = attempt.request_id, 1
        BatchItem.objects.bulk_update(sent, ["status", "attempt", "state", "sent_at"], batch_size=2000)
        Task.objects.bulk_update(
            [i.task for i in sent], ["state", "latest_code", "latest_request_id", "attempt_count"], batch_size=2000
        )
        ended = Counter(item.state for item in sent)  # as services.tasks.batch_item_ended keeps them
        Batch.objects.filter(pk=batch.pk).update(
            succeeded_count=ended[State.SUCCEEDED], failed_count=ended[State.FAILED], unknown_count=ended[State.UNKNOWN]
        )

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by then: the planner sees the batch's rows
    pages = _time_pages(batch, args.repeat_pages)
    result = {"items": args.scale_items, "sent": len(sent), "create_s": round(create_s, 2), "pages": pages}
    print(
        f"scale: batch of {args.scale_items:,} ({len(sent):,} sent) created in {create_s:.2f} s; "
        + "; ".join(
            f"{name} {p['median_ms']} ms, floor {p['floor']['median_ms']} ms: {p['floor_ratio']}x "
            f"({'met' if p['met'] else 'MISSED'}, target {FLOOR_RATIO}x)"
            for name, p in pages.items()
        ),
        flush=True,
    )
    return result


def _time_pages(batch, repeat: int) -> dict:
    """The batch page and the history filtered by it, each beside its floor, as bench.history times the
    history page: whole requests through the WSGI handler, round robin, the floor being the same request
    with the view's read (the batch's progress, the history's rows) answered from memory."""
    from unittest import mock

    from django.contrib.auth.models import User

    from bench.history.measure import WsgiClient, rows_in_memory
    from dashboard.selectors import task_history
    from dashboard.services import batches

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.invalid", "bench-only"
    )
    client = WsgiClient(admin)
    progress = batches.batch_progress(batch)
    history = task_history(batch=batch.pk)
    cases = {
        "batch_page": (
            f"/batches/{batch.pk}/",
            lambda: mock.patch.object(batches, "batch_progress", lambda batch, **kw: progress),
        ),
        "history_by_batch": (f"/tasks/?batch={batch.pk}", lambda: rows_in_memory(history)),
    }
    bodies: dict[tuple[str, str], str] = {}
    samples: dict[tuple[str, str], list[float]] = {}
    for n in range(repeat + 1):  # the first round warms up
        for name, (url, floor) in cases.items():
            for kind in ("floor", "page"):
                with floor() if kind == "floor" else nullcontext():
                    status, body, ms = client.get(url)
                if status != 200:
                    raise SystemExit(f"bench: {url} answered {status} ({kind})")
                if n:
                    samples.setdefault((name, kind), []).append(ms / 1000)
                bodies[name, kind] = body
    done = f"{progress.done} of {progress.total} done"
    if not all(done in bodies["batch_page", kind] for kind in ("floor", "page")):
        raise SystemExit(f"bench: the batch page or its floor does not say {done!r}")
    rows = {kind: re.findall(r'<tr id="task-(\d+)"', bodies["history_by_batch", kind]) for kind in ("floor", "page")}
    if not rows["page"] or rows["page"] != rows["floor"]:
        raise SystemExit("bench: the history filtered by the batch lists no task, or not its floor's")
    pages = {}
    for name, (url, _) in cases.items():
        page, floor = _ms(samples[name, "page"]), _ms(samples[name, "floor"])
        ratio = round(page["median_ms"] / floor["median_ms"], 2)
        pages[name] = {**page, "url": url, "floor": floor, "floor_ratio": ratio, "met": ratio <= FLOOR_RATIO}
    pages["history_by_batch"]["rows"] = len(rows["page"])
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="items of the drained batch (default 1,000)")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes (default 2)")
    parser.add_argument("--web-rate", type=float, default=2.0, help="single submissions a second (default 2; 0: none)")
    parser.add_argument("--runs", type=int, default=3, help="drain runs; the median is reported (default 3)")
    parser.add_argument("--timeout", type=float, default=300, help="longest wait for a drain, s (default 300)")
    parser.add_argument("--lines", type=int, default=10_000, help="lines of the checked paste (default 10,000)")
    parser.add_argument("--invalid", type=int, default=200, help="invalid lines in the POSTed paste (default 200)")
    parser.add_argument("--repeat-check", type=int, default=3, help="timed checks and POSTs (default 3)")
    parser.add_argument("--scale-items", type=int, default=10_000, help="items of the scale batch (default 10,000)")
    parser.add_argument("--repeat-pages", type=int, default=15, help="timed requests per page (default 15)")
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else a fresh SQLite file in a temp dir")
    parser.add_argument("--output", type=Path, help="write the results as JSON")
    parser.add_argument(
        "--parts", default="drain,validation,scale", help="which parts to run, comma-separated (default: all three)"
    )
    parser.add_argument("--child-web", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_web:
        web_child(args.child_web)
        return

    with tempfile.TemporaryDirectory(prefix="thumbs-batch-") as tmp:
        url = args.database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'batch.sqlite3'}"
        os.environ["DATABASE_URL"] = url
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        machine = machine_info()
        parts = set(args.parts.split(","))
        if not parts or parts - {"drain", "validation", "scale"}:
            raise SystemExit(f"bench: --parts takes drain, validation and scale, not {args.parts!r}")
        report: dict = {
            "machine": machine,
            "setup": {
                "items": args.items,
                "workers": args.workers,
                "web_rate_per_s": args.web_rate,
                "limit_per_s": LIMIT,
            },
        }
        if "drain" in parts:
            runs = [drain_run(args, n + 1) for n in range(args.runs)]
            median = statistics.median(r["all_calls_per_s_in_window"] for r in runs)
            report["drain"] = drain = {
                "runs": runs,
                "median_batch_calls_per_s": statistics.median(r["batch_calls_per_s"] for r in runs),
                "median_all_calls_per_s": median,
                "median_share_of_limit": round(median / LIMIT, 4),
                "code_6_total": sum(max(r["code_6_attempts"], r["code_6_simulator"]) for r in runs),
            }
            print(
                f"median of {len(runs)}: batch {drain['median_batch_calls_per_s']:.2f} calls/s, all {median:.2f} "
                f"calls/s ({drain['median_share_of_limit']:.1%} of {LIMIT}); Code 6 in all runs: "
                f"{drain['code_6_total']} ({machine['database']})",
                flush=True,
            )
        if "validation" in parts:
            report["validation"] = validation(args)
        if "scale" in parts:
            report["scale"] = scale(args)
        _reset()

    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
