"""Batches: many File IDs with one set of parameters, checked line by line, queued, then sent one item at a
time by whichever worker claims it, at ZEGO's shared pace; cancellable; counted as they go.

Every item is a Task (state *queued*) and a BatchItem before anything is sent. Sending an item claims it and
writes its attempt (state *sending*) in one transaction, then calls ZEGO outside it: an item is never sent
twice nor sent unrecorded, and a worker killed mid-call leaves an attempt that the stale sweep calls unknown.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_noop

from ..forms import file_id_problem
from ..models import Attempt, AuditEntry, Batch, BatchItem, State, Task
from ..zego.client import ZegoClient, default_client
from ..zego.types import ThumbnailRequest, format_number
from .audit import audit_record
from .results import WORKER_MAX_WAIT, result_poll
from .tasks import claim_attempt, send_claimed

log = logging.getLogger("dashboard.services")

MAX_ITEMS = 20_000
# Turns queued for a new batch: two workers can share it, the shared limiter keeps their sum at ZEGO's pace.
SENDERS = 2
# A turn sends for at most this long, then queues the next turn: a long batch does not hold a worker for
# ever (the tick, due every 10 s, runs between two turns), and what a killed worker leaves is taken by the
# next turn or the tick (batches_resume). Turns outrank result checks in the queue (dashboard/tasks.py).
TURN_SECONDS = 10
RESUME_AFTER = timedelta(seconds=60)
# The thread answering result checks beside a turn: due checks read at a time, pause when none is due.
CHECKS_AT_ONCE = 20
CHECKS_IDLE_SECONDS = 0.5
HEADER_NAMES = {"fileid", "file_id", "file id", "fileids", "file ids"}


@dataclass(frozen=True)
class Line:
    number: int
    file_id: str
    problem: str = ""


@dataclass(frozen=True)
class LineCheck:
    """Every line of a paste or a file, sorted into those that can be sent and those that cannot (and why)."""

    valid: list[Line] = field(default_factory=list)
    invalid: list[Line] = field(default_factory=list)
    duplicates: list[Line] = field(default_factory=list)
    too_many: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.valid) and not self.invalid and not self.duplicates and not self.too_many


def batch_read_lines(text: str) -> list[Line]:
    """One File ID per line (a CSV's first column); blank lines and a header row are skipped."""
    lines: list[Line] = []
    rows = csv.reader(io.StringIO(text)) if ("," in text or '"' in text) else ([r] for r in text.splitlines())
    for number, row in enumerate(rows, start=1):
        value = (row[0] if row else "").strip()
        if not value or (number == 1 and value.lower() in HEADER_NAMES):
            continue
        lines.append(Line(number, value))
    return lines


def batch_check_lines(text: str, *, vendor: str) -> LineCheck:
    """Apply the single forms' File ID rules to every line; flag repeats (the first one is kept)."""
    valid, invalid, duplicates = [], [], []
    seen: dict[str, int] = {}
    lines = batch_read_lines(text)
    for line in lines:
        problem = file_id_problem(line.file_id) or file_id_problem(line.file_id, vendor)
        if problem:
            invalid.append(Line(line.number, line.file_id, problem))
        elif line.file_id in seen:
            repeats = gettext("Repeats line %(line)s.") % {"line": seen[line.file_id]}
            duplicates.append(Line(line.number, line.file_id, repeats))
        else:
            seen[line.file_id] = line.number
            valid.append(line)
    return LineCheck(valid=valid, invalid=invalid, duplicates=duplicates, too_many=len(valid) > MAX_ITEMS)


def batch_create(
    *,
    user: AbstractBaseUser,
    template: ThumbnailRequest,
    file_ids: list[str],
    submission_token: uuid.UUID | None = None,
) -> Batch:
    """Queue one task per File ID with ``template``'s parameters: all written before anything is sent.
    The same form token twice gives back the batch it made the first time."""
    if submission_token is not None:
        existing = Batch.objects.filter(created_by=user, submission_token=submission_token).first()
        if existing is not None:
            return existing
    if not file_ids:
        raise ValueError(gettext("A batch needs at least one File ID."))
    if len(file_ids) > MAX_ITEMS:
        raise ValueError(gettext("A batch takes at most %(max)s File IDs.") % {"max": f"{MAX_ITEMS:,}"})
    now = timezone.now()
    parameters = {
        "vendor": template.vendor.value,
        "mode": template.mode.value,
        "definition": template.definition,
        "time_points": [format_number(t) for t in template.time_points],
        "interval": template.interval,
    }
    with transaction.atomic():
        batch = Batch.objects.create(
            kind=Batch.Kind.SUBMIT,
            created_by=user,
            created_at=now,
            parameters=parameters,
            total=len(file_ids),
            submission_token=submission_token,
        )
        tasks = Task.objects.bulk_create(
            [
                Task(
                    vendor=parameters["vendor"],
                    mode=parameters["mode"],
                    file_id=file_id,
                    definition=parameters["definition"],
                    time_points=parameters["time_points"],
                    interval=parameters["interval"],
                    created_by=user,
                    created_at=now,
                    state=State.QUEUED,
                    state_changed_at=now,
                    attempt_count=0,
                )
                for file_id in file_ids
            ],
            batch_size=1000,
        )
        BatchItem.objects.bulk_create(
            [BatchItem(batch=batch, task=task, position=n) for n, task in enumerate(tasks, start=1)],
            batch_size=1000,
        )
        _enqueue_senders(batch.pk, count=SENDERS)
        audit_record(
            action=AuditEntry.Action.BATCH_SUBMIT,
            actor=user,
            summary=f"Batch #{batch.pk}: {len(file_ids):,} {parameters['vendor']} "
            f"{template.mode.value.replace('-', ' ')} tasks queued.",
            details={"batch": batch.pk, "total": len(file_ids), **parameters},
        )
    log.info("batch #%s: %s tasks queued by %s", batch.pk, len(file_ids), user)
    return batch


def batch_cancel(*, batch: Batch, user: AbstractBaseUser) -> int:
    """Stop sending: items not yet claimed are never sent (their tasks say so); returns how many."""
    now = timezone.now()
    with transaction.atomic():
        updated = Batch.objects.filter(pk=batch.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=user
        )
        if not updated:
            return 0
        queued = BatchItem.objects.filter(batch=batch, status=BatchItem.Status.QUEUED)
        task_ids = list(queued.values_list("task_id", flat=True))
        count = queued.update(status=BatchItem.Status.CANCELLED)
        Task.objects.filter(pk__in=task_ids, state=State.QUEUED).update(state=State.CANCELLED, state_changed_at=now)
        audit_record(
            action=AuditEntry.Action.BATCH_CANCEL,
            actor=user,
            summary=f"Batch #{batch.pk} cancelled: {count:,} tasks not sent.",
            details={"batch": batch.pk, "not_sent": count},
        )
    return count


def batch_send_next(*, batch_id: int, client: ZegoClient | None = None) -> bool:
    """Claim the batch's next queued item, send it, record the outcome. False when nothing is left."""
    client = client or default_client()
    while True:
        item = (
            BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.QUEUED)
            .select_related("task", "batch")
            .order_by("position")
            .first()
        )
        if item is None:
            _finish(batch_id)
            return False
        task = item.task
        prepared = client.prepare_thumbnails(task.to_request())
        now = timezone.now()
        with transaction.atomic():
            if not BatchItem.objects.filter(pk=item.pk, status=BatchItem.Status.QUEUED).update(
                status=BatchItem.Status.SENT, sent_at=now
            ):
                continue  # another worker claimed it first
            retrying = item.batch.kind == Batch.Kind.RETRY
            attempt = claim_attempt(
                task,
                when=_retry_when(item.batch, now) if retrying else Q(state=State.QUEUED),
                reason=Attempt.Reason.BULK_RETRY if retrying else Attempt.Reason.BATCH,
                user=item.batch.created_by,
                prepared=prepared,
                now=now,
            )
            if attempt is None:
                # A submission's item was cancelled between the two reads (the cancel wins); a retry's task
                # was retried or changed meanwhile and is no longer one to retry.
                status = BatchItem.Status.SKIPPED if retrying else BatchItem.Status.CANCELLED
                BatchItem.objects.filter(pk=item.pk).update(status=status, sent_at=None)
                continue
            BatchItem.objects.filter(pk=item.pk).update(attempt=attempt, state=State.SENDING)
        send_claimed(client, task, attempt, prepared)
        return True


def batch_send_turn(
    *,
    batch_id: int,
    seconds: float = TURN_SECONDS,
    client: ZegoClient | None = None,
    answer_checks: bool = False,
) -> int:
    """Send queued items one after another for up to ``seconds``; queue the next turn if any are left.

    With ``answer_checks`` (the worker's turns) a second thread answers the result checks that fall due
    meanwhile: a turn holds its worker, and with every worker sending, the checks the sent items queue
    would otherwise wait for the end of the batch. DescribeMediaTask has a limit of its own, so asking
    takes nothing from the sending."""
    client = client or default_client(max_wait=WORKER_MAX_WAIT)
    ends = time.monotonic() + seconds
    sent = 0
    with _checks_alongside() if answer_checks else nullcontext():
        while time.monotonic() < ends:
            if not batch_send_next(batch_id=batch_id, client=client):
                return sent
            sent += 1
        if BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.QUEUED).exists():
            _enqueue_senders(batch_id, count=1)
    return sent


@contextmanager
def _checks_alongside() -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=_answer_due_checks, args=(stop,), name="result-checks", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # Its call in flight ends within the client's deadline and the worker's wait for a turn.
        thread.join(timeout=WORKER_MAX_WAIT + 60)


def _answer_due_checks(stop: threading.Event) -> None:
    """Ask about due checks, oldest first, until ``stop``. Each is claimed by ``result_poll`` as when its
    queued task runs (which then finds nothing to do), so no check is asked twice."""
    client = default_client(max_wait=WORKER_MAX_WAIT)
    try:
        while not stop.is_set():
            due = list(
                Task.objects.filter(next_check_at__lte=timezone.now())
                .order_by("next_check_at")
                .values_list("pk", flat=True)[:CHECKS_AT_ONCE]
            )
            for task_id in due:
                if stop.is_set():
                    break
                result_poll(task_id=task_id, client=client)
            if not due:
                stop.wait(CHECKS_IDLE_SECONDS)
    except Exception:
        # The queued checks and the tick's overdue pass still ask; the batch goes on.
        log.exception("result checks beside a batch stopped")
    finally:
        connection.close()  # this thread's own connection


def batches_resume(*, now: datetime | None = None) -> int:
    """For the worker's tick: a batch with items to send and nothing sent for a minute lost its turns (a
    worker killed): queue a new one. Returns how many batches were resumed."""
    now = now or timezone.now()
    quiet_since = now - RESUME_AFTER
    stalled = (
        Batch.objects.filter(finished_at__isnull=True, cancelled_at__isnull=True, created_at__lt=quiet_since)
        .filter(items__status=BatchItem.Status.QUEUED)
        .exclude(items__sent_at__gte=quiet_since)
        .distinct()
        .values_list("pk", flat=True)
    )
    resumed = 0
    for batch_id in stalled:
        _enqueue_senders(batch_id, count=1)
        resumed += 1
    return resumed


def _enqueue_senders(batch_id: int, *, count: int) -> None:
    from .. import tasks  # dashboard/tasks.py calls these services: imported when used

    for _ in range(count):
        tasks.send_batch.enqueue(batch_id)


def _retry_when(batch: Batch, now: datetime) -> Q:
    from .tasks import _retryable_q

    when = _retryable_q(now)
    if not batch.parameters.get("include_permanent"):
        when &= ~Q(state=State.FAILED, latest_code__in=_permanent_codes())
    return when


def _finish(batch_id: int) -> None:
    Batch.objects.filter(pk=batch_id, finished_at__isnull=True).exclude(items__status=BatchItem.Status.QUEUED).update(
        finished_at=timezone.now()
    )


@dataclass(frozen=True)
class Progress:
    total: int
    queued: int
    sending: int
    succeeded: int
    failed: int
    unknown: int
    cancelled: int
    skipped: int
    rate_per_second: float  # items sent per second over the last minute
    eta: timedelta | None

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.unknown + self.cancelled + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def sent(self) -> int:
        return self.sending + self.succeeded + self.failed + self.unknown


# One round trip: the batch's counts, the few items sending, cancelled or skipped (sent and sending, or never
# sent: no attempt, no state; as lists, which the batchitem_progress index takes as a handful of exact keys),
# and the last minute's sends (batchitem_sent). Table names from the models; every value is a parameter.
# The branch with the timestamp comes first: PostgreSQL types the NULLs after it by it.
_PROGRESS_SQL = (
    f"SELECT 'recent', COUNT(*), 0, 0, MIN(sent_at) FROM {BatchItem._meta.db_table} "  # noqa: S608
    f"WHERE batch_id = %s AND sent_at >= %s UNION ALL "
    f"SELECT 'ended', succeeded_count, failed_count, unknown_count, NULL FROM {Batch._meta.db_table} "
    f"WHERE id = %s UNION ALL "
    f"SELECT status, COUNT(*), 0, 0, NULL FROM {BatchItem._meta.db_table} "
    f"WHERE batch_id = %s AND status IN (%s, %s, %s) AND state IN (%s, '') GROUP BY status"
)


def batch_progress(batch: Batch, *, now: datetime | None = None) -> Progress:
    """Read from the batch's counts and short ranges of its items' indexes, however many items it has."""
    now = now or timezone.now()
    since = now - timedelta(seconds=60)
    few = (BatchItem.Status.SENT, BatchItem.Status.CANCELLED, BatchItem.Status.SKIPPED, State.SENDING)
    params = [batch.pk, connection.ops.adapt_datetimefield_value(since), batch.pk, batch.pk, *few]
    counts: dict[str, int] = {}
    succeeded = failed = unknown = 0
    first = None
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_SQL, params)
        for kind, n, failed_n, unknown_n, at in cursor.fetchall():
            if kind == "ended":
                succeeded, failed, unknown = n, failed_n, unknown_n
            else:
                counts[kind] = n
                first = _aware(at) if kind == "recent" else first
    sending = counts.get(BatchItem.Status.SENT, 0)
    cancelled = counts.get(BatchItem.Status.CANCELLED, 0)
    skipped = counts.get(BatchItem.Status.SKIPPED, 0)
    seconds = max((now - first).total_seconds(), 1.0) if first else 0
    rate = counts.get("recent", 0) / seconds if seconds else 0.0
    queued = max(batch.total - sending - succeeded - failed - unknown - cancelled - skipped, 0)
    return Progress(
        total=batch.total,
        queued=queued,
        sending=sending,
        succeeded=succeeded,
        failed=failed,
        unknown=unknown,
        cancelled=cancelled,
        skipped=skipped,
        rate_per_second=round(rate, 1),
        eta=timedelta(seconds=round(queued / rate)) if rate and queued and not batch.cancelled_at else None,
    )


def _aware(value: datetime | str | None) -> datetime | None:
    """A datetime from raw SQL: SQLite gives the stored UTC text, PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


# --- bulk retry ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkRetryPlan:
    """What "Retry all matching" would do now: how many tasks, and how many are left out and why."""

    retry: int
    excluded: dict[str, int]
    permanent: int  # failed with a permanent code: left out unless the operator includes them

    @property
    def matching(self) -> int:
        return self.retry + sum(self.excluded.values())


# In English, as the batch and its audit entry record them; the page translates them (gettext_noop marks them).
EXCLUDED_WHY = {
    State.SUCCEEDED: gettext_noop("succeeded: nothing to retry"),
    State.SENDING: gettext_noop("still sending: its outcome is not known yet"),
    State.QUEUED: gettext_noop("queued in a batch: not sent yet"),
    State.CANCELLED: gettext_noop("cancelled before it was sent: submit it again instead"),
}
PERMANENT_WHY = gettext_noop("failed with a permanent code: fix the input first (include them to retry anyway)")


def _permanent_codes() -> list[int]:
    from ..zego.codes import MEDIA_THUMBNAILS as CATALOGUE
    from ..zego.codes import RetryClass

    return [code for code, info in CATALOGUE.items() if info.retry is RetryClass.PERMANENT]


def _retry_set(filters: dict, *, include_permanent: bool):
    from ..selectors import tasks_matching

    qs = tasks_matching(**filters).filter(state__in=(State.FAILED, State.UNKNOWN))
    if not include_permanent:
        qs = qs.exclude(state=State.FAILED, latest_code__in=_permanent_codes())
    return qs


def bulk_retry_plan(*, filters: dict, include_permanent: bool = False) -> BulkRetryPlan:
    """The dry run: counted in the database, nothing changed."""
    from ..selectors import tasks_matching

    by_state = dict(tasks_matching(**filters).values_list("state").annotate(n=Count("id")).order_by())
    excluded = {EXCLUDED_WHY[s]: n for s, n in by_state.items() if s in EXCLUDED_WHY and n}
    permanent = tasks_matching(**filters).filter(state=State.FAILED, latest_code__in=_permanent_codes()).count()
    if permanent and not include_permanent:
        excluded[PERMANENT_WHY] = permanent
    retry = by_state.get(State.FAILED, 0) + by_state.get(State.UNKNOWN, 0) - (0 if include_permanent else permanent)
    return BulkRetryPlan(retry=retry, excluded=excluded, permanent=permanent)


def bulk_retry_create(
    *, user: AbstractBaseUser, filters: dict, filter_text: str, include_permanent: bool = False
) -> Batch:
    """Freeze the tasks that match now (later matches are not included) and queue their retries."""
    plan = bulk_retry_plan(filters=filters, include_permanent=include_permanent)
    ids = list(_retry_set(filters, include_permanent=include_permanent).order_by("id").values_list("pk", flat=True))
    if not ids:
        raise ValueError(gettext("No task matching these filters can be retried."))
    if len(ids) > MAX_ITEMS:
        raise ValueError(
            gettext("%(count)s tasks match: a bulk retry takes at most %(max)s. Narrow the filters.")
            % {"count": f"{len(ids):,}", "max": f"{MAX_ITEMS:,}"}
        )
    with transaction.atomic():
        batch = Batch.objects.create(
            kind=Batch.Kind.RETRY,
            created_by=user,
            parameters={
                "filter": filter_text,
                "include_permanent": include_permanent,
                "excluded": plan.excluded,
            },
            total=len(ids),
        )
        BatchItem.objects.bulk_create(
            [BatchItem(batch=batch, task_id=pk, position=n) for n, pk in enumerate(ids, start=1)], batch_size=1000
        )
        _enqueue_senders(batch.pk, count=SENDERS)
        audit_record(
            action=AuditEntry.Action.BULK_RETRY,
            actor=user,
            summary=f"Bulk retry #{batch.pk}: {len(ids):,} tasks matching “{filter_text or 'everything'}”"
            + (" (permanent codes included)" if include_permanent else "")
            + ".",
            details={"batch": batch.pk, "filter": filter_text, "count": len(ids), "excluded": plan.excluded},
        )
    return batch
