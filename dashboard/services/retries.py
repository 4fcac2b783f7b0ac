"""Automatic retry: a transient failure (Code 6, the gateway's internal error, no usable answer from ZEGO) is
tried again with exponential backoff and jitter, up to THUMBS_AUTO_RETRY_MAX_ATTEMPTS attempts in all.
Permanent codes never are, and Code 1000 (often a wrong File ID) is left to an operator.

The plan (``next_retry_at``, or ``retry_note`` saying why there is none) is written with each outcome; the
worker sends what is due (``tasks_retry_due``), claiming each task with a conditional UPDATE so that two
workers never retry the same one.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from ..models import Attempt, Task, auto_retry_decision
from ..zego.client import ZegoClient, default_client
from ..zego.types import CallResult, Outcome
from .results import WORKER_MAX_WAIT

log = logging.getLogger("dashboard.services")

FIRST_PAUSE_SECONDS = 5.0
MAX_PAUSE_SECONDS = 300.0


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The pause after ``attempts`` attempts: 5 s, 10 s, 20 s... up to 5 minutes, each between half and the
    whole of that ("equal jitter"), so that tasks that failed together do not all come back together."""
    ceiling = min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


def auto_retry_plan(*, attempts: int, result: CallResult, now: datetime) -> tuple[datetime | None, str]:
    """When to try again after this outcome, and a line saying so or saying why not (the record: in English;
    pages say it again in the reader's language, Task.retry_plan)."""
    if result.outcome is Outcome.SUCCEEDED:
        return None, ""
    failed_code = result.code if result.outcome is Outcome.FAILED else None
    with translation.override("en"):
        planned, note = auto_retry_decision(
            failed_code=failed_code, attempts=attempts, limit=settings.THUMBS_AUTO_RETRY_MAX_ATTEMPTS
        )
    return (now + backoff(attempts) if planned else None), note


def tasks_retry_due(*, now: datetime | None = None, limit: int = 50, client: ZegoClient | None = None) -> int:
    """Send the automatic retries that are due; return how many were sent."""
    from .tasks import _retryable_q, claim_attempt, send_claimed

    now = now or timezone.now()
    client = client or default_client(max_wait=WORKER_MAX_WAIT)
    sent = 0
    due = Task.objects.filter(next_retry_at__lte=now).order_by("next_retry_at").values_list("pk", "next_retry_at")
    for pk, at in list(due[:limit]):
        if not Task.objects.filter(pk=pk, next_retry_at=at).update(next_retry_at=None):
            continue  # another worker took it
        task = Task.objects.get(pk=pk)
        prepared = client.prepare_thumbnails(task.to_request())
        with transaction.atomic():
            attempt = claim_attempt(
                task,
                when=_retryable_q(timezone.now()),
                reason=Attempt.Reason.AUTO,
                user=task.created_by,
                prepared=prepared,
                now=timezone.now(),
            )
        if attempt is None:  # retried by hand meanwhile, or no longer retryable
            continue
        send_claimed(client, task, attempt, prepared)
        sent += 1
    if sent:
        log.info("sent %d automatic retr%s", sent, "y" if sent == 1 else "ies")
    return sent
