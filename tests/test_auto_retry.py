"""Automatic retry: transient failures come back with backoff and jitter, up to the limit; permanent codes and
Code 1000 never do; each one is an attempt marked automatic; the pages say what will happen."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard import services
from dashboard.models import Attempt, State, Task
from dashboard.services.retries import backoff, tasks_retry_due
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import (
    FLAKY_FILE_ID,
    HTTP_500_FILE_ID,
    MISSING_FILE_ID,
    THROTTLED_FILE_ID,
)

pytestmark = pytest.mark.django_db
LATER = timedelta(hours=1)


def submit(operator, file_id: str) -> Task:
    request = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=(Decimal(1),)
    )
    return services.task_submit(user=operator, request=request).task


@pytest.mark.parametrize("attempts", [1, 2, 3, 6, 10])
def test_the_backoff_doubles_with_jitter_and_is_capped(attempts):
    ceiling = min(300, 5 * 2 ** (attempts - 1))
    pauses = [backoff(attempts, rng=random.Random(seed)).total_seconds() for seed in range(50)]
    assert all(ceiling / 2 <= p <= ceiling for p in pauses)
    assert len(set(pauses)) > 40  # spread out, not in lockstep


@pytest.mark.parametrize("file_id", [THROTTLED_FILE_ID, HTTP_500_FILE_ID])
def test_a_transient_failure_is_retried_automatically_up_to_the_limit(operator, settings, file_id):
    settings.THUMBS_AUTO_RETRY_MAX_ATTEMPTS = 3
    task = submit(operator, file_id)
    assert task.next_retry_at is not None and task.retry_note == "Automatic retry 2 of 3 planned."
    assert timedelta(seconds=2.5) <= task.next_retry_at - task.state_changed_at <= timedelta(seconds=5)
    assert tasks_retry_due() == 0  # not due yet

    while tasks_retry_due(now=timezone.now() + LATER):
        pass
    task.refresh_from_db()
    reasons = list(task.attempts.order_by("number").values_list("reason", flat=True))
    assert reasons == [Attempt.Reason.SUBMIT, Attempt.Reason.AUTO, Attempt.Reason.AUTO]
    assert task.next_retry_at is None and "3 attempts made, the most allowed" in task.retry_note


@pytest.mark.parametrize(
    ("file_id", "why"),
    [(MISSING_FILE_ID, "Code 41003 is permanent"), (FLAKY_FILE_ID, "Code 1000 is left to an operator")],
)
def test_permanent_codes_and_code_1000_are_never_retried_automatically(operator, file_id, why):
    task = submit(operator, file_id)
    assert task.state == State.FAILED and task.next_retry_at is None and why in task.retry_note
    assert tasks_retry_due(now=timezone.now() + LATER) == 0
    assert task.attempts.count() == 1


def test_a_success_plans_nothing(operator):
    task = submit(operator, "1397757897438985100")
    assert (task.next_retry_at, task.retry_note) == (None, "")


def test_two_workers_never_send_the_same_automatic_retry(operator, monkeypatch):
    task = submit(operator, THROTTLED_FILE_ID)
    # Another worker claims the due retry first (the same conditional UPDATE tasks_retry_due makes).
    due = Task.objects.get(pk=task.pk).next_retry_at
    assert Task.objects.filter(pk=task.pk, next_retry_at=due).update(next_retry_at=None) == 1
    assert tasks_retry_due(now=timezone.now() + LATER) == 0
    assert task.attempts.count() == 1


def test_a_retry_by_hand_voids_the_plan(operator):
    task = submit(operator, HTTP_500_FILE_ID)
    services.task_retry(user=operator, task=task)
    task.refresh_from_db()
    assert task.attempts.count() == 2 and task.attempts.get(number=2).reason == Attempt.Reason.RETRY
    assert task.next_retry_at is not None  # planned again from the second failure, not the first


def test_the_task_page_and_history_say_what_will_happen(operator, operator_client):
    planned = submit(operator, THROTTLED_FILE_ID)
    never = submit(operator, MISSING_FILE_ID)
    page = operator_client.get(f"/tasks/{planned.pk}/").content.decode()
    assert "Automatic retry 2 of 5 planned" in page
    assert "Code 41003 is permanent" in operator_client.get(f"/tasks/{never.pk}/").content.decode()
    history = operator_client.get("/tasks/").content.decode()
    assert "Automatic retry 2 of 5 planned" in history and "Code 41003 is permanent" in history
