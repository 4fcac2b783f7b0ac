"""Retry all matching: a dry run that says what is left out and why, then a frozen set sent like a batch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard import services
from dashboard.models import Attempt, AuditEntry, Batch, BatchItem, State, Task
from dashboard.services import batches
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID, HTTP_500_FILE_ID, MISSING_FILE_ID

pytestmark = pytest.mark.django_db


def submit(operator, file_id: str, vendor: Vendor = Vendor.TENCENT) -> Task:
    request = ThumbnailRequest(
        vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10 if vendor is Vendor.TENCENT else None,
        time_points=(Decimal(1),),
    )  # fmt: skip
    return services.task_submit(user=operator, request=request).task


@pytest.fixture
def mix(operator):
    return {
        "ok": submit(operator, "1"),
        "flaky": submit(operator, FLAKY_FILE_ID),  # failed, Code 1000 (manual)
        "missing": submit(operator, MISSING_FILE_ID),  # failed, Code 41003 (permanent)
        "http500": submit(operator, HTTP_500_FILE_ID),  # unknown
    }


def test_the_dry_run_counts_and_explains_and_changes_nothing(operator_client, mix):
    html = operator_client.get("/tasks/retry-matching/", {"vendor": "Tencent"}).content.decode()
    assert "match <strong>4</strong> tasks" in html and "<strong>2</strong> would be retried" in html
    assert "<strong>1</strong> succeeded: nothing to retry" in html
    assert "<strong>1</strong> failed with a permanent code" in html
    assert Batch.objects.count() == 0 and Attempt.objects.count() == 4


def test_confirming_freezes_the_set_and_sends_it_as_a_batch(operator, operator_client, mix):
    response = operator_client.post("/tasks/retry-matching/", {"filter": "vendor=Tencent"}, follow=True)
    batch = Batch.objects.get()
    assert response.redirect_chain[-1][0] == f"/batches/{batch.pk}/"
    assert batch.kind == Batch.Kind.RETRY and batch.total == 2
    frozen = set(BatchItem.objects.filter(batch=batch).values_list("task_id", flat=True))
    assert frozen == {mix["flaky"].pk, mix["http500"].pk}

    later = submit(operator, HTTP_500_FILE_ID)  # matches now, but after the freeze
    while batches.batch_send_next(batch_id=batch.pk):
        pass
    assert later.attempts.count() == 1
    flaky = Task.objects.get(pk=mix["flaky"].pk)
    assert flaky.state == State.SUCCEEDED and flaky.attempts.get(number=2).reason == Attempt.Reason.BULK_RETRY
    progress = batches.batch_progress(batch)
    assert (progress.succeeded, progress.unknown, progress.done) == (1, 1, 2)
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.BULK_RETRY)
    assert entry.details["filter"] == "vendor=Tencent" and entry.details["count"] == 2


def test_permanent_codes_are_included_only_when_asked(operator_client, mix):
    operator_client.post("/tasks/retry-matching/", {"filter": "vendor=Tencent", "include_permanent": "on"})
    frozen = set(BatchItem.objects.values_list("task_id", flat=True))
    assert mix["missing"].pk in frozen and len(frozen) == 3


def test_a_task_retried_by_hand_meanwhile_is_skipped(operator, operator_client, mix):
    operator_client.post("/tasks/retry-matching/", {"filter": f"q={FLAKY_FILE_ID}"})
    batch = Batch.objects.get()
    services.task_retry(user=operator, task=mix["flaky"])  # succeeds: nothing left to retry
    assert not batches.batch_send_next(batch_id=batch.pk)
    assert batches.batch_progress(batch).skipped == 1 and mix["flaky"].attempts.count() == 2


def test_nothing_to_retry_is_said_and_nothing_is_made(operator_client, mix):
    response = operator_client.post("/tasks/retry-matching/", {"filter": "state=succeeded"}, follow=True)
    assert "No task matching these filters can be retried." in response.content.decode()
    assert Batch.objects.count() == 0


def test_bad_filters_are_answered_not_a_server_error(operator_client):
    assert operator_client.get("/tasks/retry-matching/", {"until": "9999-12-31", "code": "x"}).status_code == 400


def test_a_viewer_cannot_retry_in_bulk(viewer_client):
    assert viewer_client.get("/tasks/retry-matching/").status_code == 403
    assert viewer_client.post("/tasks/retry-matching/", {"filter": ""}).status_code == 403
