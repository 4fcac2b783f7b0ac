"""The worker's tasks (Django's ``django.tasks``; each calls one service). Workers are ``manage.py
db_worker`` processes (django-tasks-db): any number, on any machine with the same DATABASE_URL.

What the worker does, and why nothing is lost when one is killed:

- ``poll_result(task_id)`` asks DescribeMediaTask about one task whose result check is due, and records
  the answer (``services.result_poll``). The first is queued when ZEGO accepts the task, for three seconds
  later; each answer that is not final queues the next, at the task's ``next_check_at`` (pauses of 3 s
  growing to 5 min), in the same transaction that stores the answer. A final result, or a task flagged
  *stuck* (``THUMBS_RESULT_STUCK_AFTER_SECONDS`` after acceptance), queues nothing more.
- The truth about what is due is ``Task.next_check_at``, not the queue: a check is claimed by a
  conditional UPDATE of that column before the call (two workers with the same check: one asks, the
  other finds nothing to do), and the claim moves ``next_check_at`` forward by ``poll_lease()``. A worker
  killed during the call leaves the task due again once the lease has passed; the tick below asks it then.
- ``tick()`` runs every 10 s (``services.worker_tick``): it marks attempts left *sending* by a dead process
  *unknown*, asks about checks overdue by more than 20 s (their queued task was lost with its worker), and
  once an hour prunes this app's finished entries from the queue table. It queues its own successor
  before working, in the transaction that claims its turn, so one chain runs and a kill does not end it;
  each worker at start-up and each check restart the chain if it stalled (see services/worker.py).
- ``send_batch(batch_id)`` is one turn at sending a batch (``services.batch_send_turn``): items one after
  another for 10 s, then the next turn is queued. While it sends, a second thread of the same worker
  answers the checks that fall due, as ``poll_result`` would (which then finds nothing to do).

Order in the queue: turns and ticks before checks (``URGENT``). A worker reads the highest priority first,
then the earliest ``run_after``; a check is queued for a set time, so without the priority every check
queued while a batch was sending would come before the batch's next turn, and each worker would stop
sending for as long as it had sent (the batch at half pace). Checks lose nothing by it: the turns answer
them meanwhile, and they are first again once the batch is sent.

django-tasks-db leaves a task whose worker was killed RUNNING and never runs it again: thumbs does not
rely on it (the tidying marks such entries failed with ``WorkerLost`` after an hour).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.tasks import task

from . import services
from .errors import scrub_secrets

log = logging.getLogger("dashboard.worker")

URGENT = 10  # django.tasks priorities run from -100 to 100; the default is 0


class WorkerLost(Exception):
    """Recorded on a queue entry whose worker stopped before it finished (services/worker.py)."""


class TaskFailed(Exception):
    """What a task that failed leaves in the queue table: the error's type and message, secrets masked."""


@task
def poll_result(task_id: int) -> str | None:
    """Ask about one task's result if its check is due; return the provider's status, or None (not asked)."""
    with _failures_stored_without_secrets("poll_result"):
        check = services.result_poll(task_id=task_id)
        services.worker_tick_ensure()
    return None if check is None else check.status


@task(priority=URGENT)
def tick() -> dict[str, int] | None:
    """The periodic work; None when another tick had the turn."""
    with _failures_stored_without_secrets("tick"):
        return services.worker_tick()


@task(priority=URGENT)
def send_batch(batch_id: int) -> int:
    """One turn at sending a batch (services.batch_send_turn); returns how many items it sent."""
    with _failures_stored_without_secrets("send_batch"):
        return services.batch_send_turn(batch_id=batch_id, answer_checks=True)


@contextmanager
def _failures_stored_without_secrets(name: str) -> Iterator[None]:
    """django-tasks-db stores a failed task's traceback in the database as it is. The client never raises,
    but should anything else fail with ZEGO's URL in its message, the full traceback goes to the log (whose
    formatter masks the secret and Signature) and the database gets only the masked message."""
    try:
        yield
    except Exception as exc:
        log.exception("task %s failed", name)
        raise TaskFailed(scrub_secrets(f"{type(exc).__name__}: {exc}")) from None
