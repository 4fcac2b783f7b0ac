"""The batch pages: every line checked before anything is queued, progress, cancel, the history filter."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dashboard.models import Batch, State, Task
from dashboard.services import batches

pytestmark = pytest.mark.django_db

TENCENT = {"vendor": "Tencent", "definition": "10", "time_points": "1, 2"}


def test_invalid_and_repeated_lines_are_listed_and_nothing_is_queued(operator_client):
    response = operator_client.post("/batches/new/time-points/", TENCENT | {"file_ids": "1\nabc\n1\n2"})
    html = response.content.decode()
    assert response.status_code == 200 and Batch.objects.count() == 0 and Task.objects.count() == 0
    assert "2 of 4 lines cannot be sent" in html
    assert "<td>2</td>" in html and "digits only" in html and "Repeats line 1." in html
    assert "1\nabc\n1\n2" in html  # what was pasted is kept


def test_sending_only_the_valid_lines_queues_them_and_shows_the_progress(operator_client):
    response = operator_client.post(
        "/batches/new/time-points/", TENCENT | {"file_ids": "1\nabc\n2", "send_valid_only": "on"}, follow=True
    )
    batch = Batch.objects.get()
    assert response.redirect_chain[-1][0] == f"/batches/{batch.pk}/"
    assert list(Task.objects.order_by("id").values_list("file_id", "state")) == [("1", "queued"), ("2", "queued")]
    html = response.content.decode()
    assert "0 of 2 done" in html and "2</strong> still to send" in html and 'hx-trigger="every 1s"' in html


def test_a_csv_upload_is_read(operator_client):
    upload = SimpleUploadedFile("ids.csv", b"\xef\xbb\xbfFileId,room\n/record/a.mp4,1\n/record/b.mp4,2\n")
    operator_client.post("/batches/new/interval/", {"vendor": "Huawei", "interval": "5", "upload": upload})
    assert list(Task.objects.order_by("id").values_list("file_id", flat=True)) == ["/record/a.mp4", "/record/b.mp4"]


def test_a_file_that_is_not_utf8_is_refused_with_a_reason(operator_client):
    upload = SimpleUploadedFile("ids.txt", "/录制/a.mp4\n".encode("gb18030"))
    html = operator_client.post("/batches/new/interval/", {"vendor": "Huawei", "interval": "5", "upload": upload})
    assert "not UTF-8 text" in html.content.decode() and Batch.objects.count() == 0


def test_the_same_batch_form_posted_twice_makes_one_batch(operator_client):
    token = "6b0f5a4e-3f0a-4d7e-9a55-7f7d3b0c1a11"
    for _ in range(2):
        operator_client.post("/batches/new/time-points/", TENCENT | {"file_ids": "1", "submission_token": token})
    assert Batch.objects.count() == 1 and Task.objects.count() == 1


def test_cancel_stops_the_rest_and_the_history_filters_by_batch(operator, operator_client, simulator):
    operator_client.post("/batches/new/time-points/", TENCENT | {"file_ids": "1\n2\n3"})
    batch = Batch.objects.get()
    batches.batch_send_next(batch_id=batch.pk)
    html = operator_client.post(f"/batches/{batch.pk}/cancel/", follow=True).content.decode()
    assert "2 tasks will not be sent" in html and "2</strong> cancelled, not sent" in html
    assert list(Task.objects.order_by("id").values_list("state", flat=True)) == [
        State.SUCCEEDED, State.CANCELLED, State.CANCELLED,
    ]  # fmt: skip
    Task.objects.create(vendor="Tencent", mode="time-points", file_id="outsider", created_by=operator)
    history = operator_client.get("/tasks/", {"batch": batch.pk}).content.decode()
    assert "outsider" not in history and "Cancelled" in history
    assert f"Batch submission #{batch.pk}" in operator_client.get("/batches/").content.decode()


def test_a_viewer_sees_batches_but_cannot_make_or_cancel_one(viewer_client, operator):
    batch = batches.batch_create(user=operator, template=_template(), file_ids=["1"])
    assert viewer_client.get(f"/batches/{batch.pk}/").status_code == 200
    assert viewer_client.post("/batches/new/time-points/", TENCENT | {"file_ids": "1"}).status_code == 403
    assert viewer_client.post(f"/batches/{batch.pk}/cancel/").status_code == 403
    assert "Cancel" not in viewer_client.get(f"/batches/{batch.pk}/").content.decode()


def _template():
    from decimal import Decimal

    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    return ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="", definition=10, time_points=(Decimal(1),)
    )
