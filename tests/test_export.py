"""Export: what the history's filters match, one row per attempt, as CSV: in the browser and on the command line."""

from __future__ import annotations

import csv
import io
import shlex
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard import services
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
