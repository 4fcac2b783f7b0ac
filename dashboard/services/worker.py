"""The worker's periodic work, run by the ``tick`` task (dashboard/tasks.py): sweep the attempts a dead
process left *sending*, ask about result checks whose queued task was lost, keep the queue table small.

django.tasks has no scheduler, so the tick queues its own successor (``run_after``). The successor is
queued in the same transaction that claims the tick's turn (a conditional UPDATE of ``WorkerTick.due_at``):

- one chain: of two ticks due at once (two workers started together, or a restarted chain meeting the
  old one), only one claims the turn; the other ends without a successor, so the chains merge;
- a worker killed in the middle of a tick has already queued the next one, which another worker runs.
  django-tasks-db leaves the killed worker's task RUNNING for good and never runs it again, so nothing
  here depends on it finishing;
- only a worker killed between taking the tick from the queue and claiming its turn breaks the chain.
  Then ``due_at`` falls behind, and ``worker_tick_ensure`` starts a fresh chain: every worker calls it when
  it starts (dashboard/management/commands/db_worker.py), and every result check after asking, the first
  of which each accepted submission queues.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Task, WorkerTick
from ..zego.client import ZegoClient, default_client
from .batches import batches_resume
from .results import WORKER_MAX_WAIT, result_poll
from .retries import tasks_retry_due
from .tasks import attempts_expire_stale

log = logging.getLogger("dashboard.worker")

TICK = "tick"
TICK_EVERY = timedelta(seconds=10)
# A tick this far behind has no chain running any more: the next worker, submission or check starts one.
STALLED_AFTER = timedelta(seconds=60)
# A due check this late has lost its queued task (its worker died after claiming it, or the queue refused
# it): the tick asks, and the chain of checks goes on from there. Below it, the queued check is on its way.
ORPHANED_AFTER = timedelta(seconds=20)
ORPHANS_PER_TICK = 20  # the calls of one tick stay within a second of DescribeMediaTask's 20/s
TIDY = "tidy"  # a second row, for the tidying the tick does once an hour
TIDY_EVERY = timedelta(hours=1)
# Finished entries of thumbs' own tasks kept in django-tasks-db's table (the admin lists them).
KEEP_SUCCESSFUL = timedelta(days=1)
KEEP_FAILED = timedelta(days=7)
# Longer than any of thumbs' tasks can run: one still RUNNING after this lost its worker.
RUNNING_AT_MOST = timedelta(hours=1)


def worker_tick(*, now: datetime | None = None, client: ZegoClient | None = None) -> dict[str, int] | None:
    """One tick: claim its turn (queueing the next tick), then do the periodic work. None when another
    tick has the turn (this chain then ends). ``now`` is for tests; each answer is stored with its time."""
    at = now or timezone.now()
    with transaction.atomic():
        if not _claim_turn(TICK, now=at, every=TICK_EVERY):
            return None
        _enqueue_tick(at=at + TICK_EVERY)
    done = {
        "expired_attempts": attempts_expire_stale(now=at),
        "orphaned_checks": results_poll_orphaned(now=now, client=client),
        "automatic_retries": tasks_retry_due(now=at, client=client),
        "resumed_batches": batches_resume(now=at),
        "tidied": _tidy_queue(at) if _claim_turn(TIDY, now=at, every=TIDY_EVERY) else 0,
    }
    if any(done.values()):
        log.info("tick: %s", ", ".join(f"{name}={count}" for name, count in done.items()))
    return done


def worker_tick_ensure(*, now: datetime | None = None) -> bool:
    """Start a tick chain unless one is running (a tick due in the last STALLED_AFTER, or later); return
    whether one was started. Cheap: one SELECT when all is well."""
    now = now or timezone.now()
    row = WorkerTick.objects.filter(name=TICK).first()
    if row is not None and row.due_at >= now - STALLED_AFTER:
        return False
    # Each branch writes before it reads anything: on SQLite a read then a write in one transaction fails
    # at once when another process wrote in between, where a first write waits its turn.
    with transaction.atomic():
        if row is None:
            try:
                with transaction.atomic():
                    WorkerTick.objects.create(name=TICK, due_at=now)
                started = True
            except IntegrityError:  # another process made it just now, with its own tick
                started = False
        else:
            started = bool(WorkerTick.objects.filter(name=TICK, due_at=row.due_at).update(due_at=now))
        if started:
            _enqueue_tick(at=None)
    if started:
        log.info("tick: no tick chain was running, started one")
    return started


def results_poll_orphaned(*, now: datetime | None = None, client: ZegoClient | None = None) -> int:
    """Ask about the checks overdue by more than ORPHANED_AFTER (at most ORPHANS_PER_TICK, oldest first);
    return how many were asked. ``result_poll``'s claim keeps a check that is being asked elsewhere out."""
    overdue = (
        Task.objects.filter(next_check_at__lte=(now or timezone.now()) - ORPHANED_AFTER)
        .order_by("next_check_at")
        .values_list("pk", flat=True)[:ORPHANS_PER_TICK]
    )
    ids = list(overdue)
    if not ids:
        return 0
    client = client or default_client(max_wait=WORKER_MAX_WAIT)
    return sum(result_poll(task_id=pk, client=client, now=now) is not None for pk in ids)


def _claim_turn(name: str, *, now: datetime, every: timedelta) -> bool:
    """Take the turn of periodic job ``name`` if it is due: a conditional UPDATE, which only one of two
    callers can win (Healthchecks' sendalerts), or the INSERT of its first row."""
    claimed = WorkerTick.objects.filter(name=name, due_at__lte=now).update(
        due_at=now + every, last_started_at=now, runs=F("runs") + 1
    )
    if claimed:
        return True
    try:
        with transaction.atomic():
            WorkerTick.objects.create(name=name, due_at=now + every, last_started_at=now, runs=1)
    except IntegrityError:  # it exists, and is not due yet (or another caller has just made it)
        return False
    return True


def _enqueue_tick(*, at: datetime | None) -> None:
    from .. import tasks  # dashboard/tasks.py calls these services: imported when it is used

    job = tasks.tick.using(run_after=at) if at is not None else tasks.tick
    job.enqueue()


def _tidy_queue(now: datetime) -> int:
    """Keep django-tasks-db's table to a day of thumbs' finished tasks (a week of failed ones), and mark
    failed those left RUNNING by a worker that died, so that they do not read as running for ever."""
    from django.tasks import TaskResultStatus, task_backends
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(task_backends["default"], DatabaseBackend):
        return 0  # another backend keeps its own results
    from django_tasks_db.models import DBTaskResult

    from .. import tasks

    mine = DBTaskResult.objects.filter(
        task_path__in=[tasks.tick.module_path, tasks.poll_result.module_path, tasks.send_batch.module_path]
    )
    lost = (
        mine.running()
        .filter(started_at__lt=now - RUNNING_AT_MOST)
        .update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="dashboard.tasks.WorkerLost",
            traceback="The worker running this task stopped before it finished (killed, or its machine went down). "
            "What it was doing is done again by another worker: see dashboard/tasks.py.",
        )
    )
    deleted, _ = (
        mine.successful().filter(finished_at__lt=now - KEEP_SUCCESSFUL)
        | mine.failed().filter(finished_at__lt=now - KEEP_FAILED)
    ).delete()
    return lost + deleted
