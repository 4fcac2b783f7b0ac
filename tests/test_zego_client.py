"""The ZEGO server-API client (dashboard/zego/client.py), mocked at the HTTP boundary with ``responses``.

Every test builds its own ``ZegoClient`` with a pacer of its own, in memory, so tests neither wait for nor
disturb each other; pacing itself is tested in test_pacing.py.
"""

import hashlib
import json
import logging
import socket
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import responses
from responses import matchers

from dashboard.zego import signing
from dashboard.zego.client import BODY_LIMIT, ZegoClient
from dashboard.zego.codes import RetryClass
from dashboard.zego.pacing import ProcessPacer
from dashboard.zego.types import (
    CallResult,
    FailureKind,
    MediaTaskStatus,
    Mode,
    Outcome,
    PreparedCall,
    ThumbnailRequest,
    TransportFailure,
    Vendor,
    ZegoConfig,
    format_number,
)

API_URL = "https://rtc-api.zego.im/"
APP_ID = 1234567890
# Distinctive: appears nowhere else, so finding it anywhere means it leaked.
SECRET = "5ec12e75ec12e75ec12e75ec12e7dead"

OFFICIAL_APP_ID = 12345
OFFICIAL_NONCE = "4fd24687296dd9f3"
OFFICIAL_SECRET = "9193cc662a4c0ec135ec71fb57194b38"
OFFICIAL_TIMESTAMP = 1615186943
OFFICIAL_SIGNATURE = "43e5cfcca828314675f91b001390566a"

COMMON_KEYS = ["Action", "AppId", "SignatureNonce", "Timestamp", "Signature", "SignatureVersion"]

HUAWEI_DOC_EXAMPLE = (
    "Vendor=Huawei&FileId=/record/pickrecord/command_record/clarechen_test/2024-11-13-06-10-48.mp4"
    "&Interval=2&Type=SampleSnapshot"
)
TENCENT_DOC_EXAMPLE = (
    "Vendor=Tencent&FileId=1397757897438985100&Definition=10"
    "&ExtTimeOffsetSet[]=1&ExtTimeOffsetSet[]=2&Type=SnapshotByTimeOffset"
)
DOC_SUCCESS = (
    '{"Code":0,"Message":"success","Data":{"Tencent":{"TaskId":'
    '"1500030200-procedurev2-afc1fe7dfe51cd88a5d588cacba53393tt0",'
    '"RequestId":"474284b3-d722-490a-ba2c-de0b472eab83"}}}'
)

HUAWEI_SAMPLE = ThumbnailRequest(
    vendor=Vendor.HUAWEI,
    mode=Mode.INTERVAL,
    file_id="/record/pickrecord/command_record/clarechen_test/2024-11-13-06-10-48.mp4",
    interval=2,
)
TENCENT_OFFSETS = ThumbnailRequest(
    vendor=Vendor.TENCENT,
    mode=Mode.TIME_POINTS,
    file_id="1397757897438985100",
    definition=10,
    time_points=(Decimal("1"), Decimal("2")),
)


# --- fixtures and helpers ---------------------------------------------------------------------------


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(pacer: ProcessPacer | None = None, **overrides) -> ZegoClient:
    values = {
        "app_id": APP_ID,
        "server_secret": SECRET,
        "api_url": API_URL,
        "timeout_seconds": 7.0,
        "connect_timeout_seconds": 3.0,
        "rate_limit_per_second": 10_000,
    }
    values.update(overrides)
    # A pacer of its own: no test waits for, or is slowed by, another's calls.
    return ZegoClient(ZegoConfig(**values), pacer=pacer or ProcessPacer())


@pytest.fixture
def client() -> ZegoClient:
    return make_client()


def sent_query(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True, strict_parsing=True)


def business_part(call) -> list[tuple[str, str]]:
    return sent_query(call)[len(COMMON_KEYS) :]


def md5_of_sent(query: list[tuple[str, str]], secret: str = SECRET) -> str:
    values = dict(query[: len(COMMON_KEYS)])
    joined = values["AppId"] + values["SignatureNonce"] + secret + values["Timestamp"]
    return hashlib.md5(joined.encode()).hexdigest()


def reply(rsps, body="", status=200, **kwargs):
    rsps.add(responses.GET, API_URL, body=body, status=status, **kwargs)


def tencent_offsets(*offsets, definition=10) -> ThumbnailRequest:
    return ThumbnailRequest(
        vendor=Vendor.TENCENT,
        mode=Mode.TIME_POINTS,
        file_id="1397757897438985100",
        definition=definition,
        time_points=tuple(offsets),
    )


@pytest.fixture
def fixed_signing(monkeypatch):
    """Pins nonce and timestamp to ZEGO's official vector so the Signature is known in advance."""
    monkeypatch.setattr(signing, "new_nonce", lambda: OFFICIAL_NONCE)
    monkeypatch.setattr(signing, "now_timestamp", lambda: OFFICIAL_TIMESTAMP)


# --- 2. the query sent --------------------------------------------------------------------------------


def test_it_sends_the_common_parameters_first_and_a_signature_over_the_values_sent(rsps, client):
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(HUAWEI_SAMPLE)

    assert len(rsps.calls) == 1
    request = rsps.calls[0].request
    assert request.method == "GET"
    assert urlsplit(request.url)._replace(query="").geturl() == API_URL
    query = sent_query(rsps.calls[0])
    assert [key for key, _ in query[:6]] == COMMON_KEYS
    values = dict(query[:6])
    assert values["Action"] == "MediaThumbnails"
    assert values["AppId"] == str(APP_ID)
    assert signing.NONCE_RE.match(values["SignatureNonce"])
    assert values["SignatureVersion"] == "2.0"
    assert values["Signature"] == md5_of_sent(query)
    assert len([key for key, _ in query if key == "Signature"]) == 1


def test_it_sends_a_timestamp_of_the_current_unix_second(rsps, client):
    reply(rsps, DOC_SUCCESS)
    before = int(time.time())
    client.media_thumbnails(HUAWEI_SAMPLE)
    after = int(time.time())
    assert before <= int(dict(sent_query(rsps.calls[0]))["Timestamp"]) <= after


def test_it_sends_zegos_official_vector_end_to_end(rsps, fixed_signing):
    client = make_client(app_id=OFFICIAL_APP_ID, server_secret=OFFICIAL_SECRET)
    rsps.add(
        responses.GET,
        API_URL,
        body=DOC_SUCCESS,
        match=[
            matchers.query_param_matcher(
                {
                    "Action": "MediaThumbnails",
                    "AppId": "12345",
                    "SignatureNonce": OFFICIAL_NONCE,
                    "Timestamp": str(OFFICIAL_TIMESTAMP),
                    "Signature": OFFICIAL_SIGNATURE,
                    "SignatureVersion": "2.0",
                    "Vendor": "Tencent",
                    "FileId": "1397757897438985100",
                    "Definition": "10",
                    "ExtTimeOffsetSet[]": ["1", "2"],
                    "Type": "SnapshotByTimeOffset",
                }
            )
        ],
    )
    result = client.media_thumbnails(TENCENT_OFFSETS)
    assert result.outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("request_", "example"),
    [(HUAWEI_SAMPLE, HUAWEI_DOC_EXAMPLE), (TENCENT_OFFSETS, TENCENT_DOC_EXAMPLE)],
    ids=["huawei", "tencent"],
)
def test_it_sends_zegos_request_example_exactly(rsps, client, request_, example):
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(request_)

    raw = urlsplit(rsps.calls[0].request.url).query
    _, sep, tail = raw.partition("&SignatureVersion=2.0&")
    assert sep
    assert unquote(tail) == example
    assert business_part(rsps.calls[0]) == parse_qsl(example)


def test_it_repeats_ext_time_offset_set_once_per_point_in_order(rsps, client):
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(tencent_offsets(Decimal("5"), Decimal("1.5"), Decimal("3"), Decimal("0.25")))

    query = sent_query(rsps.calls[0])
    assert [value for key, value in query if key == "ExtTimeOffsetSet[]"] == ["5", "1.5", "3", "0.25"]
    assert "ExtTimeOffsetSet" not in dict(query)  # never without the brackets
    assert rsps.calls[0].request.params["ExtTimeOffsetSet[]"] == ["5", "1.5", "3", "0.25"]


def test_it_sends_a_single_time_point_as_one_bracketed_key(rsps, client):
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(tencent_offsets(Decimal("7")))
    assert business_part(rsps.calls[0]) == [
        ("Vendor", "Tencent"),
        ("FileId", "1397757897438985100"),
        ("Definition", "10"),
        ("ExtTimeOffsetSet[]", "7"),
        ("Type", "SnapshotByTimeOffset"),
    ]


@pytest.mark.parametrize(
    ("offset", "sent"),
    [
        (Decimal("2.0"), "2"),
        (Decimal("2.50"), "2.5"),
        (Decimal("2"), "2"),
        (Decimal("0.5"), "0.5"),
        (Decimal("3600.000"), "3600"),
        (Decimal("1E+1"), "10"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("12.125"), "12.125"),
    ],
)
def test_it_sends_numbers_without_trailing_zeros_or_exponents(rsps, client, offset, sent):
    assert format_number(offset) == sent
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(tencent_offsets(offset))
    assert dict(sent_query(rsps.calls[0]))["ExtTimeOffsetSet[]"] == sent


def test_it_formats_integers_plainly():
    assert format_number(10) == "10"
    assert format_number(0) == "0"


def test_it_sends_definition_for_tencent_sample_snapshot_without_interval_or_time_points(rsps, client):
    reply(rsps, DOC_SUCCESS)
    request = ThumbnailRequest(
        vendor=Vendor.TENCENT,
        mode=Mode.INTERVAL,
        file_id="1397757897438985100",
        definition=10,
        time_points=(Decimal("1"),),
        interval=5,
    )
    client.media_thumbnails(request)
    assert business_part(rsps.calls[0]) == [
        ("Vendor", "Tencent"),
        ("FileId", "1397757897438985100"),
        ("Definition", "10"),
        ("Type", "SampleSnapshot"),
    ]


def test_it_never_sends_definition_for_huawei(rsps, client):
    reply(rsps, DOC_SUCCESS)
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/a/b.mp4", definition=10, interval=3)
    client.media_thumbnails(request)
    assert business_part(rsps.calls[0]) == [
        ("Vendor", "Huawei"),
        ("FileId", "/a/b.mp4"),
        ("Interval", "3"),
        ("Type", "SampleSnapshot"),
    ]


def test_it_sends_interval_only_for_huawei_sample_snapshot(rsps, client):
    reply(rsps, DOC_SUCCESS)
    request = ThumbnailRequest(
        vendor=Vendor.HUAWEI,
        mode=Mode.TIME_POINTS,
        file_id="/a/b.mp4",
        time_points=(Decimal("1"), Decimal("4")),
        interval=3,
    )
    client.media_thumbnails(request)
    assert business_part(rsps.calls[0]) == [
        ("Vendor", "Huawei"),
        ("FileId", "/a/b.mp4"),
        ("ExtTimeOffsetSet[]", "1"),
        ("ExtTimeOffsetSet[]", "4"),
        ("Type", "SnapshotByTimeOffset"),
    ]


def test_it_signs_each_request_afresh(rsps, client):
    reply(rsps, DOC_SUCCESS)
    reply(rsps, DOC_SUCCESS)
    reply(rsps, DOC_SUCCESS)
    for _ in range(3):
        client.media_thumbnails(HUAWEI_SAMPLE)

    queries = [sent_query(call) for call in rsps.calls]
    assert len(queries) == 3
    nonces = {dict(q)["SignatureNonce"] for q in queries}
    signatures = {dict(q)["Signature"] for q in queries}
    assert len(nonces) == 3
    assert len(signatures) == 3
    for query in queries:
        assert signing.NONCE_RE.match(dict(query)["SignatureNonce"])
        assert dict(query)["Signature"] == md5_of_sent(query)


def test_it_takes_a_fresh_timestamp_for_each_request(rsps, client, monkeypatch):
    stamps = iter([1700000000, 1700000042])
    monkeypatch.setattr(signing, "now_timestamp", lambda: next(stamps))
    reply(rsps, DOC_SUCCESS)
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(HUAWEI_SAMPLE)
    client.media_thumbnails(HUAWEI_SAMPLE)

    first, second = (sent_query(call) for call in rsps.calls)
    assert dict(first)["Timestamp"] == "1700000000"
    assert dict(second)["Timestamp"] == "1700000042"
    assert dict(second)["Signature"] == md5_of_sent(second)


def test_it_signs_the_nonce_and_timestamp_of_the_prepared_call(rsps, client):
    reply(rsps, DOC_SUCCESS)
    prepared = client.prepare_thumbnails(HUAWEI_SAMPLE)
    client.send(prepared)

    values = dict(sent_query(rsps.calls[0]))
    assert values["SignatureNonce"] == prepared.nonce
    assert values["Timestamp"] == str(prepared.timestamp)
    assert values["Signature"] == signing.request_signature(APP_ID, prepared.nonce, SECRET, prepared.timestamp)


def test_it_matches_public_query_to_the_query_sent_except_the_signature(rsps, client):
    reply(rsps, DOC_SUCCESS)
    prepared = client.prepare_thumbnails(TENCENT_OFFSETS)
    client.send(prepared)

    sent = sent_query(rsps.calls[0])
    public = prepared.public_query()
    assert [key for key, _ in public] == [key for key, _ in sent]
    for (key, public_value), (_, sent_value) in zip(public, sent, strict=True):
        if key == "Signature":
            assert public_value == "<signature>"
            assert sent_value != public_value
        else:
            assert public_value == sent_value


@pytest.mark.parametrize(("connect", "read"), [(3.0, 7.0), (0.5, 30.0)])
def test_it_passes_both_connect_and_read_timeouts(rsps, connect, read):
    client = make_client(connect_timeout_seconds=connect, timeout_seconds=read)
    reply(rsps, DOC_SUCCESS)
    client.media_thumbnails(HUAWEI_SAMPLE)
    client.describe_media_task(task_id="t-1", vendor=Vendor.TENCENT)

    assert len(rsps.calls) == 2
    for call in rsps.calls:
        assert call.request.req_kwargs["timeout"] == (connect, read)


class FakeResponse:
    status_code = 200
    headers = {"Content-Type": "application/json"}
    encoding = None

    def iter_content(self, chunk_size):
        yield DOC_SUCCESS.encode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class FakeSession:
    def __init__(self):
        self.headers = {}
        self.calls = []

    def get(self, url, **kwargs):
        self.calls.append((url, kwargs))
        return FakeResponse()


def test_it_passes_timeouts_and_refuses_redirects_through_the_session():
    session = FakeSession()
    client = ZegoClient(
        ZegoConfig(
            app_id=APP_ID,
            server_secret=SECRET,
            api_url=API_URL,
            timeout_seconds=9.0,
            connect_timeout_seconds=2.0,
            rate_limit_per_second=10_000,
        ),
        session=session,
        pacer=ProcessPacer(),
    )
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.SUCCEEDED
    assert len(session.calls) == 1
    url, kwargs = session.calls[0]
    assert url == API_URL
    assert kwargs["timeout"] == (2.0, 9.0)
    assert kwargs["allow_redirects"] is False
    assert session.headers["User-Agent"].startswith("thumbs/")


def test_it_does_not_follow_a_redirect(rsps, client):
    rsps.add(
        responses.GET,
        API_URL,
        status=302,
        body="<html>moved</html>",
        headers={"Location": "https://elsewhere.example/"},
    )
    rsps.add(responses.GET, "https://elsewhere.example/", body=DOC_SUCCESS)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert len(rsps.calls) == 1
    assert result.outcome is Outcome.UNKNOWN
    assert result.http_status == 302
    assert result.failure.kind in {FailureKind.NOT_JSON, FailureKind.HTTP_ERROR}


# --- 3. reply parsing ----------------------------------------------------------------------------------


def test_it_parses_zegos_documented_success_example(rsps, client):
    reply(rsps, DOC_SUCCESS)
    result = client.media_thumbnails(TENCENT_OFFSETS)

    assert isinstance(result, CallResult)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.action == "MediaThumbnails"
    assert result.code == 0
    assert result.message == "success"
    assert result.request_id == ""
    assert result.vendor_task_id == "1500030200-procedurev2-afc1fe7dfe51cd88a5d588cacba53393tt0"
    assert result.vendor_request_id == "474284b3-d722-490a-ba2c-de0b472eab83"
    assert result.http_status == 200
    assert result.body == DOC_SUCCESS
    assert result.failure is None
    assert result.code_info.retry is RetryClass.NONE
    assert isinstance(result.latency_ms, int)
    assert result.latency_ms >= 0


def test_it_keeps_a_numeric_looking_request_id_as_a_string(rsps, client):
    body = '{"Code":0,"Message":"success","RequestId":"2237080460466033406","Data":{"Huawei":{"task_id":"h-1"}}}'
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)
    assert result.request_id == "2237080460466033406"
    assert isinstance(result.request_id, str)


def test_it_keeps_every_digit_of_a_request_id_sent_as_a_json_number(rsps, client):
    reply(rsps, '{"Code":0,"Message":"success","RequestId":2237080460466033406,"Data":{}}')
    result = client.media_thumbnails(HUAWEI_SAMPLE)
    assert result.request_id == "2237080460466033406"


def test_it_reads_huaweis_task_id(rsps, client):
    body = '{"Code":0,"Message":"success","RequestId":"8812","Data":{"Huawei":{"task_id":"hw-task-77"}}}'
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.vendor_task_id == "hw-task-77"
    assert result.vendor_request_id == ""
    assert result.request_id == "8812"
    assert result.data == {"Huawei": {"task_id": "hw-task-77"}}


@pytest.mark.parametrize(
    ("code", "meaning", "retry"),
    [
        (2, "input parameter error", RetryClass.PERMANENT),
        (6, "too frequent", RetryClass.TRANSIENT),
        (7, "authentication failed", RetryClass.PERMANENT),
        (1000, "request failed", RetryClass.MANUAL),
        (41003, "file does not exist", RetryClass.PERMANENT),
        (100000005, "signature wrong", RetryClass.PERMANENT),
        (100000015, "gateway internal error", RetryClass.TRANSIENT),
    ],
)
def test_it_reports_a_non_zero_code_as_failed_with_its_meaning(rsps, client, code, meaning, retry):
    body = json.dumps({"Code": code, "Message": f"server says {code}", "RequestId": "r-9", "Data": None})
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.FAILED
    assert result.failure is None
    assert result.code == code
    assert result.message == f"server says {code}"
    assert result.request_id == "r-9"
    assert result.vendor_task_id == ""
    assert result.body == body
    assert result.http_status == 200
    assert result.code_info.known is True
    assert meaning in result.code_info.meaning.lower()
    assert result.code_info.retry is retry


def test_it_renders_an_unknown_code_and_marks_it_unknown(rsps, client):
    reply(rsps, '{"Code":777001,"Message":"new thing","RequestId":"r-1"}')
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.FAILED
    assert result.code == 777001
    assert result.code_info.known is False
    assert "777001" in result.code_info.meaning
    assert result.message == "new thing"


def test_it_reads_a_json_error_reply_whatever_the_http_status(rsps, client):
    body = '{"Code":100000005,"Message":"signature error","RequestId":"r-5"}'
    reply(rsps, body, status=401)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.FAILED
    assert result.failure is None
    assert result.http_status == 401
    assert result.code == 100000005
    assert result.body == body


def test_it_keeps_the_body_exactly_as_received(rsps, client):
    body = '{ "Code" : 0,\n  "Message": "succès ✓", "Data": {"Tencent": {"TaskId": "x"}} }\n'
    rsps.add(responses.GET, API_URL, body=body.encode(), content_type="application/json; charset=utf-8")
    result = client.media_thumbnails(TENCENT_OFFSETS)
    assert result.body == body
    assert result.message == "succès ✓"


# --- 4. transport failures -------------------------------------------------------------------------------


def refused() -> Exception:
    return requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))


def refused_localised() -> Exception:
    # strerror is localised by the OS: the type, not the wording, says "refused".
    return requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Verbindungsaufbau abgelehnt"))


@pytest.mark.parametrize(
    ("make_exc", "kind", "reached"),
    [
        (lambda: requests.exceptions.ConnectTimeout("connect timed out"), FailureKind.CONNECT_TIMEOUT, False),
        (lambda: requests.exceptions.ReadTimeout("read timed out"), FailureKind.READ_TIMEOUT, True),
        (refused, FailureKind.CONNECTION_REFUSED, False),
        (refused_localised, FailureKind.CONNECTION_REFUSED, False),
        (lambda: requests.exceptions.SSLError("certificate verify failed"), FailureKind.TLS_ERROR, False),
        (
            lambda: requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
            FailureKind.CONNECTION_ERROR,
            True,
        ),
        (lambda: requests.exceptions.ChunkedEncodingError("broken"), FailureKind.CONNECTION_ERROR, True),
        (
            lambda: requests.exceptions.ConnectionError(socket.gaierror(-2, "Name or service not known")),
            FailureKind.CONNECTION_ERROR,
            False,
        ),
    ],
    ids=["connect-timeout", "read-timeout", "refused", "refused-localised", "ssl", "reset", "chunked", "dns"],
)
def test_it_turns_every_transport_exception_into_an_unknown_result(rsps, client, make_exc, kind, reached):
    reply(rsps, body=make_exc())
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert len(rsps.calls) == 1
    assert result.outcome is Outcome.UNKNOWN
    assert isinstance(result.failure, TransportFailure)
    assert result.failure.kind is kind
    assert result.failure.may_have_reached is reached
    assert result.failure.detail
    assert "rtc-api.zego.im" in result.failure.detail
    assert result.code is None
    assert result.code_info is None
    assert result.http_status is None
    assert result.latency_ms >= 0


def test_it_reports_a_real_refused_connection():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The socket is closed: nothing listens on the port.
    real = make_client(api_url=f"http://127.0.0.1:{port}/")
    result = real.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.CONNECTION_REFUSED
    assert result.failure.may_have_reached is False
    assert f"127.0.0.1:{port}" in result.failure.detail


def test_it_reports_a_real_read_timeout():
    # A listening socket that never accepts: the kernel completes the handshake, nobody answers.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        real = make_client(api_url=f"http://127.0.0.1:{port}/", timeout_seconds=0.3, connect_timeout_seconds=2)
        result = real.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.READ_TIMEOUT
    assert result.failure.may_have_reached is True
    assert "0.3 s" in result.failure.detail
    assert result.latency_ms >= 250


def _plain_http_server():
    """A server that answers a TLS ClientHello with plain HTTP, which fails the handshake."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        try:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_it_reports_a_real_tls_failure():
    server, thread = _plain_http_server()
    try:
        port = server.getsockname()[1]
        real = make_client(api_url=f"https://127.0.0.1:{port}/", timeout_seconds=3, connect_timeout_seconds=3)
        result = real.media_thumbnails(HUAWEI_SAMPLE)
    finally:
        server.close()
        thread.join(timeout=5)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.TLS_ERROR
    assert result.failure.may_have_reached is False


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_it_reports_an_html_error_page_as_http_error(rsps, client, status):
    page = "<html><body><h1>Internal Server Error</h1></body></html>"
    reply(rsps, page, status=status, content_type="text/html")
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.HTTP_ERROR
    assert result.failure.may_have_reached is True
    assert result.http_status == status
    assert result.body == page
    assert result.code is None
    assert str(status) in result.failure.detail


@pytest.mark.parametrize("body", ["OK", "", "<html>maintenance</html>", "{Code: 0}"])
def test_it_reports_a_200_that_is_not_json_as_not_json(rsps, client, body):
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.NOT_JSON
    assert result.failure.may_have_reached is True
    assert result.http_status == 200
    assert result.body == body


@pytest.mark.parametrize(
    "body",
    [
        '{"Message":"success","Data":{}}',
        "[]",
        '[{"Code":0}]',
        '"Code"',
        "null",
        "42",
        '{"Code":"0"}',
        '{"Code":null}',
        '{"Code":true}',
        '{"Code":0.0}',
    ],
)
def test_it_reports_json_without_a_numeric_code_as_bad_shape(rsps, client, body):
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.BAD_SHAPE
    assert result.failure.may_have_reached is True
    assert result.code is None
    assert result.http_status == 200
    assert result.body == body


def test_it_does_not_raise_on_absurdly_nested_json(rsps, client):
    # A broken proxy or hostile middlebox: valid-looking JSON nested past Python's recursion limit.
    body = "[" * 30_000 + "]" * 30_000  # within the size cap
    reply(rsps, body)
    result = client.media_thumbnails(HUAWEI_SAMPLE)

    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind in {FailureKind.NOT_JSON, FailureKind.BAD_SHAPE}


def test_it_stops_reading_at_the_cap_and_says_the_reply_was_too_large(rsps, client):
    body = "x" * (BODY_LIMIT + 5000)
    reply(rsps, body, status=502)
    result = client.media_thumbnails(HUAWEI_SAMPLE)
    assert len(result.body) == BODY_LIMIT
    assert result.outcome is Outcome.UNKNOWN
    assert result.failure.kind is FailureKind.TOO_LARGE and result.failure.may_have_reached
    assert "over 64 KiB" in result.failure.detail


# --- 5. secrets ------------------------------------------------------------------------------------------

SIGNATURE = signing.request_signature(APP_ID, OFFICIAL_NONCE, SECRET, OFFICIAL_TIMESTAMP)


def _raise_with_url(exc_type, *args_before):
    """A callback raising ``exc_type`` whose text quotes the request URL (as requests' own do) and the
    secret, the worst a library could echo."""

    def callback(request):
        assert SIGNATURE in request.url  # the URL really carries the signature
        return exc_type(*args_before, f"Max retries exceeded with url: {request.url} ({SECRET})")

    return callback


def _connection_error_refused(request):
    assert SIGNATURE in request.url
    return requests.exceptions.ConnectionError(
        ConnectionRefusedError(111, f"refused {request.url} {SECRET}"), f"url: {request.url}"
    )


ECHO_JSON = json.dumps(
    {
        "Code": 100000005,
        "Message": f"signature {SIGNATURE} does not match md5 with secret {SECRET}",
        "RequestId": f"req-{SIGNATURE}",
        "Data": {"Echo": {"Signature": SIGNATURE, "Secret": SECRET, "Url": f"/?Signature={SIGNATURE}"}},
    }
)

SECRET_SCENARIOS = {
    "connect-timeout": {"callback": _raise_with_url(requests.exceptions.ConnectTimeout)},
    "read-timeout": {"callback": _raise_with_url(requests.exceptions.ReadTimeout)},
    "ssl": {"callback": _raise_with_url(requests.exceptions.SSLError)},
    "refused": {"callback": _connection_error_refused},
    "connection-error": {"callback": _raise_with_url(requests.exceptions.ConnectionError)},
    "chunked": {"callback": _raise_with_url(requests.exceptions.ChunkedEncodingError)},
    "generic-request-exception": {"callback": _raise_with_url(requests.exceptions.RequestException)},
    "echo-json-failure": {"body": ECHO_JSON},
    "echo-json-success": {
        "body": json.dumps(
            {"Code": 0, "Message": SECRET, "RequestId": SIGNATURE, "Data": {"Tencent": {"TaskId": SIGNATURE}}}
        )
    },
    "echo-html-500": {
        "body": f"<html>error for ?Signature={SIGNATURE} secret={SECRET}</html>",
        "status": 500,
    },
    "echo-not-json": {"body": f"bad request Signature={SIGNATURE}&secret={SECRET}"},
    "echo-bad-shape": {"body": json.dumps({"Error": SIGNATURE, "Secret": SECRET})},
}


def _texts_of(*objects) -> list[str]:
    texts = []
    for obj in objects:
        texts.extend([repr(obj), str(obj)])
    return texts


def _log_texts(caplog) -> list[str]:
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            texts.append(record.exc_text)
    texts.append(caplog.text)
    return texts


def _assert_no_secret(texts):
    for text in texts:
        assert SECRET not in text
        assert SIGNATURE not in text
        assert SECRET.upper() not in text
        assert SIGNATURE.upper() not in text


@pytest.mark.parametrize("scenario", list(SECRET_SCENARIOS))
def test_it_never_leaks_the_secret_or_signature(rsps, client, fixed_signing, caplog, scenario):
    caplog.set_level(logging.DEBUG, logger="dashboard.zego")
    spec = SECRET_SCENARIOS[scenario]
    if "callback" in spec:
        rsps.add_callback(responses.GET, API_URL, callback=spec["callback"])
    else:
        reply(rsps, spec["body"], status=spec.get("status", 200))

    prepared = client.prepare_thumbnails(TENCENT_OFFSETS)
    result = client.send(prepared)

    assert len(rsps.calls) == 1
    assert dict(sent_query(rsps.calls[0]))["Signature"] == SIGNATURE  # the test knows the real signature
    client_records = [r for r in caplog.records if r.name.startswith("dashboard.zego")]
    assert client_records  # the client did log something, and it was captured
    _assert_no_secret(
        [
            *_texts_of(result, result.failure, prepared, client.config, result.code_info),
            result.body,
            result.message,
            result.request_id,
            result.vendor_task_id,
            json.dumps(result.data),
            json.dumps(prepared.public_query()),
            *_log_texts(caplog),
        ]
    )


def test_it_scrubs_the_echoed_secret_but_keeps_the_rest_of_the_body(rsps, client, fixed_signing):
    reply(rsps, ECHO_JSON)
    result = client.media_thumbnails(TENCENT_OFFSETS)

    assert result.outcome is Outcome.FAILED
    assert result.code == 100000005
    assert "does not match md5 with secret" in result.message
    assert "[redacted]" in result.body
    assert result.body == ECHO_JSON.replace(SECRET, "[redacted]").replace(SIGNATURE, "[redacted]")


def test_it_scrubs_a_secret_that_straddles_the_body_limit(rsps, client, fixed_signing):
    # The echo starts 10 characters before the cut: what is kept must not hold a piece of it either.
    body = "x" * (BODY_LIMIT - 10) + SECRET + " " + SIGNATURE
    reply(rsps, body, status=502)
    result = client.media_thumbnails(TENCENT_OFFSETS)

    assert len(result.body) <= BODY_LIMIT
    assert SECRET[:10] not in result.body


def test_it_never_leaks_through_a_real_refused_connection(client, fixed_signing, caplog):
    caplog.set_level(logging.DEBUG, logger="dashboard.zego")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    # What requests itself says on this failure quotes the signed URL: the leak the client must avoid.
    with pytest.raises(requests.exceptions.ConnectionError) as raw:
        requests.get(url, params={"Signature": SIGNATURE}, timeout=2)
    assert SIGNATURE in str(raw.value)

    real = make_client(api_url=url)
    prepared = real.prepare_thumbnails(TENCENT_OFFSETS)
    result = real.send(prepared)

    assert result.failure.kind is FailureKind.CONNECTION_REFUSED
    assert [r for r in caplog.records if r.name.startswith("dashboard.zego")]
    _assert_no_secret([*_texts_of(result, result.failure, prepared, real.config, real.config), *_log_texts(caplog)])


def test_it_keeps_the_secret_out_of_the_configs_repr():
    config = ZegoConfig(app_id=APP_ID, server_secret=SECRET, api_url=API_URL)
    for text in (repr(config), str(config), f"{config}", f"{config!r}"):
        assert SECRET not in text
        assert str(APP_ID) in text


def test_it_leaves_the_signature_as_a_placeholder_in_public_query(client, fixed_signing):
    prepared = client.prepare_thumbnails(TENCENT_OFFSETS)
    public = dict(prepared.public_query())
    assert public["Signature"] == "<signature>"
    assert public["SignatureNonce"] == OFFICIAL_NONCE
    assert public["Timestamp"] == str(OFFICIAL_TIMESTAMP)
    assert not hasattr(prepared, "signature")
    _assert_no_secret([*_texts_of(prepared), json.dumps(prepared.public_query())])


def test_it_keeps_the_secret_out_of_the_describe_status(rsps, client, fixed_signing):
    body = json.dumps(
        {
            "Code": 0,
            "Message": SECRET,
            "Data": {
                "Tencent": {
                    "TaskId": "t",
                    "Status": "FINISH",
                    "Message": SIGNATURE,
                    "ThumbnailsUrl": [f"https://cdn.example/a.jpg?s={SIGNATURE}"],
                }
            },
        }
    )
    reply(rsps, body)
    status = client.describe_media_task(task_id="t", vendor=Vendor.TENCENT)
    _assert_no_secret([*_texts_of(status), status.message, *status.thumbnail_urls])


# --- 6. DescribeMediaTask ----------------------------------------------------------------------------------


def test_it_sends_describe_media_task_with_task_id_and_vendor(rsps, fixed_signing):
    client = make_client(app_id=OFFICIAL_APP_ID, server_secret=OFFICIAL_SECRET)
    rsps.add(
        responses.GET,
        API_URL,
        body='{"Code":0,"Message":"success","Data":{"Huawei":{"TaskId":"hw-1","Status":"WAITING"}}}',
        match=[
            matchers.query_param_matcher(
                {
                    "Action": "DescribeMediaTask",
                    "AppId": "12345",
                    "SignatureNonce": OFFICIAL_NONCE,
                    "Timestamp": str(OFFICIAL_TIMESTAMP),
                    "Signature": OFFICIAL_SIGNATURE,
                    "SignatureVersion": "2.0",
                    "TaskId": "hw-1",
                    "Vendor": "Huawei",
                }
            )
        ],
    )
    status = client.describe_media_task(task_id="hw-1", vendor=Vendor.HUAWEI)
    assert status.call.action == "DescribeMediaTask"
    assert status.status == "WAITING"


def test_it_signs_describe_media_task_with_the_values_sent(rsps, client):
    reply(rsps, '{"Code":0,"Message":"success","Data":{}}')
    client.describe_media_task(task_id="1500030200-procedurev2-abc", vendor=Vendor.TENCENT)
    query = sent_query(rsps.calls[0])
    assert [key for key, _ in query[:6]] == COMMON_KEYS
    assert dict(query)["Signature"] == md5_of_sent(query)
    assert query[6:] == [("TaskId", "1500030200-procedurev2-abc"), ("Vendor", "Tencent")]


def test_it_parses_a_tencent_task_status(rsps, client):
    body = json.dumps(
        {
            "Code": 0,
            "Message": "success",
            "RequestId": "2237080460466033406",
            "Data": {
                "Tencent": {
                    "TaskId": "1500030200-procedurev2-afc1fe7dfe51cd88a5d588cacba53393tt0",
                    "Event": "SnapshotByTimeOffset",
                    "Status": "FINISH",
                    "FileId": "1397757897438985100",
                    "Message": "SUCCESS",
                    "ThumbnailsUrl": ["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"],
                }
            },
        }
    )
    reply(rsps, body)
    status = client.describe_media_task(
        task_id="1500030200-procedurev2-afc1fe7dfe51cd88a5d588cacba53393tt0", vendor=Vendor.TENCENT
    )

    assert isinstance(status, MediaTaskStatus)
    assert status.vendor is Vendor.TENCENT
    assert status.call.outcome is Outcome.SUCCEEDED
    assert status.call.request_id == "2237080460466033406"
    assert status.call.vendor_task_id == "1500030200-procedurev2-afc1fe7dfe51cd88a5d588cacba53393tt0"
    assert status.status == "FINISH"
    assert status.event == "SnapshotByTimeOffset"
    assert status.message == "SUCCESS"
    assert status.thumbnail_urls == ("https://cdn.example/1.jpg", "https://cdn.example/2.jpg")
    assert status.file_names == ()
    assert status.finished is True
    assert status.succeeded is True


def test_it_parses_a_huawei_task_status(rsps, client):
    body = json.dumps(
        {
            "Code": 0,
            "Message": "success",
            "RequestId": "r-hw",
            "Data": {
                "Huawei": {
                    "TaskId": "hw-task-9",
                    "Status": "SUCCEEDED",
                    "CreateTime": "20241113061048",
                    "EndTime": "20241113061112",
                    "FileName": ["snapshot/0001.jpg", "snapshot/0002.jpg"],
                }
            },
        }
    )
    reply(rsps, body)
    status = client.describe_media_task(task_id="hw-task-9", vendor=Vendor.HUAWEI)

    assert status.vendor is Vendor.HUAWEI
    assert status.call.vendor_task_id == "hw-task-9"
    assert status.status == "SUCCEEDED"
    assert status.create_time == "20241113061048"
    assert status.end_time == "20241113061112"
    assert status.file_names == ("snapshot/0001.jpg", "snapshot/0002.jpg")
    assert status.thumbnail_urls == ()
    assert status.finished is True
    assert status.succeeded is True


@pytest.mark.parametrize(
    ("vendor", "value", "finished", "succeeded"),
    [
        (Vendor.TENCENT, "WAITING", False, False),
        (Vendor.TENCENT, "PROCESSING", False, False),
        (Vendor.TENCENT, "FINISH", True, True),
        (Vendor.TENCENT, "FAIL", True, False),
        (Vendor.HUAWEI, "NO_TASK", True, False),
        (Vendor.HUAWEI, "WAITING", False, False),
        (Vendor.HUAWEI, "PROCESSING", False, False),
        (Vendor.HUAWEI, "SUCCEEDED", True, True),
        (Vendor.HUAWEI, "FAILED", True, False),
        (Vendor.HUAWEI, "CANCELED", True, False),
    ],
)
def test_it_knows_which_statuses_are_final(rsps, client, vendor, value, finished, succeeded):
    reply(rsps, json.dumps({"Code": 0, "Message": "success", "Data": {vendor.value: {"Status": value}}}))
    status = client.describe_media_task(task_id="t", vendor=vendor)
    assert status.status == value
    assert status.finished is finished
    assert status.succeeded is succeeded


def test_it_reports_a_describe_failure_reply(rsps, client):
    reply(rsps, '{"Code":2,"Message":"TaskId invalid","RequestId":"r-2","Data":null}')
    status = client.describe_media_task(task_id="nope", vendor=Vendor.TENCENT)

    assert status.call.outcome is Outcome.FAILED
    assert status.call.code == 2
    assert status.call.code_info.retry is RetryClass.PERMANENT
    assert status.message == "TaskId invalid"
    assert status.status == ""
    assert status.finished is False
    assert status.succeeded is False


def test_it_ignores_task_data_on_a_failure_code(rsps, client):
    reply(rsps, '{"Code":1000,"Message":"failed","Data":{"Tencent":{"Status":"FINISH"}}}')
    status = client.describe_media_task(task_id="t", vendor=Vendor.TENCENT)
    assert status.call.outcome is Outcome.FAILED
    assert status.status == ""
    assert status.succeeded is False


def test_it_reads_only_the_requested_vendors_part(rsps, client):
    reply(rsps, '{"Code":0,"Message":"success","Data":{"Tencent":{"Status":"FINISH"}}}')
    status = client.describe_media_task(task_id="t", vendor=Vendor.HUAWEI)
    assert status.status == ""
    assert status.finished is False


def test_it_reports_a_describe_transport_failure_without_raising(rsps, client):
    reply(rsps, body=requests.exceptions.ReadTimeout("read timed out"))
    status = client.describe_media_task(task_id="t", vendor=Vendor.TENCENT)
    assert status.call.outcome is Outcome.UNKNOWN
    assert status.call.failure.kind is FailureKind.READ_TIMEOUT
    assert status.finished is False


# --- 7. rate limiting: tests/test_pacing.py ---------------------------------------------------------


def test_it_gives_call_results_value_semantics():
    failure = TransportFailure(kind=FailureKind.NOT_JSON, detail="x", may_have_reached=True)
    result = CallResult(action="MediaThumbnails", http_status=200, failure=failure)
    assert result.outcome is Outcome.UNKNOWN
    assert CallResult(action="MediaThumbnails", code=0).outcome is Outcome.SUCCEEDED
    assert CallResult(action="MediaThumbnails", code=7).outcome is Outcome.FAILED
    assert CallResult(action="MediaThumbnails").outcome is Outcome.UNKNOWN
    with pytest.raises(AttributeError):
        result.code = 0  # frozen


def test_it_builds_a_prepared_call_with_the_business_params(client):
    prepared = client.prepare_thumbnails(TENCENT_OFFSETS)
    assert isinstance(prepared, PreparedCall)
    assert prepared.action == "MediaThumbnails"
    assert prepared.app_id == APP_ID
    assert prepared.params == tuple(parse_qsl(TENCENT_DOC_EXAMPLE))
    assert signing.NONCE_RE.match(prepared.nonce)


def test_its_curl_line_repeats_the_query_sent_with_placeholders(rsps, client):
    rsps.add(responses.GET, API_URL, body=DOC_SUCCESS)
    prepared = client.prepare_thumbnails(TENCENT_OFFSETS)
    client.send(prepared)
    sent = sent_query(rsps.calls[0])
    command = prepared.curl()

    assert command.startswith(f"curl -sS '{API_URL}?Action=MediaThumbnails&AppId={APP_ID}&SignatureNonce=<nonce>")
    shown = parse_qsl(urlsplit(command.split("'")[1]).query)
    expected = {"SignatureNonce": "<nonce>", "Timestamp": "<unix-seconds>", "Signature": "<signature>"}
    assert shown == [(k, expected.get(k, v)) for k, v in sent]
    assert prepared.nonce not in command and SECRET not in command
