"""Writes: submit a screenshot task, retry it, expire attempts whose sender died.

Each call is recorded before it is made: the task and its attempt are committed in state "sending",
the client is called outside any transaction, and the outcome is written afterwards. A crash between the
two leaves a "sending" attempt that ``attempts_expire_stale`` turns into "unknown" once the client's
timeout has certainly passed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import RETRYABLE_STATES, Attempt, AuditEntry, Batch, BatchItem, State, Task
from ..selectors_overview import overview_forget
from ..zego.client import ZegoClient, default_client
from ..zego.text import for_log
from ..zego.types import CallResult, PreparedCall, ThumbnailRequest, format_number
from .audit import audit_record, display_in_english
from .results import result_check_enqueue, result_fields_on_acceptance
from .retries import auto_retry_plan

log = logging.getLogger("dashboard.services")

ABANDONED = "abandoned"
# An attempt of a batch item: its outcome moves the item (BatchItem.state) and the batch's counts.
BATCH_REASONS = (Attempt.Reason.BATCH, Attempt.Reason.BULK_RETRY)
BATCH_COUNTS = {State.SUCCEEDED: "succeeded_count", State.FAILED: "failed_count", State.UNKNOWN: "unknown_count"}


class RetryRefused(Exception):
    """The task cannot be retried now; the message says why, for the operator."""


class RetryNeedsConfirmation(RetryRefused):
    """The last code is permanent: the same input will probably fail again."""


@dataclass(frozen=True)
class Submission:
    task: Task
    created: bool  # False: the form's one-time token had been used, this is the task it made


def stale_after() -> timedelta:
    """How long an attempt may stay "sending": past the client's own timeouts, plus margin for pacing."""
    return timedelta(seconds=settings.ZEGO_CONNECT_TIMEOUT_SECONDS + settings.ZEGO_TIMEOUT_SECONDS + 60)


def task_submit(
    *,
    user: AbstractBaseUser,
    request: ThumbnailRequest,
    submission_token: uuid.UUID | None = None,
    resubmitted_from: Task | None = None,
    client: ZegoClient | None = None,
) -> Submission:
    client = client or default_client()
    prepared = client.prepare_thumbnails(request)
    now = timezone.now()
    try:
        with transaction.atomic():
            task = Task.objects.create(
                vendor=request.vendor.value,
                mode=request.mode.value,
                file_id=request.file_id,
                definition=request.definition,
                time_points=[format_number(t) for t in request.time_points],
                interval=request.interval,
                created_by=user,
                created_at=now,
                resubmitted_from=resubmitted_from,
                submission_token=submission_token,
                state=State.SENDING,
                state_changed_at=now,
                attempt_count=1,
            )
            attempt = _new_attempt(task, number=1, reason=Attempt.Reason.SUBMIT, user=user, prepared=prepared)
            audit_record(
                action=AuditEntry.Action.TASK_RESUBMIT if resubmitted_from else AuditEntry.Action.TASK_SUBMIT,
                actor=user,
                task=task,
                summary=f"Task #{task.pk}: {task.vendor} {display_in_english(task, 'mode').lower()}, "
                f"File ID {task.file_id}"
                + (f" (edited from task #{resubmitted_from.pk})" if resubmitted_from else "")
                + ".",
            )
    except IntegrityError:
        if submission_token is None:
            raise
        existing = Task.objects.get(submission_token=submission_token, created_by=user)
        log.info("task #%s: form token reused by %s, no second task made", existing.pk, user)
        return Submission(task=existing, created=False)
    _send_and_record(client, task, attempt, prepared)
    task.refresh_from_db()
    return Submission(task=task, created=True)


def task_retry(
    *, user: AbstractBaseUser, task: Task, confirmed: bool = False, client: ZegoClient | None = None
) -> Attempt:
    """A new attempt with a fresh nonce, timestamp and signature. Two concurrent retries make one attempt:
    the claim is a single conditional UPDATE, which only one of them can win."""
    client = client or default_client()
    task.refresh_from_db()
    _refuse_unless_retryable(task, confirmed=confirmed)
    prepared = client.prepare_thumbnails(task.to_request())
    now = timezone.now()
    with transaction.atomic():
        attempt = claim_attempt(
            task, when=_retryable_q(now), reason=Attempt.Reason.RETRY, user=user, prepared=prepared, now=now
        )
        if attempt is None:
            raise RetryRefused(_("Another retry of this task has just started; its outcome will show here."))
        number = attempt.number
        audit_record(
            action=AuditEntry.Action.TASK_RETRY,
            actor=user,
            task=task,
            summary=f"Task #{task.pk}: attempt {number}"
            + (f", confirmed despite permanent Code {task.latest_code}" if task.retry_needs_confirmation else "")
            + ".",
            details={"attempt": number, "confirmed": confirmed},
        )
    _send_and_record(client, task, attempt, prepared)
    attempt.refresh_from_db()
    task.refresh_from_db()
    return attempt


def attempts_expire_stale(*, now=None) -> int:
    """Mark attempts whose sender stopped without recording an outcome as unknown; return how many."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    stale = list(
        Task.objects.filter(state=State.SENDING, state_changed_at__lt=cutoff).values_list("pk", "attempt_count")
    )
    for task_id, number in stale:
        with transaction.atomic():
            attempt = Attempt.objects.filter(task_id=task_id, number=number, state=State.SENDING)
            if attempt.update(
                state=State.UNKNOWN,
                finished_at=now,
                transport_error=ABANDONED,
                transport_detail="No outcome was recorded: the process sending this request stopped before "
                "saving ZEGO's answer. ZEGO may have received it.",
                may_have_reached=True,
            ):
                for pk in Attempt.objects.filter(task_id=task_id, number=number).values_list("pk", flat=True):
                    batch_item_ended(attempt_id=pk, state=State.UNKNOWN)
            Task.objects.filter(pk=task_id, attempt_count=number, state=State.SENDING).update(
                state=State.UNKNOWN, state_changed_at=now
            )
    if stale:
        log.warning("marked %d abandoned attempt(s) unknown", len(stale))
    return len(stale)


def claim_attempt(
    task: Task, *, when: Q, reason: str, user: AbstractBaseUser, prepared: PreparedCall, now
) -> Attempt | None:
    """In the caller's transaction: move ``task`` to sending and write its next attempt, if the task is still
    as the caller saw it (same attempt count) and matches ``when``. None if someone else got there first."""
    claimed = (
        Task.objects.filter(pk=task.pk, attempt_count=task.attempt_count)
        .filter(when)
        .update(
            state=State.SENDING,
            state_changed_at=now,
            attempt_count=F("attempt_count") + 1,
            next_retry_at=None,  # an attempt under way voids the automatic retry plan
            retry_note="",
        )
    )
    if not claimed:
        return None
    return _new_attempt(task, number=task.attempt_count + 1, reason=reason, user=user, prepared=prepared)


def send_claimed(client: ZegoClient, task: Task, attempt: Attempt, prepared: PreparedCall) -> None:
    """Send a claimed attempt (outside any transaction) and record its outcome."""
    _send_and_record(client, task, attempt, prepared)


def batch_item_ended(*, attempt_id: int, state: State) -> None:
    """In the caller's transaction: move the batch item sent with this attempt to ``state``, and its batch's
    counts with it. Each move is a conditional UPDATE, so that an item is counted once whoever records it:
    its outcome, or the stale sweep calling it unknown first (a late answer then moves it on from there)."""
    items = BatchItem.objects.filter(attempt_id=attempt_id)
    for was in (State.SENDING, State.UNKNOWN):
        if was != state and items.filter(state=was).update(state=state):
            counts = {BATCH_COUNTS[state]: F(BATCH_COUNTS[state]) + 1}
            if was in BATCH_COUNTS:
                counts[BATCH_COUNTS[was]] = F(BATCH_COUNTS[was]) - 1
            Batch.objects.filter(items__attempt_id=attempt_id).update(**counts)
            return


def _retryable_q(now) -> Q:
    return Q(state__in=RETRYABLE_STATES) | Q(state=State.SENDING, state_changed_at__lt=now - stale_after())


def _refuse_unless_retryable(task: Task, *, confirmed: bool) -> None:
    if task.state == State.SUCCEEDED:
        raise RetryRefused(_("This task succeeded: there is nothing to retry. Submit a new task instead."))
    if task.state == State.SENDING and task.state_changed_at >= timezone.now() - stale_after():
        raise RetryRefused(_("This task is still sending: wait for its outcome before retrying."))
    if task.retry_needs_confirmation and not confirmed:
        info = task.code_info
        raise RetryNeedsConfirmation(
            _(
                "Code %(code)s (%(meaning)s) is permanent: the same input will probably fail again. "
                "Confirm to retry anyway."
            )
            % {"code": task.latest_code, "meaning": info.meaning}
        )


def _new_attempt(task: Task, *, number: int, reason: str, user, prepared: PreparedCall) -> Attempt:
    return Attempt.objects.create(
        task=task,
        number=number,
        reason=reason,
        created_by=user,
        state=State.SENDING,
        nonce=prepared.nonce,
        timestamp=prepared.timestamp,
    )


def _send_and_record(client: ZegoClient, task: Task, attempt: Attempt, prepared: PreparedCall) -> None:
    result = client.send(prepared)
    _record(task, attempt, result)


def _record(task: Task, attempt: Attempt, result: CallResult) -> None:
    """Write the outcome. The client has fitted every field to its column; should the database still refuse
    a value, the outcome (state and code) is written without ZEGO's texts rather than lost."""
    now = timezone.now()
    state = State.of(result.outcome)
    failure = result.failure
    texts = {
        "request_id": result.request_id,
        "vendor_task_id": result.vendor_task_id,
        "vendor_request_id": result.vendor_request_id,
        "message": result.message,
        "response_body": result.body,
    }
    detail = failure.detail if failure else ""
    try:
        with transaction.atomic():
            _write_outcome(task, attempt, now=now, state=state, result=result, texts=texts, detail=detail)
    except DatabaseError as exc:
        log.error("task #%s attempt %s: ZEGO's answer could not be stored in full (%s)", task.pk, attempt.number, exc)
        detail = (
            f"{detail} ZEGO's answer could not be stored in full ({type(exc).__name__}); "
            "its texts were left out, the outcome is kept."
        ).strip()
        with transaction.atomic():
            _write_outcome(
                task, attempt, now=now, state=state, result=result, texts=dict.fromkeys(texts, ""), detail=detail
            )
    overview_forget()
    log.info(
        "task #%s attempt %s (%s): %s code=%s request_id=%s",
        task.pk,
        attempt.number,
        attempt.reason,
        state,
        result.code,
        for_log(result.request_id or "-"),
    )


def _write_outcome(
    task: Task, attempt: Attempt, *, now, state: State, result: CallResult, texts: dict[str, str], detail: str
) -> None:
    failure = result.failure
    Attempt.objects.filter(pk=attempt.pk).update(
        state=state,
        finished_at=now,
        code=result.code,
        http_status=result.http_status,
        latency_ms=result.latency_ms,
        transport_error=failure.kind.value if failure else "",
        transport_detail=detail,
        may_have_reached=failure.may_have_reached if failure else True,
        **texts,
    )
    if attempt.reason in BATCH_REASONS:
        batch_item_ended(attempt_id=attempt.pk, state=state)
    # Only the latest attempt speaks for the task (an expired attempt that answers late does not).
    accepted = result_fields_on_acceptance(now) if state == State.SUCCEEDED else {}
    next_retry_at, retry_note = auto_retry_plan(attempts=attempt.number, result=result, now=now)
    updated = Task.objects.filter(pk=task.pk, attempt_count=attempt.number).update(
        **accepted,
        next_retry_at=next_retry_at,
        retry_note=retry_note,
        state=state,
        state_changed_at=now,
        latest_code=result.code,
        latest_message=texts["message"] or detail,
        latest_request_id=texts["request_id"],
        vendor_task_id=texts["vendor_task_id"],
    )
    if accepted and updated:
        result_check_enqueue(task_id=task.pk, at=accepted["next_check_at"])
