"""The shared rate limit under load: several processes send MediaThumbnails at once through the simulator.

One web-like process (several threads, each waiting its turn at most ZEGO_PACING_MAX_WAIT_SECONDS, as a
browser submission does) and worker processes (waiting longer) each send calls back to back through
``default_client()``, so every call takes its turn from the one limiter in the database. The simulator,
in this process, counts calls by arrival as ZEGO does and answers Code 6 beyond 20 in any second.

    .venv/bin/python bench/pacing.py --output bench/results/pacing-sqlite.json
    scripts/with-postgres.sh .venv/bin/python bench/pacing.py --output bench/results/pacing-postgresql.json

Reported per run, and as the median of the runs: the achieved rate (accepted calls per second between the
first and the last arrival) as a share of 20, the Code 6 answers, the calls not sent (no turn within the
wait allowed), and the tightest 21 consecutive arrivals (ZEGO refuses the 21st call when it is under 1 s).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20
WORKER_MAX_WAIT = 60.0
START_DELAY = 0.3  # between "go" and the first call, so that every process starts together


def setup_django(database_url: str) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.history.main import setup_django as setup  # one environment for every benchmark

    setup(database_url, log_level="WARNING")


# --- a sending process ---------------------------------------------------------------------------------
def child(role: str, threads: int, calls: int, max_wait: float | None, pacer: str, margin: float | None) -> None:
    """Send ``calls`` calls from each of ``threads`` threads, starting at the time read from stdin."""
    setup_django(os.environ["DATABASE_URL"])
    from dashboard.pacing import DatabasePacer
    from dashboard.zego import pacing
    from dashboard.zego.client import default_client
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    margin = pacing.MARGIN if margin is None else margin
    # "process": as before the shared limiter, each process on its own.
    inner = pacing.ProcessPacer(margin=margin) if pacer == "process" else DatabasePacer(margin=margin)
    turn = threading.local()

    class Recorded:
        """The pacer, noting when each call's turn came: the send time on this side of the socket."""

        def acquire(self, *args, **kwargs) -> float:
            waited = inner.acquire(*args, **kwargs)
            turn.at = time.time()
            return waited

        def penalize(self, *args) -> None:
            inner.penalize(*args)

    pacing.install_shared(Recorded())

    request = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "/record/bench/pacing.mp4", interval=5)
    clients = [default_client(max_wait=max_wait) for _ in range(threads)]
    print("ready", flush=True)
    go_at = float(sys.stdin.readline())
    outcomes: Counter[str] = Counter()
    latencies: list[int] = []
    sent: list[tuple[str, float]] = []  # (the simulator's task id, the send time)
    finished: list[float] = []
    lock = threading.Lock()

    def send(client) -> None:
        time.sleep(max(0.0, go_at - time.time()))
        for _ in range(calls):
            turn.at = None  # stays None for a call that got no turn
            result = client.media_thumbnails(request)
            key = f"code {result.code}" if result.code is not None else result.failure.kind.value
            with lock:
                outcomes[key] += 1
                latencies.append(result.latency_ms)
                if turn.at is not None:
                    sent.append((result.vendor_task_id, turn.at))
        with lock:
            finished.append(time.time())

    workers = [threading.Thread(target=send, args=(c,)) for c in clients]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    report = {"role": role, "outcomes": outcomes, "latencies_ms": latencies, "sent": sent, "finished": max(finished)}
    print(json.dumps(report))


# --- the run -------------------------------------------------------------------------------------------
def spawn(
    role: str, threads: int, args: argparse.Namespace, max_wait: float | None, env: dict[str, str], log
) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", role, "--threads", str(threads)]
    command += ["--calls", str(args.calls), "--pacer", args.pacer]
    if args.margin is not None:
        command += ["--margin", str(args.margin)]
    if max_wait is not None:
        command += ["--max-wait", str(max_wait)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
    )


def one_run(args: argparse.Namespace, number: int) -> dict:
    from django.conf import settings

    from dashboard.zego.pacing import MARGIN
    from zego_simulator import ZegoSimulator

    sim = ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, quiet=True).start()
    env = {**os.environ, "ZEGO_SIMULATOR_PORT": str(sim.port), "PYTHONUNBUFFERED": "1"}
    roles = [("web", args.web_threads, None)] + [("worker", args.worker_threads, args.worker_max_wait)] * args.workers
    with tempfile.TemporaryFile("w+") as log:
        processes = [spawn(role, threads, args, wait, env, log) for role, threads, wait in roles]
        try:
            for p in processes:
                if p.stdout.readline().strip() != "ready":
                    p.wait(timeout=30)
                    log.seek(0)
                    raise SystemExit(f"bench: a sending process failed to start:\n{log.read()}")
            go_at = time.time() + START_DELAY
            for p in processes:
                p.stdin.write(f"{go_at!r}\n")
                p.stdin.flush()
            reports = [json.loads(p.stdout.readline() or "null") for p in processes]
            for p in processes:
                p.wait(timeout=60)
        finally:
            for p in processes:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            sim.stop()
        if any(r is None for r in reports) or any(p.returncode for p in processes):
            log.seek(0)
            raise SystemExit(f"bench: a sending process failed:\n{log.read()}")

    outcomes: Counter[str] = Counter()
    for r in reports:
        outcomes.update(r["outcomes"])
    calls = sum(outcomes.values())
    arrivals = sorted(t.created_at for t in sim.tasks)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    rate = (len(arrivals) - 1) / span if span else 0.0
    tightest = min((arrivals[i + LIMIT] - arrivals[i] for i in range(len(arrivals) - LIMIT)), default=None)
    busiest = max((sum(1 for t in arrivals[i:] if t - start < 1.0) for i, start in enumerate(arrivals)), default=0)
    latencies = sorted(x for r in reports for x in r["latencies_ms"])
    # Lateness has two sides: the senders' (their sends, as the pacer spaced them) and the way (from the
    # send to the simulator's arrival stamp: the socket, and the simulator waiting for a CPU).
    sends = sorted(at for r in reports for _, at in r["sent"])
    tightest_sends = min((sends[i + LIMIT] - sends[i] for i in range(len(sends) - LIMIT)), default=None)
    arrived = {t.task_id: t.created_at for t in sim.tasks}
    lags = sorted(arrived[task] - at for r in reports for task, at in r["sent"] if task in arrived)
    # A gap of one and a half turns or more is most often a turn left empty by a caller that woke too late.
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    run = {
        "run": number,
        "processes": [{"role": r["role"], "calls": sum(r["outcomes"].values())} for r in reports],
        "calls": calls,
        "accepted": len(arrivals),
        "code_6": outcomes.get("code 6", 0),
        "not_sent": sum(n for k, n in outcomes.items() if k.startswith("not_sent")),
        "outcomes": dict(outcomes),
        "seconds": round(max(r["finished"] for r in reports) - go_at, 3),
        "arrival_span_s": round(span, 3),
        "calls_per_s": round(rate, 3),
        "share_of_limit": round(rate / LIMIT, 4),
        "busiest_second": busiest,
        "tightest_21_arrivals_s": None if tightest is None else round(tightest, 4),
        "tightest_21_sends_s": None if tightest_sends is None else round(tightest_sends, 4),
        "way_ms": {
            "median": round(statistics.median(lags) * 1000, 1) if lags else None,
            "p99": round(lags[int(len(lags) * 0.99)] * 1000, 1) if lags else None,
            "max": round(lags[-1] * 1000, 1) if lags else None,
        },
        "gaps_over_1_5_turns": sum(1 for g in gaps if g > 1.5 / (LIMIT * (1 - MARGIN))),
        "latency_ms_median": statistics.median(latencies) if latencies else None,
        "latency_ms_max": latencies[-1] if latencies else None,
    }
    print(
        f"run {number}: {run['calls']} calls from {len(processes)} processes in {run['seconds']:.2f} s: "
        f"{run['calls_per_s']:.2f} calls/s ({run['share_of_limit']:.1%} of {LIMIT}), Code 6: {run['code_6']}, "
        f"not sent: {run['not_sent']}, busiest second: {busiest}, "
        f"tightest 21 sends / arrivals: {run['tightest_21_sends_s']} / {run['tightest_21_arrivals_s']} s, "
        f"send to arrival: median {run['way_ms']['median']} ms, max {run['way_ms']['max']} ms",
        flush=True,
    )
    return run


def machine_info() -> dict:
    from django import get_version
    from django.db import connection

    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": get_version(),
        "database": connection.vendor,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
    else:
        info["sqlite"] = sqlite3.sqlite_version
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-threads", type=int, default=3, help="threads of the web-like process (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--worker-threads", type=int, default=1, help="threads of each worker (default 1)")
    parser.add_argument("--calls", type=int, default=40, help="calls each thread sends back to back (default 40)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is reported (default 3)")
    parser.add_argument("--worker-max-wait", type=float, default=WORKER_MAX_WAIT, help="a worker's longest wait, s")
    parser.add_argument(
        "--pacer",
        choices=["database", "process"],
        default="database",
        help="database: the shared limiter (default); process: each process its own, as before",
    )
    parser.add_argument("--margin", type=float, help="share of the limit given up (default: the pacer's, 0.04)")
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else a fresh SQLite file in a temp dir")
    parser.add_argument("--output", type=Path, help="write the results as JSON")
    parser.add_argument("--child", choices=["web", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--max-wait", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.calls, args.max_wait, args.pacer, args.margin)
        return

    with tempfile.TemporaryDirectory(prefix="thumbs-pacing-") as tmp:
        url = args.database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'pacing.sqlite3'}"
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        machine = machine_info()
        connection.close()
        runs = [one_run(args, n + 1) for n in range(args.runs)]

    median_rate = statistics.median(r["calls_per_s"] for r in runs)
    report = {
        "machine": machine,
        "setup": {
            "web_threads": args.web_threads,
            "workers": args.workers,
            "worker_threads": args.worker_threads,
            "calls_per_thread": args.calls,
            "pacer": args.pacer,
            "margin": args.margin,
            "limit_per_s": LIMIT,
        },
        "runs": runs,
        "median_calls_per_s": median_rate,
        "median_share_of_limit": round(median_rate / LIMIT, 4),
        "code_6_total": sum(r["code_6"] for r in runs),
        "not_sent_total": sum(r["not_sent"] for r in runs),
    }
    print(
        f"median of {len(runs)}: {median_rate:.2f} calls/s ({report['median_share_of_limit']:.1%} of {LIMIT}); "
        f"Code 6 in all runs: {report['code_6_total']}; not sent: {report['not_sent_total']} ({machine['database']})"
    )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
