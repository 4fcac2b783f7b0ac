"""Batches: every line checked like the single forms, queued before sending, sent once each, cancellable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.models import Attempt, AuditEntry, Batch, BatchItem, State, Task
from dashboard.services import batches
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import HTTP_500_FILE_ID, MISSING_FILE_ID

pytestmark = pytest.mark.django_db

TENCENT = ThumbnailRequest(
    vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="", definition=10, time_points=(Decimal(1), Decimal(2))
)


def test_every_line_is_checked_with_its_number_and_reason():
    text = "1397757897438985100\n\nabc\n1397757897438985100\n" + "9" * 41 + "\n42\u202e\n7\n"
    check = batches.batch_check_lines(text, vendor="Tencent")

    assert [(line.number, line.file_id) for line in check.valid] == [(1, "1397757897438985100"), (7, "7")]
    assert [(line.number, line.problem) for line in check.invalid] == [
        (3, "A Tencent File ID is digits only, such as 1397757897438985100."),
        (5, "A Tencent File ID has at most 40 digits."),
        (6, check.invalid[2].problem),
    ]
    assert "RIGHT-TO-LEFT OVERRIDE" in check.invalid[2].problem
    assert [(line.number, line.problem) for line in check.duplicates] == [(4, "Repeats line 1.")]
    assert not check.ok


def test_a_csv_file_gives_its_first_column_and_skips_its_header():
    text = 'FileId,room\n/record/a.mp4,1\n"/record/b, with comma.mp4",2\n'
    check = batches.batch_check_lines(text, vendor="Huawei")
    assert [(line.number, line.file_id) for line in check.valid] == [
        (2, "/record/a.mp4"),
        (3, "/record/b, with comma.mp4"),
    ]
    assert check.ok


def test_ten_thousand_lines_are_checked_and_counted():
    text = "\n".join(str(10**12 + n) for n in range(10_000))
    check = batches.batch_check_lines(text, vendor="Tencent")
    assert len(check.valid) == 10_000 and check.ok


def test_a_batch_is_queued_whole_before_anything_is_sent(operator, simulator):
    before = len(simulator.tasks)
    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1", "2", "3"])

    assert len(simulator.tasks) == before
    tasks = Task.objects.filter(batch_items__batch=batch).order_by("id")
    assert [(t.file_id, t.state, t.attempt_count, t.definition) for t in tasks] == [
        ("1", State.QUEUED, 0, 10), ("2", State.QUEUED, 0, 10), ("3", State.QUEUED, 0, 10),
    ]  # fmt: skip
    assert Attempt.objects.count() == 0
    assert AuditEntry.objects.filter(action=AuditEntry.Action.BATCH_SUBMIT, details__batch=batch.pk).exists()


def test_each_item_is_sent_once_and_the_counts_add_up(operator, simulator):
    ids = ["1", MISSING_FILE_ID, HTTP_500_FILE_ID, "4"]
    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=ids)
    sent = 0
    while batches.batch_send_next(batch_id=batch.pk):
        sent += 1
    progress = batches.batch_progress(batch)
    batch.refresh_from_db()

    assert sent == 4 and batch.finished_at is not None
    assert (progress.succeeded, progress.failed, progress.unknown, progress.queued) == (2, 1, 1, 0)
    assert progress.done == progress.total == 4 and progress.percent == 100
    assert [a.reason for a in Attempt.objects.order_by("id")] == [Attempt.Reason.BATCH] * 4
    assert all(item.attempt_id for item in BatchItem.objects.filter(batch=batch))


def test_a_cancelled_batch_sends_nothing_more_and_says_so(operator, simulator):
    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1", "2", "3"])
    assert batches.batch_send_next(batch_id=batch.pk)
    assert batches.batch_cancel(batch=batch, user=operator) == 2
    assert not batches.batch_send_next(batch_id=batch.pk)

    progress = batches.batch_progress(batch)
    assert (progress.succeeded, progress.cancelled, progress.queued) == (1, 2, 0)
    states = list(Task.objects.filter(batch_items__batch=batch).order_by("id").values_list("state", flat=True))
    assert states == [State.SUCCEEDED, State.CANCELLED, State.CANCELLED]
    assert batches.batch_cancel(batch=batch, user=operator) == 0  # once


def test_an_item_claimed_by_one_worker_is_not_sent_by_another(operator, simulator, monkeypatch):
    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1", "2"])
    # Another worker claims the first item between this worker's read and its claim.
    real_first = batches.BatchItem.objects.filter(batch=batch).order_by("position").first()
    BatchItem.objects.filter(pk=real_first.pk).update(status=BatchItem.Status.SENT)
    assert batches.batch_send_next(batch_id=batch.pk)
    assert list(Attempt.objects.values_list("task__file_id", flat=True)) == ["2"]


def test_a_batch_over_the_limit_is_refused(operator):
    with pytest.raises(ValueError, match="at most 20,000"):
        batches.batch_create(user=operator, template=TENCENT, file_ids=[str(n) for n in range(20_001)])
    assert Batch.objects.count() == 0


def test_faults_each_end_in_a_state_that_says_what_happened_and_the_counts_add_up(operator, settings):
    import socket

    from zego_simulator.scripted import NOT_JSON_FILE_ID

    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1", HTTP_500_FILE_ID, NOT_JSON_FILE_ID])
    assert batches.batch_send_next(batch_id=batch.pk)  # "1": sent while ZEGO is up
    with socket.socket() as probe:  # then ZEGO goes down: a port nobody listens on refuses the connection
        probe.bind(("127.0.0.1", 0))
        settings.ZEGO_API_URL = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    while batches.batch_send_next(batch_id=batch.pk):
        pass
    tasks = {t.file_id: t for t in Task.objects.filter(batch_items__batch=batch)}
    assert tasks["1"].state == State.SUCCEEDED
    for file_id in (HTTP_500_FILE_ID, NOT_JSON_FILE_ID):
        attempt = tasks[file_id].attempts.get()
        assert attempt.state == State.UNKNOWN and attempt.transport_error == "connection_refused"
        assert attempt.may_have_reached is False and "refused the connection" in attempt.transport_detail
    progress = batches.batch_progress(batch)
    assert (progress.succeeded, progress.unknown, progress.queued) == (1, 2, 0) and progress.done == progress.total


def test_an_item_whose_worker_died_counts_unknown_until_its_late_answer(operator, simulator, monkeypatch):
    from dashboard.services.tasks import attempts_expire_stale, send_claimed

    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1", "2"])
    in_flight = []
    monkeypatch.setattr(batches, "send_claimed", lambda *call: in_flight.append(call))
    assert batches.batch_send_next(batch_id=batch.pk)  # claimed and recorded, then the worker dies in the call
    progress = batches.batch_progress(batch)
    assert (progress.sending, progress.unknown, progress.queued) == (1, 0, 1)

    assert attempts_expire_stale(now=timezone.now() + timedelta(hours=1)) == 1
    progress = batches.batch_progress(batch)
    assert (progress.sending, progress.unknown, progress.queued) == (0, 1, 1)

    send_claimed(*in_flight[0])  # ZEGO's answer arrives after all: the item moves on, counted once
    progress = batches.batch_progress(batch)
    assert (progress.sending, progress.succeeded, progress.unknown, progress.queued) == (0, 1, 0, 1)
    assert attempts_expire_stale(now=timezone.now() + timedelta(hours=2)) == 0
    assert batches.batch_progress(batch) == progress
    item = BatchItem.objects.get(batch=batch, position=1)
    assert item.state == item.attempt.state == State.SUCCEEDED


def test_a_batchs_next_turn_comes_before_the_checks_queued_meanwhile(operator):
    from django_tasks_db.models import DBTaskResult

    from dashboard import tasks

    batch = batches.batch_create(user=operator, template=TENCENT, file_ids=["1"])
    DBTaskResult.objects.all().delete()
    for n in range(3):
        tasks.poll_result.using(run_after=timezone.now() - timedelta(seconds=n)).enqueue(n)
    tasks.send_batch.enqueue(batch.pk)
    assert DBTaskResult.objects.ready().first().task_path == tasks.send_batch.module_path
