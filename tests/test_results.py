"""What the provider made of a task: the worker's checks (DescribeMediaTask), run in-process as the worker
runs them, against a simulator whose clock, like the console's, moves only when a test says so."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from dashboard import services, tasks
from dashboard.errors import ScrubbingFormatter
from dashboard.models import AuditEntry, Result, ResultCheck, State, Task, WorkerTick
from dashboard.services import results as results_services
from dashboard.services import worker as worker_services
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import FakeClock
from zego_simulator import ZegoSimulator
from zego_simulator.scripted import FAILING_TASK_FILE_ID, MISSING_FILE_ID, NEVER_FINISHING_FILE_ID

pytestmark = pytest.mark.django_db

VENDORS = ["Tencent", "Huawei"]
FINISHED = {"Tencent": "FINISH", "Huawei": "SUCCEEDED"}
FAILED = {"Tencent": "FAIL", "Huawei": "FAILED"}


@pytest.fixture
def console_clock(monkeypatch) -> FakeClock:
    """The console's time: timezone.now everywhere (services, and django-tasks-db's queue)."""
    clock = FakeClock()
    monkeypatch.setattr(timezone, "now", lambda: datetime.fromtimestamp(clock.now, UTC))
    return clock


@pytest.fixture
def provider_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(settings, provider_clock):
    """The simulator on its own clock (how far the provider has got), noting each DescribeMediaTask."""
    sim = ZegoSimulator(
        settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, clock=provider_clock, quiet=True
    ).start()
    sim.asked = []
    handle = sim.app.handle

    def noting(path: str):
        query = parse_qs(urlsplit(path).query)
        if query.get("Action") == ["DescribeMediaTask"]:
            sim.asked.append(query["TaskId"][0])
        return handle(path)

    sim.app.handle = noting
    settings.ZEGO_API_URL = sim.url
    yield sim
    sim.stop()


def submit(user, vendor: str, file_id: str = "1397757897438985100") -> Task:
    if vendor == "Tencent":
        request = ThumbnailRequest(
            Vendor.TENCENT, Mode.TIME_POINTS, file_id, definition=10, time_points=(Decimal(1), Decimal("2.5"))
        )
    else:
        request = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, file_id, interval=5)
    return services.task_submit(user=user, request=request).task


def run_worker(*, failures: bool = False) -> list:
    """What a db_worker does with the queue at this moment: take each ready entry in turn and run it
    (django-tasks-db's own Worker.run_task); return what the tasks returned. A task that fails fails the
    test unless ``failures`` (then its entry is returned)."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="in-process",
        excluded_queue_names=[],
    )
    returned = []
    while (entry := DBTaskResult.objects.ready().first()) is not None:
        entry.claim("in-process")
        worker.run_task(entry)
        entry.refresh_from_db()
        if failures and entry.status == TaskResultStatus.FAILED:
            returned.append(entry)
            continue
        assert entry.status == TaskResultStatus.SUCCESSFUL, entry.traceback
        returned.append((entry.task_path.rsplit(".", 1)[1], entry.return_value))
    return returned


def queued_checks(task: Task) -> list[datetime]:
    entries = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=tasks.poll_result.module_path, args_kwargs__args=[task.pk]
    )
    return sorted(entries.values_list("run_after", flat=True))


def until(clock: FakeClock, at: datetime) -> None:
    clock.now = at.timestamp()


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_worker_follows_a_task_from_waiting_through_processing_to_finished_with_its_screenshots(
    operator, provider, provider_clock, console_clock, vendor
):
    task = submit(operator, vendor)
    accepted = task.state_changed_at
    started = provider_clock.now
    assert task.result == Result.WAITING and task.next_check_at == accepted + timedelta(seconds=3)
    assert queued_checks(task) == [task.next_check_at]

    for provider_seconds, status in [(0.5, "WAITING"), (2.0, "PROCESSING"), (3.5, FINISHED[vendor])]:
        until(console_clock, task.next_check_at)
        provider_clock.now = started + provider_seconds  # how far the provider has got by this check
        assert ("poll_result", status) in run_worker()
        task.refresh_from_db()
        assert task.result_status == status
        # The chain of checks: an answer that is not final queues the next check, for when it is due.
        assert queued_checks(task) == ([task.next_check_at] if task.next_check_at else [])

    assert task.result == Result.FINISHED and task.next_check_at is None
    checks = list(task.checks.all())
    assert [c.status for c in checks] == ["WAITING", "PROCESSING", FINISHED[vendor]]
    assert [c.source for c in checks] == [ResultCheck.Source.POLL] * 3
    assert [(c.at - accepted).total_seconds() for c in checks] == [3, 6, 11]  # pauses of 3 s, then 5 s
    assert all(c.code == 0 and c.request_id and c.asked_by is None for c in checks)
    shots = list(task.screenshots.all())
    if vendor == "Tencent":  # URLs, one per time point
        assert len(shots) == task.screenshot_count == 2
        assert all(s.url.startswith(f"{provider.url}thumbs/{task.vendor_task_id}/") for s in shots)
        assert not any(s.file_name for s in shots)
    else:  # OBS object paths, six for an interval task in the simulator
        assert len(shots) == task.screenshot_count == 6
        assert [s.file_name for s in shots] == [f"snapshots/{task.vendor_task_id}/{n}.png" for n in range(1, 7)]
        assert not any(s.url for s in shots)
    assert provider.asked == [task.vendor_task_id] * 3


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_provider_failure_ends_failed_not_as_a_success(operator, provider, provider_clock, console_clock, vendor):
    task = submit(operator, vendor, FAILING_TASK_FILE_ID)
    until(console_clock, task.next_check_at)
    provider_clock.advance(3.5)
    run_worker()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED  # ZEGO accepted the request ...
    assert task.result == Result.FAILED and task.get_result_display() == "Provider failed"  # ... the provider failed
    assert task.result_status == FAILED[vendor] and task.screenshot_count == 0
    if vendor == "Tencent":
        assert "could not be decoded" in task.result_message
    assert task.next_check_at is None and queued_checks(task) == []

    console_clock.advance(86400)
    run_worker()
    assert provider.asked == [task.vendor_task_id]


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_task_that_never_finishes_ends_stuck_and_is_not_asked_again(
    operator, provider, provider_clock, console_clock, vendor
):
    task = submit(operator, vendor, NEVER_FINISHING_FILE_ID)
    accepted = task.state_changed_at
    provider_clock.advance(60)
    for _ in range(30):
        if task.next_check_at is None:
            break
        until(console_clock, task.next_check_at)
        run_worker()
        task.refresh_from_db()
    assert task.result == Result.STUCK and task.result_status == "PROCESSING"
    times = [(c.at - accepted).total_seconds() for c in task.checks.all()]
    pauses = [b - a for a, b in zip([0, *times], times, strict=False)]
    assert pauses[:3] == [3, 3, 5] and pauses == sorted(pauses)  # growing pauses, not a loop
    assert times[-1] <= 900 < times[-1] + pauses[-1]  # the last check before the 15 minutes
    asked = len(provider.asked)
    assert asked == len(times)

    console_clock.advance(86400)
    run_worker()
    task.refresh_from_db()
    assert len(provider.asked) == asked and task.result == Result.STUCK and queued_checks(task) == []


def test_the_stuck_threshold_is_a_setting(operator, provider, provider_clock, console_clock, settings):
    settings.THUMBS_RESULT_STUCK_AFTER_SECONDS = 60
    task = submit(operator, "Tencent", NEVER_FINISHING_FILE_ID)
    while task.next_check_at is not None:
        until(console_clock, task.next_check_at)
        run_worker()
        task.refresh_from_db()
    assert task.result == Result.STUCK
    assert (task.result_checked_at - task.state_changed_at).total_seconds() <= 60


def test_a_finished_task_is_never_asked_again(operator, provider, provider_clock, console_clock):
    task = submit(operator, "Tencent")
    until(console_clock, task.next_check_at)
    provider_clock.advance(3.5)
    run_worker()
    task.refresh_from_db()
    assert task.result == Result.FINISHED and provider.asked == [task.vendor_task_id]

    console_clock.advance(3600)
    assert services.result_poll(task_id=task.pk) is None
    run_worker()
    # An answer arriving late and out of order (a callback saying PROCESSING) does not undo it.
    services.result_record(task=task, source=ResultCheck.Source.CALLBACK, status="PROCESSING")
    task.refresh_from_db()
    assert task.result == Result.FINISHED and task.next_check_at is None and queued_checks(task) == []
    assert provider.asked == [task.vendor_task_id]


def test_two_workers_that_see_the_same_due_check_at_once_ask_once(
    operator, provider, provider_clock, console_clock, monkeypatch
):
    task = submit(operator, "Huawei")
    until(console_clock, task.next_check_at)
    provider_clock.advance(3.5)
    second = []
    due_check = results_services._due_check

    def both_see_it_due(task_id, at):
        seen = due_check(task_id, at)
        if len(second) == 0:  # the second worker reads it due too, and gets to its claim and call first
            second.append(None)
            second[0] = services.result_poll(task_id=task_id)
        return seen

    monkeypatch.setattr(results_services, "_due_check", both_see_it_due)
    first = services.result_poll(task_id=task.pk)
    assert second[0] is not None and second[0].status == "SUCCEEDED"
    assert first is None  # its claim found the check no longer as it had seen it: no call
    assert provider.asked == [task.vendor_task_id] and task.checks.count() == 1


def test_two_queued_checks_of_one_task_make_one_call(operator, provider, provider_clock, console_clock):
    task = submit(operator, "Tencent")
    tasks.poll_result.using(run_after=task.next_check_at).enqueue(task.pk)  # as a restarted chain would
    until(console_clock, task.next_check_at)
    provider_clock.advance(3.5)
    returned = [value for name, value in run_worker() if name == "poll_result"]
    assert len(returned) == 2 and set(returned) == {None, "FINISH"}  # one asked, the other found it claimed
    assert provider.asked == [task.vendor_task_id] and task.checks.count() == 1


def test_asking_zego_again_records_who_asked_and_the_checks_go_on(operator, provider, provider_clock, console_clock):
    task = submit(operator, "Tencent")
    console_clock.advance(1)
    provider_clock.advance(1.5)
    check = services.result_ask(task=task, user=operator)
    task.refresh_from_db()
    assert check.source == ResultCheck.Source.ASK and check.asked_by == operator and check.status == "PROCESSING"
    assert task.result == Result.PROCESSING and task.result_checks == 1
    entry = AuditEntry.objects.get(action=AuditEntry.Action.RESULT_ASK)
    assert entry.actor == operator and entry.task == task and "asked ZEGO again" in entry.summary
    # The ask took the place of the next check: the one queued at acceptance finds nothing due, and the
    # chain of checks goes on from the ask's answer.
    assert task.next_check_at == check.at + timedelta(seconds=3)
    until(console_clock, task.state_changed_at + timedelta(seconds=3))
    assert ("poll_result", None) in run_worker()
    until(console_clock, task.next_check_at)
    provider_clock.advance(2)
    assert ("poll_result", "FINISH") in run_worker()
    task.refresh_from_db()
    assert task.result == Result.FINISHED
    assert [c.source for c in task.checks.all()] == [ResultCheck.Source.ASK, ResultCheck.Source.POLL]
    assert len(provider.asked) == 2


def test_a_stuck_task_can_be_asked_again_and_a_final_one_keeps_its_result(
    operator, provider, provider_clock, console_clock, settings
):
    settings.THUMBS_RESULT_STUCK_AFTER_SECONDS = 60
    task = submit(operator, "Huawei")
    provider_clock.advance(2)  # the provider is still processing it ...
    while task.next_check_at is not None:
        until(console_clock, task.next_check_at)
        run_worker()
        task.refresh_from_db()
    assert task.result == Result.STUCK

    provider_clock.advance(5)  # ... and has finished it since
    check = services.result_ask(task=task, user=operator)
    task.refresh_from_db()
    assert check.source == ResultCheck.Source.ASK and check.asked_by == operator
    assert task.result == Result.FINISHED and task.screenshot_count == 6 and queued_checks(task) == []

    again = services.result_ask(task=task, user=operator)
    task.refresh_from_db()
    assert again.status == "SUCCEEDED" and task.result == Result.FINISHED and task.screenshot_count == 6


def test_asking_about_a_task_zego_did_not_accept_is_refused_with_a_reason(operator, provider):
    task = submit(operator, "Tencent", MISSING_FILE_ID)
    with pytest.raises(services.ResultAskRefused, match="ZEGO has not accepted this task"):
        services.result_ask(task=task, user=operator)
    assert provider.asked == [] and task.checks.count() == 0


def test_a_failed_call_is_recorded_and_asked_again_later(operator, provider, console_clock, settings):
    task = submit(operator, "Tencent")
    settings.ZEGO_API_URL = "http://127.0.0.1:9/"  # nothing listens there
    until(console_clock, task.next_check_at)
    run_worker()
    task.refresh_from_db()
    check = task.checks.get()
    assert check.transport_error == "connection_refused" and check.status == ""
    assert task.result == Result.WAITING and queued_checks(task) == [check.at + timedelta(seconds=3)]


# --- the tick: the periodic work ----------------------------------------------------------------------------


def ready_ticks() -> int:
    return DBTaskResult.objects.ready().filter(task_path=tasks.tick.module_path).count()


def test_one_tick_chain_goes_on_when_two_were_started(console_clock):
    assert services.worker_tick_ensure() is True
    tasks.tick.enqueue()  # a second chain, as from two workers starting at the same moment
    returned = [value for name, value in run_worker() if name == "tick"]
    assert len(returned) == 2 and returned.count(None) == 1  # one did the work, the other stopped
    assert ready_ticks() == 0
    console_clock.advance(10)
    assert ready_ticks() == 1  # the one successor, ten seconds on
    assert services.worker_tick_ensure() is False


def test_a_tick_chain_that_stalled_is_started_again(console_clock):
    assert services.worker_tick_ensure() is True
    run_worker()
    DBTaskResult.objects.all().delete()  # its successor lost: the chain has stopped
    console_clock.advance(10 + 61)
    assert services.worker_tick_ensure() is True
    assert services.worker_tick_ensure() is False
    assert ready_ticks() == 1
    run_worker()
    assert WorkerTick.objects.get(name="tick").runs == 2


def test_the_tick_marks_attempts_left_sending_unknown(stale_sending_task, console_clock):
    console_clock.advance(1)
    services.worker_tick_ensure()
    run_worker()
    stale_sending_task.refresh_from_db()
    assert stale_sending_task.state == State.UNKNOWN


def test_the_tick_asks_about_a_check_whose_queued_task_was_lost(operator, provider, provider_clock, console_clock):
    lost = submit(operator, "Tencent")
    console_clock.advance(10)
    waiting = submit(operator, "Huawei")
    DBTaskResult.objects.filter(args_kwargs__args=[lost.pk]).delete()  # gone with a worker
    until(console_clock, lost.next_check_at + worker_services.ORPHANED_AFTER)
    # The other's check is 10 s overdue, its queued task on its way (held back here, so as to see the tick).
    DBTaskResult.objects.filter(args_kwargs__args=[waiting.pk]).update(run_after=timezone.now() + timedelta(hours=1))
    provider_clock.advance(30)
    services.worker_tick_ensure()
    assert run_worker() == [
        (
            "tick",
            {"expired_attempts": 0, "orphaned_checks": 1, "automatic_retries": 0, "resumed_batches": 0, "tidied": 0},
        )
    ]
    lost.refresh_from_db()
    assert lost.result == Result.FINISHED and provider.asked == [lost.vendor_task_id]
    # The other is overdue by less than ORPHANED_AFTER: its own queued check is left to do it.
    waiting.refresh_from_db()
    assert waiting.result == Result.WAITING and waiting.checks.count() == 0


def test_the_tick_tidies_the_queue_once_an_hour(console_clock):
    old = timezone.now() - timedelta(days=2)
    done = tasks.tick.enqueue().db_result
    DBTaskResult.objects.filter(pk=done.pk).update(status=TaskResultStatus.SUCCESSFUL, finished_at=old)
    lost = tasks.poll_result.enqueue(1).db_result
    DBTaskResult.objects.filter(pk=lost.pk).update(status=TaskResultStatus.RUNNING, started_at=old)
    services.worker_tick_ensure()
    assert run_worker()[0][1]["tidied"] == 2
    assert not DBTaskResult.objects.filter(pk=done.pk).exists()
    lost.refresh_from_db()
    assert lost.status == TaskResultStatus.FAILED and lost.exception_class_path == "dashboard.tasks.WorkerLost"
    assert lost.task_result.errors[0].exception_class is tasks.WorkerLost


def test_the_worker_keeps_the_secret_and_signatures_out_of_what_it_stores_and_logs(
    operator, console_clock, settings, caplog, capsys
):
    secret, url = "c0ffee00deadbeef5ca1ab1e0ddba11a", "https://rtc-api.zego.im/"
    settings.ZEGO_SIMULATOR, settings.ZEGO_APP_ID, settings.ZEGO_SERVER_SECRET = False, 1234567890, secret
    settings.ZEGO_API_URL = url
    caplog.set_level(logging.DEBUG)
    sent = set()
    replies = iter(
        [
            lambda request: (200, {}, '{"Code": 0, "Message": "success", "Data": {"Tencent": {"TaskId": "t-1"}}}'),
            # DescribeMediaTask echoes the query (the Signature) and the secret ...
            lambda request: (
                200,
                {},
                f'{{"Code": 0, "Data": {{"Tencent": {{"Status": "PROCESSING", '
                f'"Message": "{request.url} {secret}"}}}}}}',
            ),
            # ... then something unforeseen fails with the URL in its message.
            lambda request: (_ for _ in ()).throw(RuntimeError(f"unforeseen: {request.url} {secret}")),
        ]
    )

    def reply(request):
        sent.add(parse_qs(urlsplit(request.url).query)["Signature"][0])
        return next(replies)(request)

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, url, callback=reply)
        task = submit(operator, "Tencent")
        for _ in range(2):
            console_clock.advance(3)
            outcome = run_worker(failures=True)
    [failed] = [entry for entry in outcome if isinstance(entry, DBTaskResult)]
    assert failed.exception_class_path == "dashboard.tasks.TaskFailed" and "unforeseen" in failed.traceback
    assert len(sent) == 3 and task.checks.count() == 1
    with connection.cursor() as cursor:
        dumps = []
        for model in (Task, ResultCheck, DBTaskResult, WorkerTick):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608 -- fixed table names
            dumps.append(repr(cursor.fetchall()))
    out = capsys.readouterr()
    places = {
        "database": "\n".join(dumps),
        "log": "\n".join(ScrubbingFormatter().format(r) for r in caplog.records),
        "stdout/stderr": out.out + out.err,
    }
    assert "[redacted]" in places["database"] and "unforeseen" in places["log"]
    for where, text in places.items():
        assert secret not in text, where
        assert not [s for s in sent if s in text], where
