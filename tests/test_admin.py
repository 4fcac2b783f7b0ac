"""The admin shows the history but cannot rewrite it: no add, change or delete, superusers included."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.models import Attempt, State, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def task(operator) -> Task:
    # Rows as the console leaves them (made directly: this is about the admin, not about submitting).
    task = Task.objects.create(
        vendor=Task.Vendor.HUAWEI, mode=Task.Mode.INTERVAL, file_id="/a.mp4", interval=5, created_by=operator
    )
    for number in (1, 2):
        Attempt.objects.create(
            task=task,
            number=number,
            reason=Attempt.Reason.SUBMIT if number == 1 else Attempt.Reason.RETRY,
            created_by=operator,
            state=State.FAILED,
            nonce=f"n{number}",
            timestamp=1700000000,
            code=1000,
        )
    return task


def rows() -> tuple[int, int]:
    return Task.objects.count(), Attempt.objects.count()


def test_a_superuser_sees_a_task_and_its_attempts(admin_client, task):
    page = admin_client.get(f"/admin/dashboard/task/{task.pk}/change/")
    assert page.status_code == 200 and "/a.mp4" in page.content.decode()


def test_a_superuser_cannot_delete_a_task(admin_client, task):
    url = f"/admin/dashboard/task/{task.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert rows() == (1, 2)


def test_the_task_list_offers_no_delete_action_and_refuses_one(admin_client, task):
    assert "delete_selected" not in admin_client.get("/admin/dashboard/task/").content.decode()
    admin_client.post(
        "/admin/dashboard/task/", {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"}
    )
    assert rows() == (1, 2)


def test_a_superuser_cannot_delete_attempts_or_change_a_task(admin_client, task):
    attempt = task.attempts.first()
    response = admin_client.post(
        f"/admin/dashboard/task/{task.pk}/change/",
        {
            "file_id": "/other.mp4",
            "attempts-TOTAL_FORMS": "2",
            "attempts-INITIAL_FORMS": "2",
            "attempts-0-id": attempt.pk,
            "attempts-0-task": task.pk,
            "attempts-0-DELETE": "on",
        },
    )
    assert response.status_code == 403
    assert rows() == (1, 2) and Task.objects.get().file_id == "/a.mp4"
    assert admin_client.get("/admin/dashboard/task/add/").status_code == 403
