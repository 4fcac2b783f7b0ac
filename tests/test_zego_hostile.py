"""A hostile or broken ZEGO: replies that drip, that never end, that inflate, that lie about success, that do
not fit a column or a log line, that echo the secret in disguise. thumbs stays bounded and records the truth."""

from __future__ import annotations

import functools
import json
import logging
import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import responses

from bench import hostile as hostile_server
from dashboard import services
from dashboard.models import State
from dashboard.zego import signing
from dashboard.zego.client import ZegoClient
from dashboard.zego.pacing import ProcessPacer
from dashboard.zego.types import (
    BODY_LIMIT,
    REQUEST_ID_MAX,
    VENDOR_TASK_ID_MAX,
    FailureKind,
    Mode,
    Outcome,
    ThumbnailRequest,
    Vendor,
    ZegoConfig,
)

SECRET = "5ec12e75ec12e75ec12e75ec12e7dead"
HUAWEI = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/record/a.mp4", interval=5)
TENCENT = ThumbnailRequest(
    vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="1", definition=10, time_points=(Decimal(1),)
)


def client_for(url: str, *, connect: float = 1.0, read: float = 1.0) -> ZegoClient:
    config = ZegoConfig(
        app_id=1, server_secret=SECRET, api_url=url, timeout_seconds=read, connect_timeout_seconds=connect
    )
    return ZegoClient(config, pacer=ProcessPacer())


# --- a raw server that misbehaves on purpose (bench/hostile.py's, shared with its benchmark) -----------


@pytest.fixture
def hostile() -> Iterator[Callable[[hostile_server.Behaviour], str]]:
    servers: list[socket.socket] = []

    def serve(behaviour: hostile_server.Behaviour) -> str:
        url, server = hostile_server.serve(behaviour)
        servers.append(server)
        return url

    yield serve
    for server in servers:
        server.close()


@functools.cache
def bomb() -> bytes:
    return hostile_server.gzip_of_text(100 * 1024 * 1024)  # 100 MiB of text, about 100 KB on the wire


drip_body = hostile_server.drip_body(0.1)
drip_headers = hostile_server.drip_headers(0.1)
huge_body = hostile_server.big_body(50 * 1024 * 1024)


def gzip_bomb(conn: socket.socket) -> None:
    hostile_server.gzip_bomb(bomb())(conn)


# --- 1. bounded in time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [drip_body, drip_headers], ids=["body", "headers"])
def test_a_dripping_reply_is_cut_off_at_the_total_deadline(hostile, behaviour):
    url = hostile(behaviour)
    began = time.monotonic()
    result = client_for(url, connect=0.5, read=1.0).media_thumbnails(HUAWEI)
    took = time.monotonic() - began

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.DEADLINE
    assert result.failure.may_have_reached is True
    assert "within 1.5 s" in result.failure.detail
    assert took < 20  # the drip goes on for a minute: the call did not wait for it


def test_the_deadline_is_well_inside_the_stale_sweeps_threshold(settings):
    # The sweep calls a "sending" attempt abandoned only when its call has certainly ended.
    config = ZegoConfig.from_settings()
    assert services.stale_after().total_seconds() >= config.deadline_seconds + 30


@pytest.mark.django_db
def test_a_hanging_call_ends_as_a_deadline_and_the_sweep_has_nothing_to_say(hostile, settings, operator):
    settings.ZEGO_API_URL = hostile(drip_body)
    settings.ZEGO_TIMEOUT_SECONDS, settings.ZEGO_CONNECT_TIMEOUT_SECONDS = 1.0, 0.5
    task = services.task_submit(user=operator, request=HUAWEI).task
    attempt = task.attempts.get()

    assert task.state == State.UNKNOWN
    assert attempt.transport_error == FailureKind.DEADLINE
    assert "did not finish its answer" in attempt.transport_detail
    assert services.attempts_expire_stale() == 0
    attempt.refresh_from_db()
    assert attempt.transport_error == FailureKind.DEADLINE  # not relabelled "abandoned"


# --- 2. bounded in size -------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [huge_body, gzip_bomb], ids=["50MB", "gzip-bomb"])
def test_a_huge_or_inflating_reply_is_read_only_up_to_the_cap(hostile, behaviour):
    url = hostile(behaviour)
    bomb()  # made before measuring: the server's 100 MiB of input is not the client's memory
    tracemalloc.start()
    try:
        result = client_for(url, read=10).media_thumbnails(HUAWEI)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.TOO_LARGE
    assert len(result.body) == BODY_LIMIT
    assert peak < 8 * 1024 * 1024, f"{peak / 1e6:.1f} MB held while reading"


# --- 3. only a 200 is a success ----------------------------------------------------------------------------


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


SUCCESS = '{"Code":0,"Message":"success","RequestId":"r1","Data":{"Huawei":{"task_id":"t1"}}}'


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_neither_followed_nor_a_success(rsps, status):
    rsps.add(responses.GET, "https://zego.test/", status=status, body=SUCCESS, headers={"Location": "https://x.test/"})
    rsps.add(responses.GET, "https://x.test/", body=SUCCESS)
    result = client_for("https://zego.test/").media_thumbnails(HUAWEI)

    assert len(rsps.calls) == 1
    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.HTTP_ERROR
    assert f"HTTP {status}: a redirect (to https://x.test/)" in result.failure.detail


@pytest.mark.parametrize("status", [201, 404, 500])
def test_a_success_body_under_another_status_is_not_a_success(rsps, status):
    rsps.add(responses.GET, "https://zego.test/", status=status, body=SUCCESS)
    result = client_for("https://zego.test/").media_thumbnails(HUAWEI)
    assert result.outcome is Outcome.UNKNOWN
    assert "only an HTTP 200" in result.failure.detail


def test_an_error_code_under_another_status_is_still_read(rsps):
    rsps.add(responses.GET, "https://zego.test/", status=403, body='{"Code":7,"Message":"auth"}')
    result = client_for("https://zego.test/").media_thumbnails(HUAWEI)
    assert (result.outcome, result.code) == (Outcome.FAILED, 7)


# --- 4. every field fits the database ---------------------------------------------------------------------


def test_an_out_of_range_code_is_recorded_as_what_it_is(rsps):
    rsps.add(responses.GET, "https://zego.test/", body=json.dumps({"Code": 2**70, "Message": "?"}))
    result = client_for("https://zego.test/").media_thumbnails(HUAWEI)
    assert result.outcome is Outcome.UNKNOWN and result.code is None
    assert result.failure.kind is FailureKind.BAD_SHAPE
    assert f"Code {2**70} is not a code ZEGO uses" in result.failure.detail


@pytest.mark.django_db(transaction=True)
def test_oversized_and_nul_fields_are_fitted_and_the_outcome_is_kept(rsps, settings, operator):
    settings.ZEGO_API_URL = "https://zego.test/"
    reply = {
        "Code": 0,
        "Message": "fine\x00 then",
        "RequestId": "R" * 60_000,
        "Data": {"Tencent": {"TaskId": "T" * 3_000, "RequestId": "V" * 500}},
    }
    rsps.add(responses.GET, "https://zego.test/", body=json.dumps(reply)[:BODY_LIMIT])
    # The RequestId alone fills the reply: make it fit the cap with the rest intact.
    reply["RequestId"] = "R" * 30_000
    rsps.replace(responses.GET, "https://zego.test/", body=json.dumps(reply))
    task = services.task_submit(user=operator, request=TENCENT).task
    attempt = task.attempts.get()

    assert task.state == State.SUCCEEDED
    assert attempt.request_id == "R" * REQUEST_ID_MAX == task.latest_request_id
    assert attempt.vendor_task_id == "T" * VENDOR_TASK_ID_MAX
    assert attempt.message == "fine then"
    assert "\x00" not in attempt.response_body and attempt.response_body.startswith('{"Code": 0')


@pytest.mark.django_db
def test_a_storage_error_keeps_the_outcome_without_the_texts(rsps, settings, operator, monkeypatch):
    from django.db import DataError
    from django.db.models import QuerySet

    settings.ZEGO_API_URL = "https://zego.test/"
    rsps.add(responses.GET, "https://zego.test/", body=SUCCESS)
    real_update = QuerySet.update
    refused = []

    def update_refusing_texts_once(self, **kwargs):
        if kwargs.get("request_id") and not refused:
            refused.append(True)
            raise DataError("value too long for type character varying(128)")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update_refusing_texts_once)
    task = services.task_submit(user=operator, request=HUAWEI).task
    attempt = task.attempts.get()

    assert refused
    assert task.state == State.SUCCEEDED and attempt.state == State.SUCCEEDED and attempt.code == 0
    assert "could not be stored in full (DataError)" in attempt.transport_detail
    assert attempt.request_id == ""


# --- 5. log lines cannot be forged ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_id_cannot_forge_or_flood_a_log_line(rsps, settings, operator, caplog):
    settings.ZEGO_API_URL = "https://zego.test/"
    forged = "r1\n2026-11-28 10:00:00 WARNING dashboard.services FORGED: admin password changed" + "x" * 100
    rsps.add(responses.GET, "https://zego.test/", body=json.dumps({"Code": 0, "RequestId": forged}))
    with caplog.at_level(logging.INFO):
        services.task_submit(user=operator, request=HUAWEI)

    lines = [r.getMessage() for r in caplog.records]
    assert any("request_id=r1\\n2026" in line for line in lines)
    assert all("\n" not in line and len(line) < 400 for line in lines)


# --- 6. the secret and the signature, however echoed ------------------------------------------------------


def _disguises(value: str) -> dict[str, str]:
    return {
        "upper": value.upper(),
        "json-escaped": "".join(f"\\u{ord(c):04x}" for c in value),
        "json-escaped-upper": "".join(f"\\u{ord(c):04X}" for c in value.upper()),
        "url-escaped": "".join(f"%{ord(c):02X}" for c in value),
        "mixed": "".join(
            c.upper() if i % 3 == 0 else f"\\u{ord(c):04x}" if i % 3 == 1 else c for i, c in enumerate(value)
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["secret", "signature"])
@pytest.mark.parametrize("form", ["upper", "json-escaped", "json-escaped-upper", "url-escaped", "mixed"])
def test_an_echo_in_disguise_never_reaches_the_database_or_the_page(
    rsps, settings, operator, operator_client, monkeypatch, which, form
):
    settings.ZEGO_API_URL = "https://zego.test/"
    settings.ZEGO_SERVER_SECRET = SECRET
    monkeypatch.setattr(signing, "new_nonce", lambda: "0123456789abcdef")
    monkeypatch.setattr(signing, "now_timestamp", lambda: 1700000000)
    signature = signing.request_signature(settings.ZEGO_APP_ID, "0123456789abcdef", SECRET, 1700000000)
    value = SECRET if which == "secret" else signature
    echo = _disguises(value)[form]
    body = '{"Code": 1000, "Message": "echo ' + echo + '", "RequestId": "' + echo + '"}'
    rsps.add(responses.GET, "https://zego.test/", body=body)
    task = services.task_submit(user=operator, request=HUAWEI).task
    attempt = task.attempts.get()
    page = operator_client.get(f"/tasks/{task.pk}/").content.decode()

    stored = " ".join([attempt.response_body, attempt.message, attempt.request_id, task.latest_message])
    for text in (stored, page):
        assert value not in text.lower() and echo not in text
        assert value.upper() not in text
    assert "[redacted]" in attempt.response_body and "[redacted]" in attempt.message
