"""`manage.py thumbnails batch | batch-status | retry --filter`: the batch page and bulk retry, for scripts."""

from __future__ import annotations

import json
import shlex
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard import services
from dashboard.models import Batch, Task
from dashboard.services import batches
from zego_simulator.scripted import FLAKY_FILE_ID

pytestmark = pytest.mark.django_db
TENCENT = "--user olga --mode time-points --vendor Tencent --definition 10 --time-points '1, 2'"


def run(command_line: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("thumbnails", *shlex.split(command_line), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def drain(batch: Batch) -> None:
    while batches.batch_send_next(batch_id=batch.pk):
        pass


def test_a_batch_from_a_file_is_queued_and_its_status_is_json(operator, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n2\n" + FLAKY_FILE_ID + "\n")
    out, _ = run(f"batch {TENCENT} --file-ids {ids} --no-wait")
    batch = Batch.objects.get()
    assert out.strip() == f"Batch {batch.pk}: 3 tasks queued."

    drain(batch)
    out, _ = run(f"batch-status {batch.pk} --wait --json")
    status = json.loads(out)
    assert status == {
        "batch": batch.pk, "kind": "submit", "total": 3, "succeeded": 2, "failed": 1, "unknown": 0,
        "pending": 0, "cancelled": 0, "skipped": 0, "attempts": 3,
    }  # fmt: skip


def test_invalid_lines_are_listed_and_nothing_is_queued_unless_skipped(operator, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("1\nabc\n1\n")
    with pytest.raises(CommandError) as excinfo:
        run(f"batch {TENCENT} --file-ids {ids} --no-wait")
    message = str(excinfo.value)
    assert "Nothing was queued" in message and "line 2: 'abc': A Tencent File ID is digits only" in message
    assert "line 3: '1': Repeats line 1." in message and Task.objects.count() == 0

    out, _ = run(f"batch {TENCENT} --file-ids {ids} --no-wait --skip-invalid")
    assert "1 tasks queued (2 invalid lines left out)." in out and Task.objects.count() == 1


def test_waiting_shows_a_progress_bar_and_a_summary(operator, tmp_path, monkeypatch):
    from dashboard.management import batch_cli

    ids = tmp_path / "ids.txt"
    ids.write_text("1\n2\n")
    # Stand in for a worker: each poll of the progress sends one item.
    real_progress = batches.batch_progress

    def progress_after_sending(batch, **kwargs):
        batches.batch_send_next(batch_id=batch.pk)
        return real_progress(batch, **kwargs)

    monkeypatch.setattr(batch_cli.batches, "batch_progress", progress_after_sending)
    monkeypatch.setattr(batch_cli, "POLL_SECONDS", 0)
    out, err = run(f"batch {TENCENT} --file-ids {ids}")
    assert "2 succeeded, 0 failed, 0 unknown, 0 cancelled, 0 skipped" in out
    assert "2/2" in err and "100%" in err  # tqdm's bar


def test_a_cancelled_batch_ends_with_a_non_zero_status(operator, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n2\n")
    run(f"batch {TENCENT} --file-ids {ids} --no-wait")
    batch = Batch.objects.get()
    batches.batch_cancel(batch=batch, user=operator)
    with pytest.raises(CommandError, match="was cancelled: 2 tasks were not sent") as excinfo:
        run(f"batch-status {batch.pk} --wait")
    assert excinfo.value.returncode == 1


def test_retry_by_filter_dry_run_then_yes(operator):
    from decimal import Decimal

    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    request = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id=FLAKY_FILE_ID, definition=10, time_points=(Decimal(1),)
    )
    services.task_submit(user=operator, request=request)
    out, _ = run("retry --filter 'state=failed' --user olga --dry-run")
    assert "1 tasks match; 1 would be retried." in out and Batch.objects.count() == 0
    with pytest.raises(CommandError, match="Add --yes"):
        run("retry --filter 'state=failed' --user olga")
    assert Batch.objects.count() == 0


def test_the_command_line_answers_bad_input(operator, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(f"batch {TENCENT} --file-ids {tmp_path / 'missing.txt'} --no-wait")
    (tmp_path / "gbk.txt").write_bytes("/录制/a.mp4".encode("gb18030"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        run(f"batch {TENCENT} --file-ids {tmp_path / 'gbk.txt'} --no-wait")
    with pytest.raises(CommandError, match="No batch #999"):
        run("batch-status 999")
    with pytest.raises(CommandError, match="--filter: until"):
        run("retry --filter 'until=9999-12-31' --user olga --dry-run")
    with pytest.raises(CommandError, match="Give the task id"):
        run("retry --user olga")
