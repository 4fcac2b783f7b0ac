"""Batches sent by real worker processes: one killed with SIGKILL in the middle of a batch, the next one
carries on; every item ends succeeded, failed or unknown, nothing is sent twice, nothing is sent unrecorded."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from django.conf import settings

from tests.test_worker import PRELUDE, Site, stop  # noqa: F401 -- PRELUDE documents what the snippets see
from zego_simulator import ZegoSimulator
from zego_simulator.scripted import HTTP_500_FILE_ID, MISSING_FILE_ID

ITEMS = 60

QUEUE = """
from dashboard.services import batches
user, _ = User.objects.get_or_create(username="batch-test")
ids = [f"/record/batch/{{n:03}}.mp4" for n in range({count})] + {extra!r}
template = ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "", interval=5)
print(json.dumps(batches.batch_create(user=user, template=template, file_ids=ids).pk))
"""

OUTCOME = """
from collections import Counter
from datetime import timedelta
from dashboard.models import Attempt, BatchItem
from dashboard.services import batches
services.attempts_expire_stale(now=timezone.now() + timedelta(hours=1))  # an attempt killed in flight
items = BatchItem.objects.filter(batch_id={batch}).select_related("task", "attempt")
attempts = Attempt.objects.filter(task__batch_items__batch_id={batch})
print(json.dumps({{
    "items": Counter(i.status for i in items),
    "states": Counter(i.task.state for i in items),
    "codes": Counter(str(i.task.latest_code) for i in items),
    "first_reasons": Counter(a.reason for a in attempts.filter(number=1)),
    "later_reasons": Counter(a.reason for a in attempts.filter(number__gt=1)),
    "abandoned": [i.task.file_id for i in items if i.attempt and i.attempt.transport_error == "abandoned"],
    "attempted": Counter(a.task.file_id for a in attempts.select_related("task")),
}}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_batch_survives_a_worker_killed_mid_batch(tmp_path):
    with ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, quiet=True) as sim:
        site = Site(tmp_path)
        faults = [MISSING_FILE_ID, HTTP_500_FILE_ID]
        batch = site.python(QUEUE.format(count=ITEMS, extra=faults), zego_port=sim.port)

        first = site.worker(sim.port)
        try:
            deadline = time.monotonic() + 90
            while len(sim.tasks) < 15 and time.monotonic() < deadline and first.poll() is None:
                time.sleep(0.02)
            assert len(sim.tasks) >= 15, stop(first)
            first.send_signal(signal.SIGKILL)  # in the middle of the batch
            assert first.wait(30) == -signal.SIGKILL
        finally:
            stop(first)
        at_kill = len(sim.tasks)
        assert at_kill < ITEMS  # the kill did come mid-batch

        second = site.worker(sim.port, "--batch")
        output = second.communicate(timeout=180)[0]
        assert second.returncode == 0, output
        received = Counter(t.file_id for t in sim.tasks)

    outcome = site.python(OUTCOME.format(batch=batch))
    total = ITEMS + len(faults)
    assert outcome["items"] == {"sent": total}  # every item was claimed once and sent
    states = outcome["states"]
    assert sum(states.values()) == total and set(states) <= {"succeeded", "failed", "unknown"}
    assert states["failed"] == 1, outcome["codes"]  # 999041003: ZEGO answers a permanent code
    # unknown: the HTTP 500, and at most the one attempt that was in flight when the worker was killed
    assert states.get("unknown", 0) - 1 == len(outcome["abandoned"]) <= 1
    # Each item was sent once for the batch; any later attempt is an automatic retry of a transient failure,
    # recorded as such: nothing is sent twice silently.
    assert outcome["first_reasons"] == {"batch": total}
    assert set(outcome["later_reasons"]) <= {"auto"}
    # Every request ZEGO received has its attempt written (ZEGO may have missed an attempt killed in flight).
    assert all(received[file_id] <= outcome["attempted"].get(file_id, 0) for file_id in received)


CHECKED = """
from dashboard.models import BatchItem, ResultCheck
sent = BatchItem.objects.filter(batch_id={batch}).order_by("sent_at").values_list("sent_at", flat=True)
first, last = sent.first(), sent.last()
asked = ResultCheck.objects.filter(task__batch_items__batch_id={batch}).values_list("at", flat=True)
print(json.dumps({{"while_sending": sum(first <= at <= last for at in asked), "asked": len(asked)}}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_sending_a_batch_asks_about_the_results_as_their_checks_fall_due(tmp_path):
    # A turn holds its worker for the whole batch here (150 items take 8 s at ZEGO's pace); the first
    # checks fall due 3 s after their item was accepted, and are asked then, not after the last item.
    with ZegoSimulator(settings.SIMULATOR_APP_ID, settings.SIMULATOR_SERVER_SECRET, quiet=True) as sim:
        site = Site(tmp_path)
        batch = site.python(QUEUE.format(count=150, extra=[]), zego_port=sim.port)
        worker = site.worker(sim.port, "--batch")
        output = worker.communicate(timeout=180)[0]
        assert worker.returncode == 0, output
    checked = site.python(CHECKED.format(batch=batch))
    assert checked["while_sending"] > 0, checked
