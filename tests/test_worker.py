"""The worker as it runs: ``manage.py db_worker`` in this process, and as real processes sharing one
database (two at once; one killed with SIGKILL in the middle of a call), against the simulator.

Time: the console's clock cannot be moved inside another process, so "time passes" is done to the data
instead: every stored time that is compared with the clock (due checks, queued tasks, the tick, the
acceptance) is moved back by the same amount, and the simulator's clock forward.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dashboard import services
from dashboard.models import Result, ResultCheck, WorkerTick
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import FakeClock
from zego_simulator import ZegoSimulator

ROOT = Path(__file__).resolve().parent.parent


def noting_describes(sim: ZegoSimulator, hold_first: bool = False) -> list[str]:
    """The TaskIds of the DescribeMediaTask calls the simulator gets, in order. With ``hold_first``, the
    first call is answered only once a second one has arrived (or after 30 s)."""
    asked: list[str] = []
    second = threading.Event()
    handle = sim.app.handle

    def noting(path: str):
        query = parse_qs(urlsplit(path).query)
        if query.get("Action") == ["DescribeMediaTask"]:
            asked.append(query["TaskId"][0])
            if hold_first and len(asked) == 1:
                second.wait(30)
            else:
                second.set()
        return handle(path)

    sim.app.handle = noting
    return asked


# --- in this process -----------------------------------------------------------------------------------------


@pytest.fixture
def restore_signals():
    # db_worker installs its own SIGINT/SIGTERM handlers, for a clean stop: give pytest its own back.
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_follows_tasks_to_their_final_result(operator, monkeypatch, restore_signals):
    console = FakeClock()
    monkeypatch.setattr(timezone, "now", lambda: datetime.fromtimestamp(console.now, UTC))
    provider = FakeClock()
    with ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, clock=provider, quiet=True) as sim:
        monkeypatch.setattr(settings, "ZEGO_API_URL", sim.url)
        asked = noting_describes(sim)
        started = provider.now
        tencent = services.task_submit(
            user=operator,
            request=ThumbnailRequest(
                Vendor.TENCENT, Mode.TIME_POINTS, "1397757897438985100", definition=10, time_points=(Decimal(1),)
            ),
        ).task
        huawei = services.task_submit(
            user=operator, request=ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "/record/a.mp4", interval=5)
        ).task
        seen = []
        for seconds, provider_seconds in [(3, 0.5), (3, 2.0), (5, 3.5)]:  # the console's pauses; the provider
            console.advance(seconds)
            provider.now = started + provider_seconds
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
            tencent.refresh_from_db()
            huawei.refresh_from_db()
            seen.append((tencent.result, huawei.result))
    assert seen == [
        (Result.WAITING, Result.WAITING),
        (Result.PROCESSING, Result.PROCESSING),
        (Result.FINISHED, Result.FINISHED),
    ]
    assert (tencent.screenshot_count, huawei.screenshot_count) == (1, 6)
    assert Counter(asked) == {tencent.vendor_task_id: 3, huawei.vendor_task_id: 3}
    assert WorkerTick.objects.get(name="tick").runs >= 1


# --- real processes --------------------------------------------------------------------------------------------

PRELUDE = """
import json, os
import django
django.setup()
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth.models import User
from django.db.models import F
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max
from dashboard import services, tasks
from dashboard.models import Task, WorkerTick
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
"""

SUBMIT = """
user, _ = User.objects.get_or_create(username="worker-test")
ids = []
for n in range({count}):
    if n % 2:
        request = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, f"/record/{{n}}.mp4", interval=5)
    else:
        request = ThumbnailRequest(Vendor.TENCENT, Mode.TIME_POINTS, f"13977578974389{{n:05}}", definition=10,
                                   time_points=(Decimal(1), Decimal("2.5")))
    task = services.task_submit(user=user, request=request).task
    assert task.state == "succeeded", task.latest_message
    for _ in range({extra_checks}):  # more queued checks of the same task, as restarted chains would make
        tasks.poll_result.using(run_after=task.next_check_at).enqueue(task.pk)
    ids.append(task.pk)
print(json.dumps(ids))
"""

# "Time passes": every stored time compared with the clock moves back by the same amount.
FAST_FORWARD = """
back = timedelta(seconds={seconds})
Task.objects.update(state_changed_at=F("state_changed_at") - back, created_at=F("created_at") - back)
Task.objects.exclude(next_check_at=None).update(next_check_at=F("next_check_at") - back)
WorkerTick.objects.update(due_at=F("due_at") - back)
DBTaskResult.objects.filter(status="READY").exclude(run_after=get_date_max()).update(run_after=F("run_after") - back)
print(json.dumps(True))
"""

STATE = """
now = timezone.now()
state = {"tasks": {}, "queue": []}
for task in Task.objects.order_by("pk"):
    state["tasks"][task.pk] = {
        "vendor_task_id": task.vendor_task_id,
        "result": task.result,
        "screenshots": task.screenshot_count,
        "next_check_in": None if task.next_check_at is None else (task.next_check_at - now).total_seconds(),
        "checks": [[c.source, c.status] for c in task.checks.all()],
    }
for entry in DBTaskResult.objects.order_by("enqueued_at"):
    state["queue"].append({"task": entry.task_path.rsplit(".", 1)[1], "status": entry.status,
                           "args": entry.args_kwargs["args"], "returned": entry.return_value,
                           "workers": entry.worker_ids})
print(json.dumps(state))
"""


class Site:
    """One console's database, shared by the processes of a test: on PostgreSQL this run's test database;
    on SQLite (whose test database is in this process's memory) a file of the test's own."""

    def __init__(self, tmp_path: Path) -> None:
        if connection.vendor == "postgresql":
            s = connection.settings_dict
            user = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
            self.url = f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        else:
            self.url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
            migrated = subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env(9), capture_output=True
            )
            assert migrated.returncode == 0, migrated.stderr

    def env(self, zego_port: int) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "thumbs_admin.settings",
            "DATABASE_URL": self.url,
            "ZEGO_SIMULATOR": "on",
            "ZEGO_SIMULATOR_PORT": str(zego_port),
            "ZEGO_TIMEOUT_SECONDS": "30",  # a call held by the test is not given up before it is done with
            "PYTHONUNBUFFERED": "1",
        }

    def python(self, code: str, zego_port: int = 9) -> Any:
        """Run ``code`` in a Django process on this database; return the JSON it printed last."""
        run = subprocess.run(
            [sys.executable, "-c", PRELUDE + code],
            cwd=ROOT,
            env=self.env(zego_port),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout.strip().splitlines()[-1])

    def fast_forward(self, seconds: float, *clocks: FakeClock) -> None:
        self.python(FAST_FORWARD.format(seconds=seconds))
        for clock in clocks:
            clock.advance(seconds)

    def worker(self, zego_port: int, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2", *args],
            cwd=ROOT,
            env=self.env(zego_port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


class Unanswering:
    """A server that takes each request and never answers: the call hangs until its caller is gone."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.requests: list[str] = []
        self.arrived = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)
            data = b""
            while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                data += chunk
            self.requests.append(data.split(b"\r\n", 1)[0].decode())
            self.arrived.set()

    def __enter__(self) -> Unanswering:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.kill()
    return process.communicate(timeout=30)[0]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_call_loses_nothing_and_the_next_worker_carries_on(tmp_path):
    provider = FakeClock()
    with (
        ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, clock=provider, quiet=True) as sim,
        Unanswering() as hole,
    ):
        asked = noting_describes(sim)
        site = Site(tmp_path)
        [task_id] = site.python(SUBMIT.format(count=1, extra_checks=0), zego_port=sim.port)
        site.fast_forward(5, provider)  # its first check is due

        first = site.worker(hole.port)  # this worker's ZEGO never answers
        try:
            assert hole.arrived.wait(60), stop(first)
            assert "Action=DescribeMediaTask" in hole.requests[0]
            first.send_signal(signal.SIGKILL)  # in the middle of the call
            assert first.wait(30) == -signal.SIGKILL
        finally:
            stop(first)

        killed = site.python(STATE)
        task = killed["tasks"][str(task_id)]
        assert task["result"] == Result.WAITING and task["checks"] == []  # nothing half-recorded
        assert task["next_check_in"] > 0  # the claim: not asked again until its lease has passed
        checks = [e for e in killed["queue"] if e["task"] == "poll_result"]
        # django-tasks-db leaves the killed worker's entry RUNNING and never runs it again.
        assert [e["status"] for e in checks] == ["RUNNING"]

        site.fast_forward(task["next_check_in"] + 30, provider)  # past the lease, and a tick later
        second = site.worker(sim.port, "--batch")
        output = second.communicate(timeout=120)[0]
        assert second.returncode == 0, output

    after = site.python(STATE)
    task = after["tasks"][str(task_id)]
    assert task["result"] == Result.FINISHED and task["screenshots"] == 2
    assert task["checks"] == [[ResultCheck.Source.POLL, "FINISH"]]
    assert asked == [task["vendor_task_id"]] and len(hole.requests) == 1
    assert [e["status"] for e in after["queue"] if e["task"] == "poll_result"] == ["RUNNING"]
    ticks = [e for e in after["queue"] if e["task"] == "tick"]
    assert sum(1 for e in ticks if e["returned"] and e["returned"]["orphaned_checks"] == 1) == 1
    assert [e["status"] for e in ticks].count("READY") == 1  # one tick chain goes on


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_never_ask_about_the_same_check_twice(tmp_path):
    provider = FakeClock()
    with ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, clock=provider, quiet=True) as sim:
        # The first call is held until another arrives: the two workers are at work at the same time.
        asked = noting_describes(sim, hold_first=True)
        site = Site(tmp_path)
        ids = site.python(SUBMIT.format(count=8, extra_checks=2), zego_port=sim.port)  # 3 queued checks each
        site.fast_forward(5, provider)

        workers = [site.worker(sim.port, "--batch") for _ in range(2)]
        try:
            outputs = [w.communicate(timeout=180)[0] for w in workers]
        finally:
            for w in workers:
                stop(w)
        assert [w.returncode for w in workers] == [0, 0], outputs

    state = site.python(STATE)
    tasks = [state["tasks"][str(pk)] for pk in ids]
    assert all(t["result"] == Result.FINISHED and len(t["checks"]) == 1 for t in tasks)
    assert Counter(asked) == {t["vendor_task_id"]: 1 for t in tasks}  # each asked once, none twice
    checks = [e for e in state["queue"] if e["task"] == "poll_result"]
    assert len(checks) == 24 and all(e["status"] == "SUCCESSFUL" for e in checks)
    assert sum(e["returned"] is None for e in checks) == 16  # the others found their check claimed or done
    assert len({w for e in checks for w in e["workers"]}) == 2  # both workers took checks
