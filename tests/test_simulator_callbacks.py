"""The simulator sends ZEGO's snapshot callback: the whole loop over real sockets, and its retries."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from dashboard import services
from dashboard.models import Result, ResultCheck, Screenshot, Task
from dashboard.zego import callbacks as zego_callbacks
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import first_line, free_port
from zego_simulator import ZegoSimulator
from zego_simulator.callbacks import CallbackSender, callback_body
from zego_simulator.scripted import FAILING_TASK_FILE_ID
from zego_simulator.tasks import FINISH_SECONDS, SimTask

ROOT = Path(__file__).resolve().parent.parent
QUICK_RETRIES = (0.05, 0.05, 0.05, 0.05, 0.05)


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "the condition") -> None:
    """Wait for something another thread or process does; the timeout only ends a hung test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def finished_task(vendor: str = "Tencent", *, fails: bool = False) -> SimTask:
    return SimTask(
        task_id="1500030200-procedurev2-feedfacett0" if vendor == "Tencent" else "feedface" * 4,
        vendor=vendor,
        type="SnapshotByTimeOffset",
        file_id="1397757897438985100",
        created_at=time.time() - FINISH_SECONDS - 1,
        definition=10,
        time_offsets=(Decimal("1"), Decimal("2.5")),
        fails=fails,
    )


# --- the whole loop: thumbs submits, the simulator finishes the task and calls back ----------------------


def submit(vendor: Vendor, mode: Mode, user) -> Task:
    if mode is Mode.TIME_POINTS:
        request = ThumbnailRequest(
            vendor,
            mode,
            "1397757897438985100",
            definition=10 if vendor is Vendor.TENCENT else None,
            time_points=(Decimal(1), Decimal("2.5")),
        )
    else:
        request = ThumbnailRequest(vendor, mode, "/record/room1/a.mp4", interval=5)
    task = services.task_submit(user=user, request=request).task
    assert task.result == Result.WAITING and task.vendor_task_id
    return task


def callback_check(task: Task) -> ResultCheck | None:
    return ResultCheck.objects.filter(task=task, source=ResultCheck.Source.CALLBACK).first()


@pytest.fixture
def calling_back(live_server, settings):
    """A simulator that sends its completion callbacks to this test's live server."""
    with ZegoSimulator(
        settings.SIMULATOR_APP_ID,
        settings.SIMULATOR_SERVER_SECRET,
        quiet=True,
        callback_url=f"{live_server.url}/zego/callback",
        callback_secret=settings.ZEGO_CALLBACK_SECRET,
    ) as sim:
        settings.ZEGO_API_URL = sim.url
        yield sim


@pytest.mark.django_db(transaction=True)
def test_a_callback_from_the_simulator_records_the_screenshots_on_the_task(calling_back, operator):
    sim = calling_back
    tencent = submit(Vendor.TENCENT, Mode.TIME_POINTS, operator)
    huawei = submit(Vendor.HUAWEI, Mode.INTERVAL, operator)

    wait_for(lambda: callback_check(tencent) and callback_check(huawei), what="both callbacks")
    wait_for(lambda: not sim.callbacks.pending, what="the sender to finish")
    assert [(d.status, d.attempt) for d in sim.callbacks.deliveries] == [(200, 1), (200, 1)]
    tencent.refresh_from_db()
    huawei.refresh_from_db()
    assert (tencent.result, tencent.result_status, tencent.screenshot_count) == (Result.FINISHED, "FINISH", 2)
    assert list(Screenshot.objects.filter(task=tencent).values_list("url", "offset_ms")) == [
        (f"{sim.url}thumbs/{tencent.vendor_task_id}/1.png", 1000),
        (f"{sim.url}thumbs/{tencent.vendor_task_id}/2.png", 2500),
    ]
    assert (huawei.result, huawei.result_status, huawei.screenshot_count) == (Result.FINISHED, "SUCCEEDED", 6)
    assert list(Screenshot.objects.filter(task=huawei).values_list("file_name", flat=True)) == [
        f"snapshots/{huawei.vendor_task_id}/{n}.png" for n in range(1, 7)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_task_the_provider_fails_gets_no_callback(calling_back, operator):
    request = ThumbnailRequest(Vendor.TENCENT, Mode.TIME_POINTS, FAILING_TASK_FILE_ID, 10, (Decimal(1),))
    task = services.task_submit(user=operator, request=request).task
    assert task.vendor_task_id
    wait_for(lambda: not calling_back.callbacks.pending, what="the sender to drop the failed task")
    assert calling_back.callbacks.deliveries == ()
    assert callback_check(task) is None


@pytest.mark.django_db(transaction=True)
def test_manage_py_zego_simulator_calls_back_with_the_secret_the_console_shares(live_server, settings, operator):
    # What make run starts (the Procfile's simulator line), with the default secrets on both sides.
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEGO_CALLBACK")}
    env |= {"DJANGO_DEBUG": "on", "ZEGO_SIMULATOR": "on", "PYTHONUNBUFFERED": "1"}
    argv = ["--port", str(port), "--callback-url", f"{live_server.url}/zego/callback"]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "zego_simulator", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first_line(process, timeout=30).startswith("ZEGO simulator listening on")
        # Written and flushed with the first line (so already read into the pipe's buffer: no select).
        assert process.stdout.readline() == f"Snapshot callbacks go to {live_server.url}/zego/callback\n"
        settings.ZEGO_API_URL = f"http://127.0.0.1:{port}/"
        task = submit(Vendor.TENCENT, Mode.TIME_POINTS, operator)
        wait_for(lambda: callback_check(task), what="the callback")
    finally:
        process.terminate()
        process.communicate(timeout=15)
    task.refresh_from_db()
    assert task.result == Result.FINISHED and task.screenshot_count == 2


# --- the sender on its own: the body, the retries ------------------------------------------------------


def test_the_body_is_url_encoded_json_the_console_reads_and_verifies():
    task = finished_task()
    body = callback_body(
        task,
        app_id=1000001,
        secret="s3cret",
        base_url="http://sim/",
        now=time.time(),
        timestamp=1700000000,
        nonce="158243",
    )

    assert body.startswith(b"%7B") and b" " not in body
    data = zego_callbacks.decode_body(body)
    signed = zego_callbacks.signed_part(data)
    zego_callbacks.verify(signed, secret="s3cret", now=1700000000)
    news = zego_callbacks.snapshot(data)
    assert isinstance(data["snapshot_pic_list"], str) and data["field_id"] == "1397757897438985100"
    assert (news.vendor, news.task_id, news.app_id) == (Vendor.TENCENT, task.task_id, "1000001")
    assert [(p.url, p.offset_ms) for p in news.pictures] == [
        (f"http://sim/thumbs/{task.task_id}/1.png", 1000),
        (f"http://sim/thumbs/{task.task_id}/2.png", 2500),
    ]


def test_a_huawei_body_has_object_paths_no_offsets_and_no_field_id():
    task = finished_task("Huawei")
    body = callback_body(task, app_id=1, secret="s", base_url="http://sim/", now=time.time(), timestamp=1, nonce="1")
    data = zego_callbacks.decode_body(body)
    assert data["vendor"] == "hw" and "field_id" not in data
    news = zego_callbacks.snapshot(data)
    assert [(p.url, p.offset_ms) for p in news.pictures] == [
        (f"snapshots/{task.task_id}/{n}.png", None) for n in (1, 2)
    ]


class _Stub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.statuses = statuses
        self.bodies: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/zego/callback"


class _StubHandler(BaseHTTPRequestHandler):
    server: _Stub

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Callable[[list[int]], _Stub]]:
    servers: list[_Stub] = []

    def start(statuses: list[int]) -> _Stub:
        server = _Stub(statuses)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_it_retries_a_non_2xx_answer_with_the_same_body_until_2xx(stub):
    server = stub([500, 503, 404])
    sender = CallbackSender(server.url, "s", app_id=1, base_url="http://sim/", retry_delays=QUICK_RETRIES)
    try:
        sender.add(finished_task())
        wait_for(lambda: not sender.pending, what="the sender to finish")
    finally:
        sender.stop()
    assert [(d.attempt, d.status) for d in sender.deliveries] == [(1, 500), (2, 503), (3, 404), (4, 200)]
    assert len(server.bodies) == 4 and len(set(server.bodies)) == 1


def test_it_gives_up_after_five_retries(stub):
    server = stub([500] * 100)
    sender = CallbackSender(server.url, "s", app_id=1, base_url="http://sim/", retry_delays=QUICK_RETRIES)
    try:
        sender.add(finished_task())
        wait_for(lambda: not sender.pending, what="the sender to give up")
    finally:
        sender.stop()
    assert [d.status for d in sender.deliveries] == [500] * 6 and len(server.bodies) == 6


def test_it_retries_when_nobody_answers():
    url = f"http://127.0.0.1:{free_port()}/zego/callback"
    sender = CallbackSender(url, "s", app_id=1, base_url="http://sim/", retry_delays=(0.05, 0.05))
    try:
        sender.add(finished_task())
        wait_for(lambda: not sender.pending, what="the sender to give up")
    finally:
        sender.stop()
    assert [(d.status, bool(d.error)) for d in sender.deliveries] == [(None, True)] * 3


def test_it_waits_for_the_task_to_finish_and_sends_nothing_for_a_failed_one(stub):
    server = stub([])
    clock_now = [time.time()]
    sender = CallbackSender(
        server.url, "s", app_id=1, base_url="http://sim/", clock=lambda: clock_now[0], retry_delays=QUICK_RETRIES
    )
    try:
        running = SimTask("t-running", "Tencent", "SampleSnapshot", "1", created_at=clock_now[0])
        sender.add(running)
        sender.add(finished_task(fails=True))
        wait_for(lambda: sender.pending == 1, what="the failed task to be dropped")
        time.sleep(0.5)  # several of the sender's rounds: the running task is not sent early
        assert server.bodies == []
        clock_now[0] += FINISH_SECONDS
        wait_for(lambda: not sender.pending, what="the finished task's callback")
    finally:
        sender.stop()
    assert len(server.bodies) == 1 and b"t-running" in server.bodies[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--callback-url", "127.0.0.1:8000/zego/callback"], "--callback-url"),
        (["--callback-url", "ftp://127.0.0.1/zego/callback"], "--callback-url"),
        (["--callback-url", "http://127.0.0.1:99999/"], "--callback-url"),
        (["--callback-url", "http://127.0.0.1:8000/zego/callback", "--callback-secret", " "], "needs a secret"),
    ],
    ids=["no_scheme", "ftp", "bad_port", "blank_secret"],
)
def test_it_refuses_a_bad_callback_option_with_a_clear_error(argv: list[str], says: str, settings) -> None:
    settings.ZEGO_CALLBACK_SECRET = ""
    with pytest.raises(CommandError, match=says.replace("-", r"\-")):
        call_command("zego_simulator", "--port", str(free_port()), *argv)


def test_the_simulator_and_the_console_share_a_default_callback_secret_in_simulator_mode():
    assert settings.ZEGO_SIMULATOR and settings.ZEGO_CALLBACK_SECRET == settings.SIMULATOR_CALLBACK_SECRET
