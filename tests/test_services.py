"""The service layer against the simulator over a real socket, and against `responses` where a reply
must be precise."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from dashboard import services
from dashboard.models import Attempt, State, Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID, HTTP_500_FILE_ID, MISSING_FILE_ID, SLOW_FILE_ID

pytestmark = pytest.mark.django_db


def tencent(file_id: str = "1397757897438985100") -> ThumbnailRequest:
    return ThumbnailRequest(
        Vendor.TENCENT, Mode.TIME_POINTS, file_id, definition=10, time_points=(Decimal(1), Decimal("2.5"))
    )


def test_it_records_a_successful_submission_with_what_zego_returned(operator, simulator):
    task = services.task_submit(user=operator, request=tencent()).task
    attempt = task.attempts.get()
    assert task.state == State.SUCCEEDED and task.latest_code == 0
    assert task.time_points == ["1", "2.5"] and task.created_by == operator
    assert attempt.request_id and task.latest_request_id == attempt.request_id
    assert task.vendor_task_id == simulator.tasks[-1].task_id
    assert attempt.vendor_request_id and attempt.http_status == 200 and attempt.latency_ms is not None
    assert len(attempt.nonce) == 16 and abs(attempt.timestamp - timezone.now().timestamp()) < 60
    assert '"Code": 0' in attempt.response_body or '"Code":0' in attempt.response_body


def test_it_writes_the_task_and_attempt_before_calling_zego(operator, settings):
    seen = {}

    def callback(request):
        seen["task"] = Task.objects.values("state", "attempt_count").get()
        seen["attempt"] = Attempt.objects.values("state", "nonce").get()
        return (200, {}, '{"Code": 0, "Message": "success", "RequestId": "1"}')

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, settings.ZEGO_API_URL, callback=callback)
        services.task_submit(user=operator, request=tencent())
    assert seen["task"] == {"state": "sending", "attempt_count": 1}
    assert seen["attempt"]["state"] == "sending" and len(seen["attempt"]["nonce"]) == 16


def test_it_records_a_zego_failure_code_with_its_message(operator):
    task = services.task_submit(user=operator, request=tencent(MISSING_FILE_ID)).task
    assert task.state == State.FAILED and task.latest_code == 41003
    assert task.code_info.retry == "permanent"


@pytest.mark.parametrize(("file_id", "kind"), [(SLOW_FILE_ID, "read_timeout"), (HTTP_500_FILE_ID, "http_error")])
def test_it_marks_a_task_unknown_when_no_usable_answer_came(operator, file_id, kind):
    task = services.task_submit(user=operator, request=tencent(file_id)).task
    attempt = task.attempts.get()
    assert task.state == State.UNKNOWN and task.latest_code is None
    assert attempt.transport_error == kind and attempt.may_have_reached is True
    assert task.latest_message == attempt.transport_detail


def test_it_returns_the_existing_task_when_a_form_token_is_posted_twice(operator, simulator):
    token = uuid.uuid4()
    before = len(simulator.tasks)
    first = services.task_submit(user=operator, request=tencent(), submission_token=token)
    second = services.task_submit(user=operator, request=tencent(), submission_token=token)
    assert first.created and not second.created
    assert second.task.pk == first.task.pk
    assert Task.objects.count() == 1 and len(simulator.tasks) == before + 1


def test_it_retries_with_a_fresh_nonce_and_records_the_new_request_id(operator):
    task = services.task_submit(user=operator, request=tencent(FLAKY_FILE_ID)).task
    assert task.state == State.FAILED and task.latest_code == 1000
    attempt = services.task_retry(user=operator, task=task)
    task.refresh_from_db()
    first = task.attempts.get(number=1)
    assert attempt.number == 2 and attempt.reason == Attempt.Reason.RETRY
    assert task.state == State.SUCCEEDED and task.attempt_count == 2
    assert attempt.nonce != first.nonce and attempt.request_id != first.request_id
    assert task.latest_request_id == attempt.request_id


def test_it_refuses_to_retry_a_succeeded_task(operator):
    task = services.task_submit(user=operator, request=tencent()).task
    with pytest.raises(services.RetryRefused, match="succeeded"):
        services.task_retry(user=operator, task=task)
    assert task.attempts.count() == 1


def test_it_refuses_to_retry_a_task_still_sending(operator):
    task = Task.objects.create(vendor="Tencent", mode=Task.Mode.TIME_POINTS, file_id="1", created_by=operator)
    with pytest.raises(services.RetryRefused, match="still sending"):
        services.task_retry(user=operator, task=task)


def test_it_asks_for_confirmation_before_retrying_a_permanent_code(operator):
    task = services.task_submit(user=operator, request=tencent(MISSING_FILE_ID)).task
    with pytest.raises(services.RetryNeedsConfirmation, match="41003"):
        services.task_retry(user=operator, task=task)
    assert task.attempts.count() == 1
    services.task_retry(user=operator, task=task, confirmed=True)
    assert task.attempts.count() == 2


def test_it_turns_an_abandoned_sending_attempt_into_unknown(operator):
    long_ago = timezone.now() - services.stale_after() - timedelta(seconds=1)
    task = Task.objects.create(
        vendor="Tencent",
        mode=Task.Mode.TIME_POINTS,
        file_id="1",
        created_by=operator,
        state=State.SENDING,
        state_changed_at=long_ago,
        attempt_count=1,
        definition=10,
        time_points=["1"],
    )
    Attempt.objects.create(task=task, number=1, reason="submit", created_by=operator, nonce="0" * 16, timestamp=1)
    fresh = Task.objects.create(vendor="Tencent", mode=Task.Mode.TIME_POINTS, file_id="2", created_by=operator)
    assert services.attempts_expire_stale() == 1
    task.refresh_from_db()
    fresh.refresh_from_db()
    assert task.state == State.UNKNOWN and fresh.state == State.SENDING
    attempt = task.attempts.get()
    assert attempt.state == State.UNKNOWN and attempt.transport_error == "abandoned"
    assert services.task_retry(user=operator, task=task).number == 2


def test_a_late_answer_for_an_expired_attempt_does_not_overwrite_the_newer_one(operator):
    task = services.task_submit(user=operator, request=tencent(FLAKY_FILE_ID)).task
    services.task_retry(user=operator, task=task)
    old = task.attempts.get(number=1)
    from dashboard.services import tasks as task_services
    from dashboard.zego.types import CallResult

    task_services._record(task, old, CallResult(action="MediaThumbnails", code=1000, message="late"))
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED and task.attempt_count == 2
