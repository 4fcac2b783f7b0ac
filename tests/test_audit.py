"""The audit trail: who did what and when, browsable by every role, changed by nobody."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from dashboard import services
from dashboard.models import AuditEntry, Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import PASSWORD
from zego_simulator.scripted import MISSING_FILE_ID

pytestmark = pytest.mark.django_db
Action = AuditEntry.Action
HUAWEI = {"vendor": "Huawei", "file_id": "/record/a.mp4", "interval": "5"}


def entries(action: str, **details: str) -> list[AuditEntry]:
    found = AuditEntry.objects.filter(action=action).order_by("id")
    return list(found.filter(**{f"details__{k}": v for k, v in details.items()}) if details else found)


def test_a_submission_from_the_console_is_recorded_with_who_and_from_where(operator_client, operator):
    operator_client.post("/tasks/new/interval/", HUAWEI, REMOTE_ADDR="203.0.113.9")
    task = Task.objects.get()
    [entry] = entries(Action.TASK_SUBMIT)
    assert (entry.actor, entry.actor_name, entry.task, entry.remote_addr) == (operator, "olga", task, "203.0.113.9")
    assert f"Task #{task.pk}: Huawei interval, File ID /record/a.mp4" in entry.summary


def test_edit_and_resubmit_and_a_confirmed_retry_are_recorded(operator_client, operator):
    request = ThumbnailRequest(
        vendor=Vendor.HUAWEI, mode=Mode.TIME_POINTS, file_id=MISSING_FILE_ID, time_points=(1,)
    )  # fmt: skip
    first = services.task_submit(user=operator, request=request).task
    services.task_retry(user=operator, task=first, confirmed=True)
    operator_client.post(f"/tasks/new/interval/?from_task={first.pk}", HUAWEI | {"from_task": first.pk})

    [retry] = entries(Action.TASK_RETRY)
    assert retry.task == first and retry.details == {"attempt": 2, "confirmed": True}
    assert "confirmed despite permanent Code 41003" in retry.summary
    [resubmit] = entries(Action.TASK_RESUBMIT)
    assert f"(edited from task #{first.pk})" in resubmit.summary


def test_the_entry_is_written_before_zego_is_called(operator, monkeypatch):
    from dashboard.zego.client import ZegoClient

    seen = []
    submits = AuditEntry.objects.filter(action=Action.TASK_SUBMIT)
    monkeypatch.setattr(ZegoClient, "send", lambda self, call: seen.append(submits.count()) or 1 / 0)
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/a.mp4", interval=5)
    with pytest.raises(ZeroDivisionError):
        services.task_submit(user=operator, request=request)
    assert seen == [1]


def test_failed_and_locked_sign_ins_are_recorded(client, operator, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(3):
        client.post("/login/", {"username": "olga", "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    failed = entries(Action.SIGNIN_FAILED)
    assert failed and all(e.actor_name == "olga" and e.actor is None for e in failed)
    assert failed[0].remote_addr == "198.51.100.7"
    locked = entries(Action.SIGNIN_LOCKED)
    assert locked and "too many failed attempts" in locked[0].summary and locked[0].remote_addr == "198.51.100.7"
    assert not any("wrong" in e.summary or "wrong" in str(e.details) for e in AuditEntry.objects.all())


def test_users_and_roles_changed_in_the_admin_are_recorded_with_the_admin(client, superuser):
    client.force_login(superuser)
    user = User.objects.create_user("newbie", "n@example.com", PASSWORD)
    [created] = entries(Action.USER_CREATED, user="newbie")
    assert "'newbie' created" in created.summary

    operator_group = Group.objects.get(name="operator")
    response = client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "newbie", "email": "n@example.com", "is_active": "on", "groups": [operator_group.pk],
            "date_joined_0": "2026-11-28", "date_joined_1": "10:00:00", "initial-date_joined_0": "2026-11-28",
            "initial-date_joined_1": "10:00:00",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    [added] = entries(Action.ROLE_ADDED, user="newbie")
    assert added.actor == superuser and added.summary == "User 'newbie' given the operator role."

    user.groups.remove(operator_group)
    [removed] = entries(Action.ROLE_REMOVED, user="newbie")
    assert removed.actor_name == "system" and removed.details == {"user": "newbie", "role": "operator"}


def test_a_password_change_is_recorded_without_the_password(superuser):
    superuser.set_password("an-entirely-new-one-42")
    superuser.save()
    [changed] = entries(Action.USER_CHANGED, user="ada")
    assert changed.summary == "User 'ada' changed: password." and changed.details["password"] == "changed"
    assert "an-entirely-new-one-42" not in str(changed.details) and superuser.password not in str(changed.details)


def test_viewers_and_operators_browse_and_filter_the_trail(viewer_client, operator):
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/b.mp4", interval=5)
    task = services.task_submit(user=operator, request=request).task
    page = viewer_client.get("/audit/").content.decode()
    assert "Submitted a task" in page and f"Task #{task.pk}" in page

    assert f"Task #{task.pk}" not in viewer_client.get("/audit/", {"action": Action.USER_CREATED}).content.decode()
    assert f"Task #{task.pk}" in viewer_client.get("/audit/", {"who": "olga"}).content.decode()
    assert "No entry matches" in viewer_client.get("/audit/", {"task": task.pk + 1}).content.decode()
    assert viewer_client.get("/audit/", {"task": "x", "until": "9999-12-31"}).status_code == 200


def test_the_trail_pages_by_cursor(viewer_client):
    for n in range(120):
        AuditEntry.objects.create(action=Action.USER_CHANGED, actor_name=f"u{n}", summary=f"entry {n}")
    first = viewer_client.get("/audit/").content.decode()
    assert "entry 119" in first and "entry 69" not in first and "Older" in first
    older = AuditEntry.objects.order_by("-id")[49].pk
    second = viewer_client.get("/audit/", {"before": older}).content.decode()
    assert "entry 69" in second and "entry 70" not in second


def test_nobody_changes_or_deletes_an_entry_in_the_admin(client, superuser):
    entry = AuditEntry.objects.create(action=Action.USER_CHANGED, actor_name="x", summary="kept")
    client.force_login(superuser)
    assert client.get(f"/admin/dashboard/auditentry/{entry.pk}/delete/").status_code == 403
    client.post(f"/admin/dashboard/auditentry/{entry.pk}/change/", {"summary": "rewritten"})
    client.post("/admin/dashboard/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk]})
    entry.refresh_from_db()
    assert entry.summary == "kept"


def test_a_user_without_a_role_cannot_read_the_trail(client):
    client.force_login(User.objects.create_user("noel", "n@example.com", PASSWORD))
    assert client.get("/audit/").status_code == 403
