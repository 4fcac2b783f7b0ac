"""What the provider made of a task ZEGO accepted: every answer about it is stored (a DescribeMediaTask call,
polled or asked for, or the snapshot callback), and the task's result and screenshots are kept up to date.

A task's result starts as *waiting* when ZEGO accepts it, with its first check a few seconds later
(``next_check_at``); each later check comes after a longer pause, until a final status (*finished* or
*failed*) or until the task is flagged *stuck*. ``result_record`` stores an answer the caller passes;
``result_poll`` (the worker, when a check is due) and ``result_ask`` (an operator, on demand) ask
DescribeMediaTask through the client, within its rate limit, and record what it says.

Whoever records an answer that is not final queues the task's next check (``poll_result`` in
dashboard/tasks.py, run at ``next_check_at``), in the same transaction: a task has one chain of checks.
``result_poll`` claims a due check with a conditional UPDATE before asking (Healthchecks' sendalerts), so
two workers never ask about the same check; a claim lasts ``poll_lease()``, after which a check whose
worker died is due again (the worker's tick picks it up: dashboard/services/worker.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import FINAL_RESULTS, AuditEntry, Result, ResultCheck, Screenshot, State, Task
from ..zego.client import ZegoClient, default_client
from ..zego.text import fit
from ..zego.types import CallResult, MediaTaskStatus, Vendor
from .audit import audit_record, display_in_english

# How long a worker's call may wait for its turn under the shared rate limit (a browser's waits at most
# ZEGO_PACING_MAX_WAIT_SECONDS): well inside stale_after()'s 60 s margin for pacing.
WORKER_MAX_WAIT = 30.0

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


class ResultAskRefused(Exception):
    """There is nothing to ask ZEGO about this task; the message says why, for the operator."""


def stuck_after() -> timedelta:
    """How long after acceptance a task without a final status is flagged stuck (and no longer polled)."""
    return timedelta(seconds=settings.THUMBS_RESULT_STUCK_AFTER_SECONDS)


def poll_lease() -> timedelta:
    """How long a claimed check stays claimed: longer than the whole call may take (the client's connect
    and read timeouts) plus a margin for waiting its turn under the rate limit. A worker killed mid-call
    leaves its check due again once this has passed; nothing else undoes a claim."""
    return timedelta(seconds=settings.ZEGO_CONNECT_TIMEOUT_SECONDS + settings.ZEGO_TIMEOUT_SECONDS + 60)


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
        task = _locked_task(task.pk)
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
                else:
                    result_check_enqueue(task_id=task.pk, at=at)
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


def result_poll(*, task_id: int, client: ZegoClient | None = None, now: datetime | None = None) -> ResultCheck | None:
    """Ask DescribeMediaTask about a task whose check is due and record the answer (source poll).

    None, without a call, when there is nothing to ask: the check is not due (or no longer: another
    worker has just claimed it, or the task's result is final or stuck) or the task is gone.
    """
    claimed_at = now or timezone.now()
    seen = _due_check(task_id, claimed_at)
    if seen is None or not _claim_check(task_id, seen=seen, at=claimed_at):
        return None
    task = Task.objects.get(pk=task_id)
    if not task.vendor_task_id:
        # ZEGO said Code 0 without a TaskId: DescribeMediaTask has nothing to go by, now or later.
        Task.objects.filter(pk=task_id).update(
            next_check_at=None,
            result=Result.STUCK,
            result_message="ZEGO accepted this task without a task id: its result cannot be asked for.",
        )
        log.warning("task #%s: accepted without a vendor task id, not polled", task_id)
        return None
    return _ask(task, source=ResultCheck.Source.POLL, user=None, client=client, now=now)


def result_ask(
    *, task: Task, user: AbstractBaseUser, client: ZegoClient | None = None, now: datetime | None = None
) -> ResultCheck:
    """Ask DescribeMediaTask about ``task`` now, for an operator ("Ask ZEGO again"), and record the answer
    with source ask and who asked. Any task ZEGO accepted may be asked, a stuck or final one too (a final
    result is kept whatever the answer). The call goes through the client's rate limit like a poll.

    Raises ResultAskRefused when ZEGO has not accepted the task (there is no task id to ask about).
    """
    task.refresh_from_db()
    if task.state != State.SUCCEEDED or not task.vendor_task_id:
        raise ResultAskRefused(
            _("ZEGO has not accepted this task, so the provider has no result to ask about. Retry it first.")
        )
    audit_record(  # before the call, like a retry: the entry exists even if the process dies in it
        action=AuditEntry.Action.RESULT_ASK,
        actor=user,
        task=task,
        summary=f"Task #{task.pk}: asked ZEGO again for the provider's result "
        f"({display_in_english(task, 'result').lower() or 'none yet'} until then).",
    )
    return _ask(task, source=ResultCheck.Source.ASK, user=user, client=client, now=now)


def result_check_enqueue(*, task_id: int, at: datetime) -> None:
    """Queue the worker's check of a task's result for ``at`` (dashboard/tasks.py ``poll_result``).

    Inside the caller's transaction, so that the check is queued if and only if what scheduled it is
    stored. Should the queue refuse, the answer is stored all the same and the worker's tick finds the
    overdue check later (worker.ORPHANED_AFTER).
    """
    from .. import tasks  # dashboard/tasks.py calls these services: imported when it is used

    try:
        with transaction.atomic():
            tasks.poll_result.using(run_after=at).enqueue(task_id)
    except Exception as exc:  # any backend's failure: the tick is the fallback
        log.warning("task #%s: its next result check could not be queued (%s); the tick will do it", task_id, exc)


def shots_of(answer: MediaTaskStatus) -> list[Shot]:
    """The screenshots a DescribeMediaTask answer names: Tencent's ThumbnailsUrl, Huawei's FileName."""
    if answer.vendor is Vendor.TENCENT:
        return [Shot(url=url) for url in answer.thumbnail_urls]
    return [Shot(file_name=name) for name in answer.file_names]


def _ask(
    task: Task,
    *,
    source: ResultCheck.Source,
    user: AbstractBaseUser | None,
    client: ZegoClient | None,
    now: datetime | None,
) -> ResultCheck:
    client = client or default_client(max_wait=None if source == ResultCheck.Source.ASK else WORKER_MAX_WAIT)
    answer = client.describe_media_task(task_id=task.vendor_task_id, vendor=Vendor(task.vendor))
    return result_record(
        task=task,
        source=source,
        status=answer.status,
        message=answer.message,
        shots=shots_of(answer),
        call=answer.call,
        user=user,
        now=now,  # None: the time the answer came, not when the call started
    )


def _due_check(task_id: int, at: datetime) -> datetime | None:
    """When the task's check was due, if it is due by ``at``."""
    due = Task.objects.filter(pk=task_id, next_check_at__lte=at).values_list("next_check_at", flat=True)
    return due.first()


def _claim_check(task_id: int, *, seen: datetime, at: datetime) -> bool:
    """Claim a due check for this worker for poll_lease(): of two workers that saw the same due check,
    only one UPDATE still finds it as seen (Healthchecks' sendalerts). One statement: no lock is held."""
    return bool(Task.objects.filter(pk=task_id, next_check_at=seen).update(next_check_at=at + poll_lease()))


def _locked_task(pk: int) -> Task:
    """The task, locked until the transaction ends: the row on PostgreSQL; on SQLite, which has no row
    locks, the database's write lock, taken by a write before reading (a read then a write would fail at
    once, "database is locked", if another process, such as a second worker, wrote in between)."""
    rows = Task.objects.filter(pk=pk)
    if connection.features.has_select_for_update:
        return rows.select_for_update().get()
    rows.update(result_checks=F("result_checks"))
    return rows.get()


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
