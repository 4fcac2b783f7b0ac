from __future__ import annotations

import shlex
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from dashboard.models import Task
from zego_simulator.scripted import MISSING_FILE_ID

pytestmark = pytest.mark.django_db

HUAWEI_INTERVAL = "--mode interval --vendor Huawei --file-id /record/a.mp4 --interval 5"


def run(command_line: str) -> str:
    out = StringIO()
    call_command("thumbnails", *shlex.split(command_line), stdout=out)
    return out.getvalue()


def test_it_submits_from_the_command_line_through_the_same_service(operator):
    out = run(f"submit --user olga {HUAWEI_INTERVAL}")
    task = Task.objects.get()
    assert task.state == "succeeded" and task.interval == 5 and task.created_by == operator
    assert f"Task #{task.pk}: succeeded" in out and task.latest_request_id in out


def test_it_validates_like_the_form_and_sends_nothing(operator):
    with pytest.raises(CommandError) as excinfo:
        run("submit --user olga --mode time-points --vendor Tencent --file-id abc --time-points '1, -1'")
    message = str(excinfo.value)
    assert "Nothing was sent" in message and "--file-id" in message and "--time-points" in message
    assert "--definition" in message
    assert Task.objects.count() == 0


def test_it_refuses_an_unknown_user_or_a_viewer(viewer):
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        run(f"submit --user nobody {HUAWEI_INTERVAL}")
    with pytest.raises(CommandError, match="operator group"):
        run(f"submit --user victor {HUAWEI_INTERVAL}")
    assert Task.objects.count() == 0


def test_it_retries_a_permanent_failure_only_with_yes(operator):
    with pytest.raises(CommandError, match="did not succeed"):
        run(f"submit --user olga --mode time-points --vendor Tencent --file-id {MISSING_FILE_ID} "
            "--definition 10 --time-points 1")  # fmt: skip
    task = Task.objects.get()
    with pytest.raises(CommandError, match="add --yes"):
        run(f"retry {task.pk} --user olga")
    with pytest.raises(CommandError, match="did not succeed"):
        run(f"retry {task.pk} --user olga --yes")
    assert task.attempts.count() == 2


def test_the_roles_exist_with_the_right_permissions(db):
    viewer = set(Group.objects.get(name="viewer").permissions.values_list("codename", flat=True))
    operator = set(Group.objects.get(name="operator").permissions.values_list("codename", flat=True))
    assert {"view_task"} <= viewer and not {"submit_task", "retry_task"} & viewer
    assert {"view_task", "submit_task", "retry_task"} <= operator


def test_sweep_marks_a_stale_sending_attempt_unknown_once(stale_sending_task):
    task = stale_sending_task
    assert run("sweep") == "Marked 1 stale attempt(s) unknown.\n"
    task.refresh_from_db()
    assert task.state == "unknown" and task.attempts.get().state == "unknown"
    assert run("sweep") == "Marked 0 stale attempt(s) unknown.\n"


@pytest.mark.parametrize("every", ["0", "-5", "nan", "inf"])
def test_sweep_refuses_an_interval_that_is_not_a_sensible_number_of_seconds(every):
    with pytest.raises(CommandError, match="--every"):
        run(f"sweep --every={every}")
