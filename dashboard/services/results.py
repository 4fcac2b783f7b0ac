"""What the provider made of a task ZEGO accepted: every answer about it is stored (a DescribeMediaTask call,
polled or asked for, or the snapshot callback), and the task's result and screenshots are kept up to date.

A task's result starts as *waiting* when ZEGO accepts it, with its first check a few seconds later
(``next_check_at``); each later check comes after a longer pause, until a final status (*finished* or
*failed*) or until the task is flagged *stuck*. Nothing here calls ZEGO: the caller passes the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..models import FINAL_RESULTS, Result, ResultCheck, Screenshot, Task
from ..zego.text import fit
from ..zego.types import CallResult

log = logging.getLogger("dashboard.services")

FIRST_CHECK_AFTER = timedelta(seconds=3)
# The pause before each further check: screenshots usually take seconds to a minute.
CHECK_PAUSES = tuple(timedelta(seconds=s) for s in (3, 5, 10, 15, 30, 60, 120, 300))


@dataclass(frozen=True)
class Shot:
    """A screenshot as an answer names it: a URL (Tencent) or an OBS object path (Huawei)."""

    url: str = ""
    file_name: str = ""
    offset_ms: int | None = None


def stuck_after() -> timedelta:
    """How long after acceptance a task without a final status is flagged stuck (and no longer polled)."""
    return timedelta(seconds=getattr(settings, "THUMBS_RESULT_STUCK_AFTER_SECONDS", 900))


def result_fields_on_acceptance(now: datetime) -> dict[str, object]:
    """The task's result fields when ZEGO has just accepted it (a submission or a retry)."""
    return {
        "result": Result.WAITING,
        "result_status": "",
        "result_message": "",
        "result_checks": 0,
        "next_check_at": now + FIRST_CHECK_AFTER,
    }


def next_check_at(*, checks: int, accepted_at: datetime, now: datetime) -> datetime | None:
    """When to ask again after ``checks`` answers; None once the task is past the stuck threshold."""
    pause = CHECK_PAUSES[min(checks, len(CHECK_PAUSES)) - 1] if checks else FIRST_CHECK_AFTER
    at = now + pause
    return None if at - accepted_at > stuck_after() else at


def result_record(
    *,
    task: Task,
    source: ResultCheck.Source,
    status: str = "",
    message: str = "",
    shots: Iterable[Shot] = (),
    call: CallResult | None = None,
    user: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> ResultCheck:
    """Store one answer about ``task``'s result and bring the task up to date with it.

    ``status`` is the provider's own word (FINISH, SUCCEEDED, WAITING...), or empty when the answer carried
    none (a failed call: ``call`` says why). A final result is never undone by a later non-final answer.
    """
    now = now or timezone.now()
    failure = call.failure if call else None
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        check = ResultCheck.objects.create(
            task=task,
            source=source,
            at=now,
            asked_by=user,
            status=fit(status, 32),
            message=fit(message),
            code=call.code if call else None,
            request_id=call.request_id if call else "",
            transport_error=failure.kind.value if failure else "",
            transport_detail=failure.detail if failure else "",
            response_body=call.body if call else "",
        )
        added = _add_screenshots(task, shots, source=source, now=now)
        update: dict[str, object] = {"result_checked_at": now, "result_checks": task.result_checks + 1}
        if added:
            update["screenshot_count"] = task.screenshot_count + added
        result = Result.of_status(status) if status else None
        if task.result not in FINAL_RESULTS:
            if result is not None:
                update.update(result=result, result_status=fit(status, 32), result_message=fit(message))
            if result in FINAL_RESULTS:
                update["next_check_at"] = None
            else:
                accepted_at = task.state_changed_at
                at = next_check_at(checks=task.result_checks + 1, accepted_at=accepted_at, now=now)
                update["next_check_at"] = at
                if at is None:
                    update["result"] = Result.STUCK
        Task.objects.filter(pk=task.pk).update(**update)
    log.info(
        "task #%s result check (%s): status=%s screenshots+%s -> %s",
        task.pk,
        source,
        status or "-",
        added,
        update.get("result", task.result),
    )
    return check


def _add_screenshots(task: Task, shots: Iterable[Shot], *, source: str, now: datetime) -> int:
    """Add the screenshots the task does not have yet (same URL and file name); return how many."""
    have = set(Screenshot.objects.filter(task=task).values_list("url", "file_name"))
    position = task.screenshot_count
    new = []
    for shot in shots:
        key = (fit(shot.url, 2048), fit(shot.file_name, 1024))
        if key in have or key == ("", ""):
            continue
        have.add(key)
        position += 1
        new.append(
            Screenshot(
                task=task,
                position=position,
                url=key[0],
                file_name=key[1],
                offset_ms=shot.offset_ms,
                source=source,
                created_at=now,
            )
        )
    Screenshot.objects.bulk_create(new)
    return len(new)
