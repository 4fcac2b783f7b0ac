"""The built-in ZEGO simulator, driven over real sockets by the project's client and by raw urllib GETs."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from dashboard.zego import signing
from dashboard.zego.client import ZegoClient
from dashboard.zego.pacing import ProcessPacer
from dashboard.zego.types import FailureKind, Mode, Outcome, ThumbnailRequest, Vendor, ZegoConfig
from tests.conftest import FakeClock, first_line, free_port
from zego_simulator import Reply, ZegoSimulator
from zego_simulator.scripted import SCRIPTED_FILE_IDS

APP_ID = 1000001
SECRET = "0123456789abcdef0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
TENCENT_FILE = "1397757897438985100"
HUAWEI_FILE = "/record/pickrecord/command_record/test/2024-11-13-06-10-48.mp4"


@pytest.fixture
def clock(fake_clock: FakeClock) -> FakeClock:
    return fake_clock


@pytest.fixture
def make_sim(clock: FakeClock) -> Iterator[Callable[..., ZegoSimulator]]:
    started: list[ZegoSimulator] = []

    def make(**options: Any) -> ZegoSimulator:
        options = {"clock": clock, "quiet": True, **options}
        sim = ZegoSimulator(APP_ID, SECRET, **options).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., ZegoSimulator]) -> ZegoSimulator:
    return make_sim()


def client_for(sim: ZegoSimulator, *, secret: str = SECRET, app_id: int = APP_ID, timeout: float = 5) -> ZegoClient:
    # A generous client-side rate so the client's own limiter never delays these tests.
    return ZegoClient(
        ZegoConfig(
            app_id=app_id,
            server_secret=secret,
            api_url=sim.url,
            timeout_seconds=timeout,
            connect_timeout_seconds=2,
            rate_limit_per_second=1000,
        ),
        pacer=ProcessPacer(),  # its own, in memory: these tests use no database
    )


@pytest.fixture
def zego(sim: ZegoSimulator) -> ZegoClient:
    return client_for(sim)


def tencent_points(file_id: str = TENCENT_FILE, *offsets: str) -> ThumbnailRequest:
    return ThumbnailRequest(
        vendor=Vendor.TENCENT,
        mode=Mode.TIME_POINTS,
        file_id=file_id,
        definition=10,
        time_points=tuple(Decimal(t) for t in offsets or ("1",)),
    )


def huawei_sample(file_id: str = HUAWEI_FILE, interval: int = 2) -> ThumbnailRequest:
    return ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id=file_id, interval=interval)


def fetch(url: str, method: str = "GET") -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def common_params(
    action: str = "MediaThumbnails", *, nonce: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    nonce = nonce or signing.new_nonce()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Action": action,
        "AppId": str(APP_ID),
        "SignatureNonce": nonce,
        "Timestamp": str(timestamp),
        "Signature": signing.request_signature(APP_ID, nonce, SECRET, timestamp),
        "SignatureVersion": "2.0",
    }


def api_get(sim: ZegoSimulator, common: dict[str, str], business: str = "") -> dict[str, Any]:
    """GET the API with the common parameters and a business query written as in ZEGO's docs."""
    query = urlencode([*common.items(), *parse_qsl(business, keep_blank_values=True)])
    status, headers, body = fetch(f"{sim.url}?{query}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def signed_get(sim: ZegoSimulator, business: str, action: str = "MediaThumbnails") -> dict[str, Any]:
    return api_get(sim, common_params(action), business)


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


# --- the happy path, through the real client -------------------------------------------------------------


def test_it_accepts_a_tencent_request_signed_by_the_real_client(sim: ZegoSimulator, zego: ZegoClient) -> None:
    result = zego.media_thumbnails(tencent_points(TENCENT_FILE, "1", "2.5"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.message == "success"
    assert result.request_id.isdigit() and len(result.request_id) == 19
    prefix, _, rest = result.vendor_task_id.partition("-procedurev2-")
    assert prefix == "1500030200"
    assert len(rest) == 35 and rest.endswith("tt0") and int(rest[:32], 16) >= 0
    assert len(result.vendor_request_id) == 36 and result.vendor_request_id[14] == "4"


def test_it_accepts_a_huawei_sample_snapshot_and_answers_a_task_id(sim: ZegoSimulator, zego: ZegoClient) -> None:
    result = zego.media_thumbnails(huawei_sample(interval=5))

    assert result.outcome is Outcome.SUCCEEDED
    assert len(result.vendor_task_id) == 32 and int(result.vendor_task_id, 16) >= 0
    assert result.data == {"Huawei": {"task_id": result.vendor_task_id}}


def test_it_remembers_each_task_it_created(sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock) -> None:
    tencent = zego.media_thumbnails(tencent_points(TENCENT_FILE, "0", "2.5"))
    huawei = zego.media_thumbnails(huawei_sample(interval=7))

    first, second = sim.tasks
    assert (first.task_id, first.vendor, first.type, first.file_id) == (
        tencent.vendor_task_id,
        "Tencent",
        "SnapshotByTimeOffset",
        TENCENT_FILE,
    )
    assert first.time_offsets == (Decimal(0), Decimal("2.5")) and first.created_at == clock.now
    assert (second.task_id, second.vendor, second.type, second.interval) == (
        huawei.vendor_task_id,
        "Huawei",
        "SampleSnapshot",
        7,
    )


@pytest.mark.parametrize(
    "business",
    [
        "Vendor=Tencent&FileId=1397757897438985100&Definition=10&ExtTimeOffsetSet[]=1&ExtTimeOffsetSet[]=2&Type=SnapshotByTimeOffset",
        "Vendor=Tencent&FileId=12&Definition=10&ExtTimeOffsetSet[]=0&ExtTimeOffsetSet[]=0.25&Type=SnapshotByTimeOffset",
        "Vendor=Tencent&FileId=12&Definition=20002&Type=SampleSnapshot",
        "Vendor=Tencent&FileId=12&Definition=10&Type=SnapshotByTimeOffset&"
        + "&".join(f"ExtTimeOffsetSet[]={n}" for n in range(100)),
        f"Vendor=Huawei&FileId={HUAWEI_FILE}&Interval=2&Type=SampleSnapshot",
        "Vendor=Huawei&FileId=a b/c.mp4&Interval=100&Type=SampleSnapshot",
        "Vendor=Huawei&FileId=x.mp4&Type=SnapshotByTimeOffset&"
        + "&".join(f"ExtTimeOffsetSet[]={n}" for n in range(10)),
    ],
    ids=[
        "zego_doc_tencent_example",
        "tencent_decimal_points",
        "tencent_sample",
        "tencent_100_points",
        "zego_doc_huawei_example",
        "huawei_interval_100",
        "huawei_10_points",
    ],
)
def test_it_accepts_every_documented_request_shape(sim: ZegoSimulator, business: str) -> None:
    reply = signed_get(sim, business)

    assert (reply["Code"], reply["Message"]) == (0, "success")


# --- gateway checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "says"),
    [
        ({"AppId": None}, 100000001, "AppId"),
        ({"AppId": "abc"}, 100000001, "AppId"),
        ({"AppId": "\uff14\uff12"}, 100000001, "AppId"),
        ({"AppId": str(2**32)}, 100000001, "AppId"),
        ({"AppId": "1000002"}, 100000010, "AppId 1000002"),
        ({"Action": ""}, 100000006, "Action"),
        ({"Action": None}, 100000006, "Action"),
        ({"Action": "StartCDNRecord"}, 100000007, "StartCDNRecord"),
        ({"Timestamp": None}, 100000002, "Timestamp"),
        ({"Timestamp": "1700000000.5"}, 100000003, "Unix seconds"),
        ({"SignatureNonce": ""}, 100000008, "SignatureNonce"),
        ({"SignatureNonce": "abc123"}, 100000008, "16 hexadecimal characters"),
        ({"SignatureNonce": "zzzzzzzzzzzzzzzz"}, 100000008, "16 hexadecimal characters"),
        ({"Signature": None}, 100000009, "Signature"),
        ({"SignatureVersion": None}, 100000013, "SignatureVersion"),
        ({"SignatureVersion": "1.0"}, 100000014, "2.0"),
        ({"Signature": "0" * 32}, 100000005, "Signature wrong"),
    ],
    ids=[
        "app_id_missing",
        "app_id_not_a_number",
        "app_id_fullwidth_digits",
        "app_id_over_uint32",
        "app_id_not_configured",
        "action_empty",
        "action_missing",
        "action_unsupported",
        "timestamp_missing",
        "timestamp_not_whole",
        "nonce_empty",
        "nonce_too_short",
        "nonce_not_hex",
        "signature_missing",
        "version_missing",
        "version_unsupported",
        "signature_wrong",
    ],
)
def test_it_answers_the_gateway_code_for_a_bad_common_parameter(
    sim: ZegoSimulator, changes: dict[str, str | None], code: int, says: str
) -> None:
    common = common_params()
    for name, value in changes.items():
        if value is None:
            del common[name]
        else:
            common[name] = value

    reply = api_get(sim, common, "Vendor=Tencent&FileId=1&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset")

    assert reply["Code"] == code
    assert says in reply["Message"]
    assert reply["Data"] == {}
    assert reply["RequestId"].isdigit() and len(reply["RequestId"]) == 19


def test_it_rejects_a_signature_in_upper_case(sim: ZegoSimulator) -> None:
    common = common_params()
    common["Signature"] = common["Signature"].upper()

    assert api_get(sim, common)["Code"] == 100000005


def test_it_rejects_a_client_with_the_wrong_server_secret(sim: ZegoSimulator) -> None:
    result = client_for(sim, secret="f" * 32).media_thumbnails(tencent_points())

    assert result.code == 100000005
    assert result.outcome is Outcome.FAILED


def test_it_accepts_an_upper_case_nonce(sim: ZegoSimulator) -> None:
    reply = api_get(
        sim,
        common_params(nonce="4FD24687296DD9F3"),
        "Vendor=Tencent&FileId=1&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
    )

    assert reply["Code"] == 0


def test_it_rejects_a_timestamp_more_than_ten_minutes_from_its_clock(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    clock.advance(605)  # the simulator's clock runs ahead: the client's Timestamp looks old
    behind = zego.media_thumbnails(tencent_points())
    clock.advance(-10)
    within = zego.media_thumbnails(tencent_points())
    clock.advance(-1200)
    ahead = zego.media_thumbnails(tencent_points())

    assert behind.code == 100000004 and "behind" in behind.message
    assert within.code == 0
    assert ahead.code == 100000004 and "ahead" in ahead.message


def test_it_refuses_a_signature_it_has_already_accepted(sim: ZegoSimulator, clock: FakeClock) -> None:
    business = "Vendor=Tencent&FileId=1&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset"
    common = common_params()

    first = api_get(sim, common, business)
    clock.advance(300)
    replay = api_get(sim, common, business)
    fresh = api_get(sim, common_params(), business)

    assert first["Code"] == 0
    assert replay["Code"] == 100000004 and "reused" in replay["Message"]
    assert fresh["Code"] == 0


def test_it_refuses_a_prepared_call_sent_twice(sim: ZegoSimulator, zego: ZegoClient) -> None:
    call = zego.prepare_thumbnails(tencent_points())

    first = zego.send(call)
    again = zego.send(call)  # a retry must prepare afresh: same nonce, same signature
    fresh = zego.send(zego.prepare_thumbnails(tencent_points()))

    assert (first.code, again.code, fresh.code) == (0, 100000004, 0)


def test_it_does_not_count_a_badly_signed_request_as_used(sim: ZegoSimulator) -> None:
    business = "Vendor=Tencent&FileId=1&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset"
    good = common_params()
    forged = {**good, "Signature": "0" * 32}

    assert api_get(sim, forged, business)["Code"] == 100000005
    assert api_get(sim, good, business)["Code"] == 0


# --- rate limit --------------------------------------------------------------------------------------------


def test_it_rate_limits_each_action_separately_per_rolling_second(
    make_sim: Callable[..., ZegoSimulator], clock: FakeClock
) -> None:
    sim = make_sim(rate_limit=3)
    zego = client_for(sim)
    created = [zego.media_thumbnails(tencent_points()) for _ in range(4)]
    described = [zego.describe_media_task(task_id=created[0].vendor_task_id, vendor=Vendor.TENCENT) for _ in range(3)]
    clock.advance(0.5)
    still_limited = zego.media_thumbnails(tencent_points())
    clock.advance(0.5)
    next_second = zego.media_thumbnails(tencent_points())

    assert [r.code for r in created] == [0, 0, 0, 6]
    assert created[3].message == "Request too frequent"
    assert [d.call.code for d in described] == [0, 0, 0]
    assert still_limited.code == 6
    assert next_second.code == 0


# --- MediaThumbnails parameters ----------------------------------------------------------------------------

T_POINTS = "Vendor=Tencent&FileId=12&Definition=10&Type=SnapshotByTimeOffset"
H_POINTS = "Vendor=Huawei&FileId=a.mp4&Type=SnapshotByTimeOffset"


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ("Vendor=Aliyun&FileId=12&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "Vendor"),
        ("Vendor=tencent&FileId=12&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "Vendor"),
        ("FileId=12&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "Vendor"),
        ("Vendor=Tencent&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "FileId"),
        ("Vendor=Huawei&FileId= &Interval=2&Type=SampleSnapshot", "FileId"),
        ("Vendor=Tencent&FileId=abc&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "FileId"),
        (
            f"Vendor=Tencent&FileId={'1' * 41}&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
            "FileId",
        ),
        ("Vendor=Tencent&FileId=12&Definition=10&ExtTimeOffsetSet[]=1&Type=Snapshot", "Type"),
        ("Vendor=Tencent&FileId=12&Definition=10&ExtTimeOffsetSet[]=1", "Type"),
        ("Vendor=Tencent&FileId=12&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset", "Definition"),
        (
            "Vendor=Tencent&FileId=12&Definition=0&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
            "Definition",
        ),
        (
            "Vendor=Tencent&FileId=12&Definition=10.0&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
            "Definition",
        ),
        (
            "Vendor=Tencent&FileId=12&Definition=ten&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
            "Definition",
        ),
        ("Vendor=Tencent&FileId=12&Definition=10&Interval=2&Type=SampleSnapshot", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Definition=10&Interval=2&Type=SampleSnapshot", "Definition"),
        (T_POINTS, "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=-1", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=inf", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=nan", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=1e3", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=1.5&ExtTimeOffsetSet[]=1.5", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet[]=2.0", "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&" + "&".join(f"ExtTimeOffsetSet[]={n}" for n in range(101)), "ExtTimeOffsetSet[]"),
        (f"{T_POINTS}&ExtTimeOffsetSet=1", "ExtTimeOffsetSet"),
        (f"{H_POINTS}&ExtTimeOffsetSet[]=2.5", "ExtTimeOffsetSet[]"),
        (f"{H_POINTS}&" + "&".join(f"ExtTimeOffsetSet[]={n}" for n in range(11)), "ExtTimeOffsetSet[]"),
        (f"{H_POINTS}&ExtTimeOffsetSet[]=1&Interval=2", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Type=SampleSnapshot", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Interval=0&Type=SampleSnapshot", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Interval=101&Type=SampleSnapshot", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Interval=2.0&Type=SampleSnapshot", "Interval"),
        ("Vendor=Huawei&FileId=a.mp4&Interval=1.5&Type=SampleSnapshot", "Interval"),
        (
            "Vendor=Huawei&FileId=a.mp4&Interval=2&ExtTimeOffsetSet[]=1&Type=SampleSnapshot",
            "ExtTimeOffsetSet[]",
        ),
        (
            "Vendor=Tencent&Vendor=Huawei&FileId=12&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
            "Vendor",
        ),
    ],
    ids=[
        "vendor_unknown",
        "vendor_wrong_case",
        "vendor_missing",
        "file_id_missing",
        "file_id_blank",
        "tencent_file_id_not_digits",
        "tencent_file_id_over_40_digits",
        "type_unknown",
        "type_missing",
        "tencent_definition_missing",
        "tencent_definition_zero",
        "tencent_definition_sent_as_decimal",
        "tencent_definition_not_a_number",
        "tencent_interval",
        "huawei_definition",
        "time_points_missing",
        "time_point_negative",
        "time_point_infinite",
        "time_point_nan",
        "time_point_exponent",
        "time_point_empty",
        "time_point_repeated",
        "time_point_whole_sent_as_decimal",
        "tencent_101_time_points",
        "time_points_without_brackets",
        "huawei_time_point_fraction",
        "huawei_11_time_points",
        "interval_with_time_points",
        "huawei_interval_missing",
        "huawei_interval_zero",
        "huawei_interval_over_100",
        "huawei_interval_sent_as_decimal",
        "huawei_interval_fraction",
        "time_points_with_sample_snapshot",
        "vendor_given_twice",
    ],
)
def test_it_names_the_field_at_fault_in_a_parameter_error(sim: ZegoSimulator, business: str, field: str) -> None:
    reply = signed_get(sim, business)

    assert reply["Code"] == 2
    assert reply["Message"].startswith(field)
    assert sim.tasks == ()


# --- DescribeMediaTask -------------------------------------------------------------------------------------


def test_it_walks_a_tencent_task_from_waiting_to_finish(sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock) -> None:
    task_id = zego.media_thumbnails(tencent_points(TENCENT_FILE, "1", "2.5", "7")).vendor_task_id

    waiting = zego.describe_media_task(task_id=task_id, vendor=Vendor.TENCENT)
    clock.advance(1.5)
    processing = zego.describe_media_task(task_id=task_id, vendor=Vendor.TENCENT)
    clock.advance(1.5)
    finished = zego.describe_media_task(task_id=task_id, vendor=Vendor.TENCENT)

    assert (waiting.status, waiting.thumbnail_urls, waiting.finished) == ("WAITING", (), False)
    assert (processing.status, processing.thumbnail_urls) == ("PROCESSING", ())
    assert (finished.status, finished.event, finished.succeeded) == ("FINISH", "SnapshotByTimeOffset", True)
    assert finished.call.data["Tencent"]["FileId"] == TENCENT_FILE
    assert finished.thumbnail_urls == tuple(f"{sim.url}thumbs/{task_id}/{n}.png" for n in (1, 2, 3))


def test_it_walks_a_huawei_task_from_waiting_to_succeeded(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    created_at = datetime.fromtimestamp(clock.now, UTC)
    task_id = zego.media_thumbnails(huawei_sample()).vendor_task_id

    waiting = zego.describe_media_task(task_id=task_id, vendor=Vendor.HUAWEI)
    clock.advance(1)
    processing = zego.describe_media_task(task_id=task_id, vendor=Vendor.HUAWEI)
    clock.advance(5)
    finished = zego.describe_media_task(task_id=task_id, vendor=Vendor.HUAWEI)

    assert (waiting.status, waiting.end_time, waiting.file_names) == ("WAITING", "", ())
    assert (processing.status, processing.end_time, processing.file_names) == ("PROCESSING", "", ())
    assert finished.status == "SUCCEEDED" and finished.succeeded
    assert finished.create_time == created_at.strftime("%Y%m%d%H%M%S")
    end = datetime.strptime(finished.end_time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert 0 < (end - created_at).total_seconds() <= 6
    assert finished.file_names == tuple(f"snapshots/{task_id}/{n}.png" for n in range(1, 7))


def test_it_lists_one_thumbnail_per_time_point_and_six_for_a_sample(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    points = zego.media_thumbnails(
        ThumbnailRequest(
            vendor=Vendor.HUAWEI,
            mode=Mode.TIME_POINTS,
            file_id=HUAWEI_FILE,
            time_points=(Decimal(0), Decimal(4)),
        )
    ).vendor_task_id
    sample = zego.media_thumbnails(
        ThumbnailRequest(vendor=Vendor.TENCENT, mode=Mode.INTERVAL, file_id=TENCENT_FILE, definition=10)
    ).vendor_task_id
    clock.advance(3)

    assert len(zego.describe_media_task(task_id=points, vendor=Vendor.HUAWEI).file_names) == 2
    described = zego.describe_media_task(task_id=sample, vendor=Vendor.TENCENT)
    assert described.event == "SampleSnapshot" and len(described.thumbnail_urls) == 6


def test_it_says_an_unknown_tencent_task_is_not_found(sim: ZegoSimulator, zego: ZegoClient) -> None:
    status = zego.describe_media_task(task_id="1500030200-procedurev2-" + "0" * 32 + "tt0", vendor=Vendor.TENCENT)

    assert status.call.code == 2
    assert status.call.message == "TaskId not found"


def test_it_answers_no_task_for_an_unknown_huawei_task(sim: ZegoSimulator, zego: ZegoClient) -> None:
    tencent_task = zego.media_thumbnails(tencent_points()).vendor_task_id

    unknown = zego.describe_media_task(task_id="0" * 32, vendor=Vendor.HUAWEI)
    other_vendor = zego.describe_media_task(task_id=tencent_task, vendor=Vendor.HUAWEI)

    assert (unknown.call.code, unknown.status, unknown.file_names) == (0, "NO_TASK", ())
    assert other_vendor.status == "NO_TASK"


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ("TaskId=abc&Vendor=Aliyun", "Vendor"),
        ("Vendor=Tencent", "TaskId"),
        ("Vendor=Huawei&TaskId=", "TaskId"),
    ],
    ids=["vendor_unknown", "task_id_missing", "task_id_empty"],
)
def test_it_names_the_field_at_fault_when_describing(sim: ZegoSimulator, business: str, field: str) -> None:
    reply = signed_get(sim, business, action="DescribeMediaTask")

    assert reply["Code"] == 2
    assert reply["Message"].startswith(field)


# --- images ------------------------------------------------------------------------------------------------


def test_it_serves_the_tencent_thumbnails_it_lists(sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock) -> None:
    task_id = zego.media_thumbnails(tencent_points(TENCENT_FILE, "1", "2")).vendor_task_id
    clock.advance(3)
    urls = zego.describe_media_task(task_id=task_id, vendor=Vendor.TENCENT).thumbnail_urls

    fetched = [fetch(url) for url in urls]

    assert [status for status, _, _ in fetched] == [200, 200]
    for _, headers, body in fetched:
        assert headers["Content-Type"] == "image/png"
        assert "max-age" in headers["Cache-Control"]
        assert png_size(body) == (160, 90)
    first, second = (body for _, _, body in fetched)
    assert first != second  # different frames look different


def test_it_serves_huawei_thumbnails_under_obs(sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock) -> None:
    task_id = zego.media_thumbnails(huawei_sample()).vendor_task_id
    clock.advance(3)
    names = zego.describe_media_task(task_id=task_id, vendor=Vendor.HUAWEI).file_names

    status, headers, body = fetch(f"{sim.url}obs/{names[-1]}")

    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png_size(body) == (160, 90)
    idat = body.index(b"IDAT")
    (length,) = struct.unpack(">I", body[idat - 4 : idat])
    pixels = zlib.decompress(body[idat + 4 : idat + 4 + length])
    assert len(pixels) == 90 * (1 + 160 * 3)


def test_it_answers_404_for_images_that_do_not_exist_yet_or_at_all(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    task_id = zego.media_thumbnails(tencent_points(TENCENT_FILE, "1")).vendor_task_id
    before_finish = fetch(f"{sim.url}thumbs/{task_id}/1.png")
    clock.advance(3)

    missing = [
        fetch(f"{sim.url}thumbs/{task_id}/2.png"),
        fetch(f"{sim.url}thumbs/1500030200-procedurev2-{'0' * 32}tt0/1.png"),
        fetch(f"{sim.url}obs/snapshots/{task_id}/1.png"),
        fetch(f"{sim.url}thumbs/{task_id}/1.jpg"),
        fetch(f"{sim.url}obs/other/{task_id}/1.png"),
    ]

    for status, headers, _ in [before_finish, *missing]:
        assert status == 404
        assert headers["Content-Type"].startswith("text/plain")
        assert headers["Cache-Control"] == "no-store"
    assert fetch(f"{sim.url}thumbs/{task_id}/1.png")[0] == 200


# --- scripted FileIds --------------------------------------------------------------------------------------


def test_it_exports_the_scripted_file_id_table() -> None:
    assert set(SCRIPTED_FILE_IDS) == {
        "99901000",
        "999041003",
        "99906",
        "9990408",
        "9990500",
        "9990200",
        "9990999",
        "9990777",
    }
    assert all(file_id.isdigit() and description for file_id, description in SCRIPTED_FILE_IDS.items())


def test_it_fails_99901000_with_code_1000_and_succeeds_on_the_retry(sim: ZegoSimulator, zego: ZegoClient) -> None:
    codes = [zego.media_thumbnails(tencent_points("99901000")).code for _ in range(4)]
    huawei = zego.media_thumbnails(huawei_sample("99901000")).code

    assert codes == [1000, 0, 1000, 0]
    assert huawei == 1000  # the count is per FileId, whatever the vendor


@pytest.mark.parametrize(
    ("file_id", "code", "message"),
    [("999041003", 41003, "File does not exist"), ("99906", 6, "Request too frequent")],
)
def test_it_always_fails_a_scripted_file_id_the_same_way(
    sim: ZegoSimulator, zego: ZegoClient, file_id: str, code: int, message: str
) -> None:
    results = [zego.media_thumbnails(tencent_points(file_id)) for _ in range(2)]
    huawei = zego.media_thumbnails(huawei_sample(file_id))

    assert [(r.code, r.message) for r in [*results, huawei]] == [(code, message)] * 3
    assert sim.tasks == ()


def test_it_answers_9990408_too_slowly_for_an_impatient_client(
    make_sim: Callable[..., ZegoSimulator],
) -> None:
    sim = make_sim(slow_seconds=0.4)

    impatient = client_for(sim, timeout=0.1).media_thumbnails(tencent_points("9990408"))
    patient = client_for(sim, timeout=3).media_thumbnails(tencent_points("9990408"))

    assert impatient.failure is not None and impatient.failure.kind is FailureKind.READ_TIMEOUT
    assert impatient.outcome is Outcome.UNKNOWN
    assert patient.code == 0 and patient.latency_ms >= 400


def test_it_answers_9990500_with_an_html_error_page(sim: ZegoSimulator, zego: ZegoClient) -> None:
    result = zego.media_thumbnails(tencent_points("9990500"))

    assert result.http_status == 500
    assert result.failure is not None and result.failure.kind is FailureKind.HTTP_ERROR
    assert "<html" in result.body


def test_it_answers_9990200_with_a_body_that_is_not_json(sim: ZegoSimulator, zego: ZegoClient) -> None:
    result = zego.media_thumbnails(huawei_sample("9990200"))

    assert result.http_status == 200
    assert result.failure is not None and result.failure.kind is FailureKind.NOT_JSON


def test_it_accepts_9990999_then_reports_the_task_failed(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    tencent = zego.media_thumbnails(tencent_points("9990999"))
    huawei = zego.media_thumbnails(huawei_sample("9990999"))
    clock.advance(1.5)
    tencent_midway = zego.describe_media_task(task_id=tencent.vendor_task_id, vendor=Vendor.TENCENT)
    clock.advance(2)
    tencent_end = zego.describe_media_task(task_id=tencent.vendor_task_id, vendor=Vendor.TENCENT)
    huawei_end = zego.describe_media_task(task_id=huawei.vendor_task_id, vendor=Vendor.HUAWEI)

    assert (tencent.code, huawei.code) == (0, 0)
    assert tencent_midway.status == "PROCESSING"
    assert (tencent_end.status, tencent_end.thumbnail_urls, tencent_end.finished) == ("FAIL", (), True)
    assert tencent_end.message and not tencent_end.succeeded
    assert (huawei_end.status, huawei_end.file_names) == ("FAILED", ())
    assert huawei_end.end_time != ""
    assert fetch(f"{sim.url}thumbs/{tencent.vendor_task_id}/1.png")[0] == 404


def test_it_accepts_9990777_and_keeps_the_task_processing_for_ever(
    sim: ZegoSimulator, zego: ZegoClient, clock: FakeClock
) -> None:
    tencent = zego.media_thumbnails(tencent_points("9990777"))
    huawei = zego.media_thumbnails(huawei_sample("9990777"))
    waiting = zego.describe_media_task(task_id=tencent.vendor_task_id, vendor=Vendor.TENCENT)
    clock.advance(500)  # long past any other task's three seconds (and within the gateway's 10 minutes)
    tencent_later = zego.describe_media_task(task_id=tencent.vendor_task_id, vendor=Vendor.TENCENT)
    huawei_later = zego.describe_media_task(task_id=huawei.vendor_task_id, vendor=Vendor.HUAWEI)

    assert (tencent.code, huawei.code) == (0, 0)
    assert waiting.status == "WAITING"
    assert (tencent_later.status, tencent_later.thumbnail_urls, tencent_later.finished) == ("PROCESSING", (), False)
    assert (huawei_later.status, huawei_later.file_names, huawei_later.end_time) == ("PROCESSING", (), "")


# --- HTTP edges --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["favicon.ico", "v1/MediaThumbnails", "api/", "index.html?AppId=1"])
def test_it_answers_404_json_for_any_other_path(sim: ZegoSimulator, path: str) -> None:
    status, headers, body = fetch(sim.url + path)

    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert "GET /" in json.loads(body)["Message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_it_answers_405_to_anything_but_get(sim: ZegoSimulator, method: str) -> None:
    status, headers, body = fetch(sim.url, method=method)

    assert status == 405
    assert headers["Allow"] == "GET"
    assert json.loads(body)["Error"] == "method_not_allowed"


def test_it_answers_500_json_when_a_handler_breaks_and_keeps_serving(
    sim: ZegoSimulator, zego: ZegoClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handle = sim.app.handle

    def broken_describe(path: str) -> Reply:
        if "DescribeMediaTask" in path:
            raise RuntimeError("simulated bug")
        return handle(path)

    monkeypatch.setattr(sim.app, "handle", broken_describe)
    common = common_params("DescribeMediaTask")

    with caplog.at_level(logging.ERROR, logger="zego_simulator"):
        status, headers, body = fetch(f"{sim.url}?{urlencode(common)}&Vendor=Tencent&TaskId=x")

    assert status == 500
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["Code"] == 100000015
    assert "simulated bug" in caplog.text
    assert common["Signature"] not in caplog.text
    assert zego.media_thumbnails(tencent_points()).code == 0


def test_it_survives_a_query_it_cannot_decode(sim: ZegoSimulator) -> None:
    status, _, body = fetch(f"{sim.url}?AppId=%FF%FE&Action=%E0%80&&&=&Timestamp")

    assert status == 200
    assert json.loads(body)["Code"] == 100000001


def test_it_never_logs_the_signature_or_the_server_secret(
    make_sim: Callable[..., ZegoSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    sim = make_sim(quiet=False)
    common = common_params()

    with caplog.at_level(logging.INFO, logger="zego_simulator"):
        api_get(
            sim,
            common,
            "Vendor=Tencent&FileId=1&Definition=10&ExtTimeOffsetSet[]=1&Type=SnapshotByTimeOffset",
        )
        fetch(f"{sim.url}?Sign%61ture={common['Signature']}")

    assert "Signature=[redacted]" in caplog.text
    assert f"SignatureNonce={common['SignatureNonce']}" in caplog.text
    assert common["Signature"] not in caplog.text
    assert SECRET not in caplog.text


def test_it_logs_no_requests_when_quiet(sim: ZegoSimulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="zego_simulator"):
        api_get(sim, common_params())

    assert caplog.text == ""


def test_it_stops_listening_when_its_with_block_ends() -> None:
    with ZegoSimulator(APP_ID, SECRET, quiet=True) as sim:
        during = client_for(sim).media_thumbnails(tencent_points())
    after = client_for(sim).media_thumbnails(tencent_points())
    sim.stop()  # a second stop is harmless

    assert during.code == 0
    assert after.failure is not None and after.failure.kind is FailureKind.CONNECTION_REFUSED


# --- manage.py zego_simulator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "70000"], "1 to 65535"),
        (["--port", "0"], "1 to 65535"),
        (["--port", "eighty"], "invalid int value"),
        (["--slow-seconds", "-1"], "--slow-seconds"),
        (["--slow-seconds", "nan"], "--slow-seconds"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--app-id", "-5"], "--app-id"),
        (["--server-secret", ""], "--server-secret"),
        (["--host", "no-such-host.invalid"], "--host"),
    ],
    ids=[
        "port_too_high",
        "port_zero",
        "port_not_a_number",
        "slow_negative",
        "slow_nan",
        "rate_zero",
        "app_id_negative",
        "secret_empty",
        "host_unknown",
    ],
)
def test_it_refuses_bad_command_options_with_a_clear_error(argv: list[str], says: str) -> None:
    with pytest.raises(CommandError, match=says.replace("-", r"\-")):
        call_command("zego_simulator", *argv)


def test_it_says_in_one_line_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError) as raised:
            call_command("zego_simulator", "--port", str(port))

    assert str(raised.value) == (
        f"Port {port} on 127.0.0.1 is already in use: stop what holds it, or pick another --port."
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl_c"])
def test_it_runs_from_manage_py_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    port = free_port()
    env = {**os.environ, "DJANGO_DEBUG": "on", "ZEGO_SIMULATOR": "on", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "zego_simulator", "--port", str(port), "--slow-seconds", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = first_line(process, timeout=15)
        zego = ZegoClient(
            ZegoConfig(
                app_id=settings.SIMULATOR_APP_ID,
                server_secret=settings.SIMULATOR_SERVER_SECRET,
                api_url=f"http://127.0.0.1:{port}/",
                rate_limit_per_second=1000,
            ),
            pacer=ProcessPacer(),
        )
        result = zego.media_thumbnails(tencent_points())
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert banner == f"ZEGO simulator listening on http://127.0.0.1:{port}/ (AppId {settings.SIMULATOR_APP_ID})\n"
    assert result.code == 0
    assert process.returncode == 0
    assert "stopped" in out
    assert "Traceback" not in err
    assert "Signature=[redacted]" in err
    assert settings.SIMULATOR_SERVER_SECRET not in err


# --- apart from the console --------------------------------------------------------------------------------

CONSOLE_MODULES = ("dashboard.views", "dashboard.services", "dashboard.urls", "thumbs_admin.urls")


def _modules_after(imports: str, *, django: bool = False, **env: str) -> list[str]:
    """The modules a fresh Python holds after running ``imports`` (after ``django.setup()`` if asked)."""
    setup = "import django; django.setup(); " if django else ""
    script = f"import json, sys; {setup}{imports}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "thumbs_admin.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_console_does_not_load_the_simulator_outside_simulator_mode() -> None:
    real_zego = {
        "ZEGO_APP_ID": "1",
        "ZEGO_SERVER_SECRET": "9193cc662a4c0ec135ec71fb57194b38",
        "ZEGO_API_URL": "https://example.invalid/",
        "ZEGO_SIMULATOR": "off",
        "DJANGO_DEBUG": "off",
    }

    loaded = _modules_after("import " + ", ".join(CONSOLE_MODULES), django=True, **real_zego)

    assert set(CONSOLE_MODULES) <= set(loaded)
    assert [name for name in loaded if name.split(".")[0] == "zego_simulator"] == []


def test_the_simulator_loads_nothing_of_the_console_but_the_signing_code() -> None:
    loaded = _modules_after("import zego_simulator")

    project = [name for name in loaded if name.split(".")[0] in {"dashboard", "django", "thumbs_admin"}]
    assert project == ["dashboard", "dashboard.zego", "dashboard.zego.signing"]
    assert "zego_simulator.server" in loaded


@pytest.mark.parametrize("simulator_mode", [True, False], ids=["simulator_mode", "real_zego"])
def test_the_home_page_lists_the_scripted_file_ids_only_in_simulator_mode(
    operator_client, settings, simulator_mode: bool
) -> None:
    settings.ZEGO_SIMULATOR = simulator_mode

    page = operator_client.get("/").content.decode()

    shown = [file_id for file_id in SCRIPTED_FILE_IDS if f">{file_id}<" in page]
    assert shown == (list(SCRIPTED_FILE_IDS) if simulator_mode else [])
    assert ("Scripted File IDs" in page) is simulator_mode


def test_the_readme_lists_the_scripted_file_ids() -> None:
    readme = (ROOT / "README.md").read_text()

    assert re.findall(r"^\| `([0-9]+)` \|", readme, re.MULTILINE) == list(SCRIPTED_FILE_IDS)
