"""Export: what the history's filters match, one row per attempt, as CSV: in the browser and on the command line."""

from __future__ import annotations

import csv
import io
import shlex
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard import services
from dashboard.models import Attempt, Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID

pytestmark = pytest.mark.django_db


def submit(operator, file_id: str, vendor=Vendor.TENCENT):
    request = ThumbnailRequest(
        vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10 if vendor is Vendor.TENCENT else None,
        time_points=(Decimal(1),),
    )  # fmt: skip
    return services.task_submit(user=operator, request=request).task


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_browser_gets_every_attempt_of_the_matching_tasks(operator, operator_client, settings):
    flaky = submit(operator, FLAKY_FILE_ID)
    services.task_retry(user=operator, task=flaky)
    submit(operator, "/record/a.mp4", vendor=Vendor.HUAWEI)
    response = operator_client.get("/tasks/export.csv", {"vendor": "Tencent"})

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="thumbs-history-')
    text = b"".join(response.streaming_content).decode()
    rows = rows_of(text)
    assert [(r["file_id"], r["attempt"], r["attempt_state"], r["code"]) for r in rows] == [
        (FLAKY_FILE_ID, "1", "Failed", "1000"), (FLAKY_FILE_ID, "2", "Accepted by ZEGO", "0"),
    ]  # fmt: skip
    first = rows[0]
    assert first["code_meaning"].startswith("Request failed") and first["submitted_by"] == "olga"
    assert first["request_id"] == flaky.attempts.get(number=1).request_id
    assert settings.ZEGO_SERVER_SECRET not in text and "Signature" not in text


def test_a_cell_a_spreadsheet_would_run_is_defused(operator, operator_client):
    submit(operator, "=HYPERLINK(1)", vendor=Vendor.HUAWEI)
    rows = rows_of(b"".join(operator_client.get("/tasks/export.csv").streaming_content).decode())
    assert rows[0]["file_id"] == "'=HYPERLINK(1)"


def test_the_command_line_writes_the_same_to_a_file(operator, tmp_path):
    submit(operator, "1")
    target = tmp_path / "out.csv"
    err = StringIO()
    call_command("thumbnails", *shlex.split(f"export --filter 'state=succeeded' -o {target}"), stderr=err)
    rows = rows_of(target.read_text(encoding="utf-8"))
    assert len(rows) == 1 and rows[0]["state"] == "Accepted by ZEGO" and "1 attempts written" in err.getvalue()
    with pytest.raises(CommandError, match="--filter: until"):
        call_command("thumbnails", "export", "--filter", "until=9999-12-31")


def test_bad_filters_are_answered_and_viewers_may_export(viewer_client):
    assert viewer_client.get("/tasks/export.csv", {"since": "2026-13-01"}).status_code == 400
    assert viewer_client.get("/tasks/export.csv").status_code == 200


def test_times_are_utc_iso_8601_to_the_microsecond(operator, operator_client):
    # The database formats them (bench/README.md): the same text as Python's isoformat, on either database.
    on_the_second = datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)
    in_between = datetime(2026, 11, 27, 8, 30, 5, 120, tzinfo=UTC)
    task = submit(operator, "1")
    Task.objects.filter(pk=task.pk).update(created_at=on_the_second)
    Attempt.objects.filter(task=task).update(started_at=in_between)
    row = rows_of(b"".join(operator_client.get("/tasks/export.csv").streaming_content).decode())[0]
    assert (row["task_created_at"], row["attempt_started_at"]) == (
        "2026-11-27T08:30:05+00:00", "2026-11-27T08:30:05.000120+00:00",
    )  # fmt: skip


def test_a_long_export_comes_in_pieces_with_every_row(operator, tmp_path, monkeypatch):
    monkeypatch.setattr("dashboard.selectors_export.CHUNK", 2)
    for n in range(5):
        submit(operator, f"/record/{n}.mp4", vendor=Vendor.HUAWEI)
    target = tmp_path / "out.csv"
    err = StringIO()
    call_command("thumbnails", "export", "-o", str(target), stderr=err)
    rows = rows_of(target.read_text(encoding="utf-8"))
    assert [r["file_id"] for r in rows] == [f"/record/{n}.mp4" for n in range(5)]  # oldest task first
    assert "5 attempts written" in err.getvalue()
