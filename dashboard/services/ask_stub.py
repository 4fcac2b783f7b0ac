"""TEMPORARY stand-in for the worker helper's ``result_ask`` (issue 8), so that the task page's "Ask ZEGO
again" button can be built before it lands on main: delete this file when ``git merge main`` brings it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from ..models import ResultCheck, State, Task
from ..zego.client import default_client
from ..zego.types import Vendor
from .results import Shot, result_record


class ResultAskRefused(Exception):
    """There is nothing to ask ZEGO about this task; the message says why, for the operator."""


def result_ask(*, task: Task, user: AbstractBaseUser) -> ResultCheck:
    task.refresh_from_db()
    if task.state != State.SUCCEEDED or not task.vendor_task_id:
        raise ResultAskRefused(
            "ZEGO has not accepted this task, so the provider has no result to ask about. Retry it first."
        )
    answer = default_client().describe_media_task(task_id=task.vendor_task_id, vendor=Vendor(task.vendor))
    shots = [Shot(url=url) for url in answer.thumbnail_urls] + [Shot(file_name=n) for n in answer.file_names]
    return result_record(
        task=task,
        source=ResultCheck.Source.ASK,
        status=answer.status,
        message=answer.message,
        shots=shots,
        call=answer.call,
        user=user,
    )
