"""POST /zego/callback through the real test client, and the refused list in the console."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dashboard.models import Attempt, CallbackReceipt, RefusedCallback, Result, ResultCheck, Screenshot, State, Task
from dashboard.services import callbacks as callback_service
from dashboard.services.results import result_fields_on_acceptance
from dashboard.zego.callbacks import MAX_BODY_BYTES
from dashboard.zego.signing import callback_signature

pytestmark = pytest.mark.django_db

SECRET = "cb-test-secret-7f3a"
TENCENT_TASK_ID = "1500030200-procedurev2-0123456789abcdef0123456789abcdeftt0"
HUAWEI_TASK_ID = "0123456789abcdef0123456789abcdef"
URL = "/zego/callback"
PICTURES = [
    {"url": "https://vod.example.com/snap/1.jpg", "offset": 1000},
    {"url": "https://vod.example.com/snap/2.jpg", "offset": 2500},
]


@pytest.fixture(autouse=True)
def _callback_secret(settings):
    settings.ZEGO_CALLBACK_SECRET = SECRET


def accepted_task(user, *, vendor: str = "Tencent", vendor_task_id: str = TENCENT_TASK_ID) -> Task:
    """A task ZEGO accepted, waiting for its result, as task_submit leaves it."""
    now = timezone.now()
    task = Task.objects.create(
        vendor=vendor,
        mode=Task.Mode.TIME_POINTS,
        file_id="1397757897438985100" if vendor == "Tencent" else "/record/a.mp4",
        definition=10 if vendor == "Tencent" else None,
        time_points=["1", "2.5"],
        created_by=user,
        state=State.SUCCEEDED,
        state_changed_at=now,
        attempt_count=1,
        latest_code=0,
        vendor_task_id=vendor_task_id,
        **result_fields_on_acceptance(now),
    )
    Attempt.objects.create(
        task=task,
        number=1,
        reason="submit",
        created_by=user,
        nonce="0" * 16,
        timestamp=int(now.timestamp()),
        state=State.SUCCEEDED,
        code=0,
        vendor_task_id=vendor_task_id,
    )
    return task


@pytest.fixture
def tencent_task(operator) -> Task:
    return accepted_task(operator)


def callback(
    *,
    task_id: str = TENCENT_TASK_ID,
    vendor: str = "tencent",
    pictures: object = PICTURES,
    timestamp: int | str | None = None,
    nonce: str = "158243",
    secret: str = SECRET,
    **overrides: object,
) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    data = {
        "appid": "1000001",
        "event": "snapshot",
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": callback_signature(secret, str(timestamp), nonce),
        "task_id": task_id,
        "vendor": vendor,
        "snapshot_pic_list": pictures if isinstance(pictures, str) else json.dumps(pictures),
    }
    if vendor == "tencent":
        data["field_id"] = "1397757897438985100"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def encoded(data: dict) -> bytes:
    """As ZEGO sends it: the JSON, URL-encoded as a whole."""
    return quote_plus(json.dumps(data)).encode()


def post(client: Client, body: bytes, **extra: str):
    return client.post(URL, body, content_type="application/x-www-form-urlencoded", **extra)


# --- recorded ---------------------------------------------------------------------------------------------


def test_it_records_tencent_screenshots_on_the_task_as_finished(client, tencent_task):
    response = post(client, encoded(callback()))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert f"task #{tencent_task.pk}" in response.content.decode()
    tencent_task.refresh_from_db()
    assert tencent_task.result == Result.FINISHED and tencent_task.result_status == "FINISH"
    assert tencent_task.next_check_at is None and tencent_task.screenshot_count == 2
    check = ResultCheck.objects.get(task=tencent_task)
    assert check.source == ResultCheck.Source.CALLBACK and check.status == "FINISH"
    assert "vod.example.com/snap/1.jpg" in check.response_body and "[redacted]" in check.response_body
    shots = list(Screenshot.objects.filter(task=tencent_task).values_list("url", "offset_ms", "source"))
    assert shots == [
        ("https://vod.example.com/snap/1.jpg", 1000, "callback"),
        ("https://vod.example.com/snap/2.jpg", 2500, "callback"),
    ]
    assert not RefusedCallback.objects.exists()


def test_it_records_huawei_object_paths_as_file_names_as_succeeded(client, operator):
    task = accepted_task(operator, vendor="Huawei", vendor_task_id=HUAWEI_TASK_ID)
    pictures = [{"url": f"snapshots/{HUAWEI_TASK_ID}/{n}.png"} for n in (1, 2, 3)]

    response = post(client, encoded(callback(task_id=HUAWEI_TASK_ID, vendor="hw", pictures=pictures)))

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.result == Result.FINISHED and task.result_status == "SUCCEEDED" and task.screenshot_count == 3
    assert list(Screenshot.objects.filter(task=task).values_list("url", "file_name", "offset_ms")) == [
        ("", f"snapshots/{HUAWEI_TASK_ID}/{n}.png", None) for n in (1, 2, 3)
    ]


def test_a_tencent_task_id_sent_for_huawei_matches_no_task(client, tencent_task):
    response = post(client, encoded(callback(vendor="hw")))
    assert response.status_code == 200
    assert RefusedCallback.objects.get().reason == RefusedCallback.Reason.UNKNOWN_TASK
    assert not ResultCheck.objects.exists()


@pytest.mark.parametrize("timestamp_as", [int, str], ids=["number", "string"])
@pytest.mark.parametrize("as_plain_json", [False, True], ids=["url-encoded", "plain-json"])
def test_it_accepts_plain_json_and_a_timestamp_as_number_or_string(client, tencent_task, timestamp_as, as_plain_json):
    data = callback(timestamp=timestamp_as(int(time.time())))
    body = json.dumps(data).encode() if as_plain_json else encoded(data)
    content_type = "application/json" if as_plain_json else "application/x-www-form-urlencoded"

    assert client.post(URL, body, content_type=content_type).status_code == 200
    assert Screenshot.objects.filter(task=tencent_task).count() == 2


def test_zegos_official_vector_is_accepted_at_its_own_time(client, tencent_task, settings, monkeypatch):
    settings.ZEGO_CALLBACK_SECRET = "secret"
    data = callback(timestamp="1470820198", nonce="123412", secret="secret")
    assert data["signature"] == "5bd59fd62953a8059fb7eaba95720f66d19e4517"

    # At the real time, ten years later: stale.
    assert post(client, encoded(data)).status_code == 403
    assert RefusedCallback.objects.get().reason == RefusedCallback.Reason.STALE
    at_the_time = datetime.fromtimestamp(1470820198 + 30, UTC)
    monkeypatch.setattr(callback_service.timezone, "now", lambda: at_the_time)
    assert post(client, encoded(data)).status_code == 200
    assert Screenshot.objects.filter(task=tencent_task).count() == 2


def test_a_callback_after_polling_found_the_same_screenshots_adds_none(client, tencent_task):
    from dashboard.services.results import Shot, result_record

    result_record(
        task=tencent_task,
        source=ResultCheck.Source.POLL,
        status="FINISH",
        shots=[Shot(url=p["url"]) for p in PICTURES],
    )
    assert post(client, encoded(callback())).status_code == 200
    tencent_task.refresh_from_db()
    assert tencent_task.screenshot_count == 2 and Screenshot.objects.filter(task=tencent_task).count() == 2
    assert ResultCheck.objects.filter(task=tencent_task, source=ResultCheck.Source.CALLBACK).count() == 1


# --- delivered twice ---------------------------------------------------------------------------------


def test_the_same_callback_delivered_again_is_answered_2xx_and_changes_nothing(client, tencent_task, caplog):
    body = encoded(callback())
    assert post(client, body).status_code == 200
    tencent_task.refresh_from_db()
    before = (tencent_task.result_checks, tencent_task.result_checked_at, tencent_task.screenshot_count)

    caplog.set_level(logging.INFO, logger="dashboard.callbacks")
    again = post(client, body)

    assert again.status_code == 200 and "nothing changed" in again.content.decode()
    tencent_task.refresh_from_db()
    assert (tencent_task.result_checks, tencent_task.result_checked_at, tencent_task.screenshot_count) == before
    assert ResultCheck.objects.filter(task=tencent_task).count() == 1
    assert Screenshot.objects.filter(task=tencent_task).count() == 2
    assert CallbackReceipt.objects.count() == 1 and not RefusedCallback.objects.exists()
    assert any("delivered again" in r.getMessage() for r in caplog.records)


def test_the_same_news_signed_afresh_is_a_duplicate_too(client, tencent_task):
    assert post(client, encoded(callback(nonce="111111"))).status_code == 200
    assert post(client, encoded(callback(nonce="222222"))).status_code == 200
    assert ResultCheck.objects.filter(task=tencent_task).count() == 1


def test_a_signature_reused_on_other_news_is_refused(client, tencent_task):
    first = callback()
    assert post(client, encoded(first)).status_code == 200
    forged = first | {"snapshot_pic_list": json.dumps([{"url": "https://evil.example/x.jpg", "offset": 0}])}

    response = post(client, encoded(forged))

    assert response.status_code == 403 and "already used" in response.content.decode()
    assert RefusedCallback.objects.get().reason == RefusedCallback.Reason.SIGNATURE_REUSED
    assert not Screenshot.objects.filter(url__contains="evil").exists()


def test_a_callback_for_a_task_thumbs_never_made_is_answered_2xx_and_listed(client, viewer_client, caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.callbacks")

    response = post(client, encoded(callback(task_id="1500030200-procedurev2-nobodysTaskTT0")))

    assert response.status_code == 200 and "No task" in response.content.decode()
    refused = RefusedCallback.objects.get()
    assert refused.reason == RefusedCallback.Reason.UNKNOWN_TASK and refused.http_status == 200
    assert refused.zego_task_id == "1500030200-procedurev2-nobodysTaskTT0" and refused.vendor == "Tencent"
    assert refused.remote_address == "127.0.0.1"
    assert not ResultCheck.objects.exists()
    assert any("unknown-task" in r.getMessage() for r in caplog.records)
    page = viewer_client.get("/callbacks/").content.decode()
    assert "Unknown task" in page and "1500030200-procedurev2-nobodysTaskTT0" in page


# --- refused ------------------------------------------------------------------------------------------


REFUSALS = {
    "bad-signature": (lambda: encoded(callback(secret="not-the-secret")), 403, "bad-signature"),
    "stale": (lambda: encoded(callback(timestamp=int(time.time()) - 660)), 403, "stale"),
    "from-the-future": (lambda: encoded(callback(timestamp=int(time.time()) + 660)), 403, "stale"),
    "not-json": (lambda: b"event=snapshot&task_id=1", 400, "not-json"),
    "json-array": (lambda: b"[]", 400, "not-json"),
    "bad-pic-list": (lambda: encoded(callback(pictures="[{'url': 'x'}]")), 400, "bad-picture-list"),
    "pic-list-not-array": (lambda: encoded(callback(pictures='{"url": "https://a/1.jpg"}')), 400, "bad-picture-list"),
    "empty": (lambda: b"", 400, "empty"),
    "oversized": (lambda: b"%20" * (MAX_BODY_BYTES // 3 + 1), 413, "oversized"),
    "no-task-id": (lambda: encoded(callback(task_id=None)), 400, "missing-field"),
    "no-vendor": (lambda: encoded(callback(vendor=None)), 400, "missing-field"),
    "no-pic-list": (lambda: encoded(callback(snapshot_pic_list=None)), 400, "missing-field"),
    "no-signature": (lambda: encoded(callback(signature=None)), 400, "missing-field"),
    "no-timestamp": (lambda: encoded(callback(timestamp="")), 400, "missing-field"),
    "no-nonce": (lambda: encoded(callback(nonce="")), 400, "missing-field"),
    "other-event": (lambda: encoded(callback(event="stream_create")), 400, "bad-field"),
    "other-vendor": (lambda: encoded(callback(vendor="aliyun")), 400, "bad-field"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_callback_is_refused_with_a_4xx_a_log_line_and_a_row(client, tencent_task, caplog, case):
    make_body, status, reason = REFUSALS[case]
    caplog.set_level(logging.WARNING, logger="dashboard.callbacks")

    response = post(client, make_body())

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/plain") and 0 < len(response.content) < 200
    refused = RefusedCallback.objects.get()
    assert (refused.reason, refused.http_status, refused.message) == (
        reason,
        status,
        response.content.decode().strip(),
    )
    assert [r for r in caplog.records if r.name == "dashboard.callbacks" and f"({reason})" in r.getMessage()]
    assert not ResultCheck.objects.exists() and not Screenshot.objects.exists()


def test_only_a_fresh_correctly_signed_refusal_enters_the_audit_trail(client, tencent_task, viewer):
    from dashboard.models import AuditEntry

    post(client, encoded(callback(task_id="1500030200-procedurev2-nobodysTaskTT0")))  # unknown task
    post(client, encoded(callback(pictures="[{oops")))  # bad list, signed right
    post(client, encoded(callback(secret="wrong")))  # anyone could send these: the refused list only
    post(client, b"junk")
    post(client, encoded(callback(timestamp=int(time.time()) - 3600)))

    entries = AuditEntry.objects.filter(action=AuditEntry.Action.CALLBACK_REFUSED)
    assert [(e.details["reason"], e.actor_name) for e in entries] == [
        ("bad-picture-list", "ZEGO"),
        ("unknown-task", "ZEGO"),
    ]
    assert entries[1].details["task_id"] == "1500030200-procedurev2-nobodysTaskTT0"
    assert entries[1].remote_addr == "127.0.0.1" and "unknown task" in entries[1].summary
    assert RefusedCallback.objects.count() == 5
    reader = Client()
    reader.force_login(viewer)
    assert "Snapshot callback not recorded" in reader.get("/audit/").content.decode()


def test_without_a_callback_secret_everything_is_refused(client, tencent_task, settings, caplog):
    settings.ZEGO_CALLBACK_SECRET = ""
    caplog.set_level(logging.WARNING, logger="dashboard.callbacks")

    response = post(client, encoded(callback()))

    assert response.status_code == 403 and "ZEGO_CALLBACK_SECRET is not set" in response.content.decode()
    assert RefusedCallback.objects.get().reason == RefusedCallback.Reason.NO_SECRET
    assert any("(no-secret)" in r.getMessage() for r in caplog.records)
    assert not ResultCheck.objects.exists()


def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body(client, tencent_task, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr("django.core.handlers.wsgi.WSGIRequest.read", never)
    response = post(client, b"{}", CONTENT_LENGTH=str(10 * 1024**3))

    assert response.status_code == 413
    assert RefusedCallback.objects.get().reason == RefusedCallback.Reason.OVERSIZED


def test_the_body_is_read_at_most_to_the_cap_plus_one_byte(client, tencent_task, monkeypatch):
    from django.core.handlers.wsgi import WSGIRequest

    sizes: list[int] = []
    read = WSGIRequest.read

    def counting(self, size=-1, *args):
        sizes.append(size)
        return read(self, size, *args)

    monkeypatch.setattr(WSGIRequest, "read", counting)
    assert post(client, encoded(callback())).status_code == 200
    assert sizes == [MAX_BODY_BYTES + 1]


def test_it_needs_no_login_and_no_csrf_token_and_takes_only_post(tencent_task):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, encoded(callback())).status_code == 200
    for method in (strict.get, strict.put, strict.delete):
        response = method(URL)
        assert response.status_code == 405 and "POST" in response["Allow"]
    assert strict.post(URL + "/", encoded(callback(nonce="999999")), content_type="text/plain").status_code == 200


def fuzz_bodies() -> list[bytes]:
    rng = random.Random(8)
    base = callback()  # signed and fresh: the hostile values reach every check, not only the signature
    bodies = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(30)]
    hostile_values: list[object] = [
        None,
        True,
        0,
        -1,
        1.5,
        1e308,
        "",
        " ",
        "\x00",
        "\u202e",
        "😀" * 50,
        [],
        {},
        [1],
        {"a": 1},
        "9" * 400,
        "%",
        "%%",
    ]
    for key in [*base, "extra"]:
        for value in hostile_values:
            bodies.append(json.dumps(base | {key: value}).encode())
    for pictures in [
        "[null]",
        '[{"url": null}]',
        '[{"url": "https://a/1", "offset": {}}]',
        "[[[]]]",
        "1",
        "null",
        '"x"',
    ]:
        bodies.append(encoded(base | {"snapshot_pic_list": pictures}))
    bodies += [b"%", b"%ZZ", b"%7B", b"+", b"{" * 10, b"\x00" * 10, '{"é": 1}'.encode("latin-1"), b"%FF%FE"]
    return bodies


def test_fuzzed_bodies_are_answered_2xx_or_4xx_never_500(client, tencent_task):
    client.raise_request_exception = True  # a 500 would raise here
    statuses = [post(client, body).status_code for body in fuzz_bodies()]
    assert {200, 400, 403} <= set(statuses) and all(200 <= s < 500 for s in statuses), set(statuses)
    assert RefusedCallback.objects.exclude(http_status=200).count() == sum(s >= 400 for s in statuses)


def test_the_refused_list_keeps_the_newest_rows(client, monkeypatch):
    monkeypatch.setattr(callback_service, "KEEP_REFUSED", 3)
    for n in range(5):
        post(client, f"not json {n}".encode())
    assert [r.body_excerpt for r in RefusedCallback.objects.all()] == ["not json 4", "not json 3", "not json 2"]


# --- the list in the console ---------------------------------------------------------------------------


def test_the_refused_list_is_for_readers_and_linked_from_the_nav(viewer, operator):
    anonymous = Client()
    post(anonymous, encoded(callback(secret="wrong")))
    assert anonymous.get("/callbacks/").status_code == 302  # to the login page

    for user in (viewer, operator):
        reader = Client()
        reader.force_login(user)
        page = reader.get("/callbacks/").content.decode()
        assert 'href="/callbacks/"' in page and "Bad signature" in page and "403" in page
        assert TENCENT_TASK_ID in page and "[redacted]" in page
    assert reader.head("/callbacks/").status_code == 200


def test_the_refused_list_pages_and_says_when_it_is_empty(viewer_client):
    assert "No callback has been refused" in viewer_client.get("/callbacks/").content.decode()
    RefusedCallback.objects.bulk_create(
        RefusedCallback(reason=RefusedCallback.Reason.EMPTY, http_status=400, message=f"row {n}") for n in range(60)
    )
    first = viewer_client.get("/callbacks/").content.decode()
    assert "row 59" in first and "row 9" not in first and "page=2" in first
    assert "row 0" in viewer_client.get("/callbacks/?page=2").content.decode()
    assert viewer_client.get("/callbacks/?page=zz").status_code == 200


def test_a_user_without_a_role_cannot_read_the_list(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x" * 20))
    assert client.get("/callbacks/").status_code == 403


# --- the system check ---------------------------------------------------------------------------------


def test_the_system_check_warns_until_a_callback_secret_is_set(settings, capsys):
    settings.ZEGO_CALLBACK_SECRET = ""
    call_command("check")
    assert "ZEGO_CALLBACK_SECRET is not set" in capsys.readouterr().err

    settings.ZEGO_CALLBACK_SECRET = SECRET
    call_command("check")
    assert "ZEGO_CALLBACK_SECRET" not in capsys.readouterr().err


# --- the callback secret and the signatures stay out of the database, logs, pages and error reports -------


def everything_stored() -> str:
    from django.db import connection

    dumps = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 -- the DB's own names
            dumps.append(repr(cursor.fetchall()))
    return "\n".join(dumps)


def error_report(view, body: bytes) -> str:
    """Django's error report (HTML and text) of the exception ``view`` raises on ``body``; the traceback
    starts in this frame, which holds nothing but the request."""
    import sys

    from django.test import RequestFactory
    from django.views.debug import ExceptionReporter

    request = RequestFactory().post(URL, body, content_type="application/x-www-form-urlencoded")
    del body
    try:
        view(request)
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        return reporter.get_traceback_html() + reporter.get_traceback_text()
    pytest.fail("the view should have raised")


def test_the_callback_secret_and_signatures_reach_no_table_log_page_or_error_report(
    tencent_task, viewer, caplog, capsys, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    anonymous = Client()
    now = int(time.time())
    sent = [
        callback(nonce="100001"),  # recorded
        callback(nonce="100001"),  # the same again
        callback(nonce="100002"),  # the same news signed afresh
        callback(nonce="100003", task_id="1500030200-procedurev2-unknownTT0", field_id=SECRET),  # unknown task
        callback(nonce="100004", timestamp=now - 3600, field_id=SECRET.upper()),  # stale, yet signed right
        callback(nonce="100005", pictures="[{not json " + SECRET),  # a bad list, signed right
    ]
    bodies = [encoded(data) for data in sent] + [json.dumps(data).encode() for data in sent[3:]]
    wrong = callback(nonce="100006", secret="wrong", task_id=SECRET, vendor=SECRET)
    signatures = {data["signature"] for data in [*sent, wrong]}
    bodies += [
        encoded(wrong),
        f"signature={sent[0]['signature']}&secret={quote_plus(SECRET)}".encode(),  # not JSON
        b"{" + json.dumps(sent[0]).encode(),  # not JSON, the signature inside
    ]
    for body in bodies:
        assert post(anonymous, body).status_code < 500

    # An unexpected error while recording: the report lists every frame's variables.
    from dashboard.views.callbacks import zego_callback

    def explode(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(callback_service, "result_record", explode)
    last = callback(nonce="100007", pictures=[{"url": "https://vod.example.com/other.jpg"}])
    signatures.add(last["signature"])
    reports = error_report(zego_callback, encoded(last))
    assert "database on fire" in reports and "callback_receive" in reports
    assert re.search(r"<td>body</td>\s*<td class=\"code\"><pre>&#x27;\*+&#x27;</pre></td>", reports)

    reader = Client()
    reader.force_login(viewer)
    pages = "".join(
        reader.get(url).content.decode() for url in ("/", "/tasks/", f"/tasks/{tencent_task.pk}/", "/callbacks/")
    )
    out = capsys.readouterr()
    places = {
        "database": everything_stored(),
        "log": "\n".join(r.getMessage() for r in caplog.records),
        "pages": pages,
        "stdout/stderr": out.out + out.err,
        "error report": reports,
    }
    assert RefusedCallback.objects.count() >= 6 and Screenshot.objects.filter(task=tencent_task).count() == 2
    for where, text in places.items():
        folded = text.lower()
        assert SECRET.lower() not in folded, where
        assert quote_plus(SECRET).lower() not in folded, where
        for signature in signatures:
            assert signature not in folded, where
