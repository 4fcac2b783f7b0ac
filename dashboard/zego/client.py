"""The one seam to ZEGO's server API: the only module that imports ``requests``.

Every call has a connect and a read timeout, and every way a call can go wrong (timeout, refused
connection, a 5xx page, a body that is not JSON) comes back as a typed ``CallResult`` whose ``failure``
says what happened and whether the request may have reached ZEGO. Nothing raises past the client.

The ServerSecret and the Signature exist only inside ``ZegoClient.send``: neither is kept on a result,
written to a log line, or quoted in a failure message.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables

from . import signing
from .codes import CodeInfo, lookup

log = logging.getLogger("dashboard.zego")

BODY_LIMIT = 64 * 1024
USER_AGENT = "thumbs/0.1 (+MediaThumbnails console)"


class Vendor(StrEnum):
    TENCENT = "Tencent"
    HUAWEI = "Huawei"


class SnapshotType(StrEnum):
    TIME_OFFSET = "SnapshotByTimeOffset"
    SAMPLE = "SampleSnapshot"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"  # Code 0
    FAILED = "failed"  # ZEGO answered with a non-zero Code
    UNKNOWN = "unknown"  # no usable answer: the request may or may not have reached ZEGO


@dataclass(frozen=True, repr=False)
class ZegoConfig:
    app_id: int
    server_secret: str
    api_url: str
    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    rate_limit_per_second: int = 20

    def __repr__(self) -> str:  # never print the secret, even by accident in a traceback
        return f"ZegoConfig(app_id={self.app_id}, api_url={self.api_url!r}, server_secret='***')"

    @classmethod
    def from_settings(cls) -> ZegoConfig:
        from django.conf import settings

        return cls(
            app_id=settings.ZEGO_APP_ID,
            server_secret=settings.ZEGO_SERVER_SECRET,
            api_url=settings.ZEGO_API_URL,
            timeout_seconds=settings.ZEGO_TIMEOUT_SECONDS,
            connect_timeout_seconds=settings.ZEGO_CONNECT_TIMEOUT_SECONDS,
            rate_limit_per_second=settings.ZEGO_RATE_LIMIT_PER_SECOND,
        )


def format_number(value: Decimal | int) -> str:
    """A query value as ZEGO expects it: whole numbers without a trailing ``.0``, no exponent."""
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


@dataclass(frozen=True)
class ThumbnailRequest:
    vendor: Vendor
    type: SnapshotType
    file_id: str
    definition: int | None = None
    time_offsets: tuple[Decimal, ...] = ()
    interval: int | None = None

    def business_params(self) -> list[tuple[str, str]]:
        """The MediaThumbnails parameters, in ZEGO's documented order, each only where it belongs."""
        params = [("Vendor", self.vendor.value), ("FileId", self.file_id)]
        if self.vendor is Vendor.TENCENT and self.definition is not None:
            params.append(("Definition", format_number(self.definition)))
        if self.type is SnapshotType.TIME_OFFSET:
            params.extend(("ExtTimeOffsetSet[]", format_number(t)) for t in self.time_offsets)
        if self.vendor is Vendor.HUAWEI and self.type is SnapshotType.SAMPLE and self.interval is not None:
            params.append(("Interval", format_number(self.interval)))
        params.append(("Type", self.type.value))
        return params


@dataclass(frozen=True)
class PreparedCall:
    """A call ready to send: its nonce and timestamp are known (so they can be recorded first); its
    signature is not computed until ``send``."""

    action: str
    params: tuple[tuple[str, str], ...]
    app_id: int
    nonce: str
    timestamp: int

    def public_query(self) -> list[tuple[str, str]]:
        """The query as sent, with the Signature left as a placeholder."""
        return [
            ("Action", self.action),
            ("AppId", str(self.app_id)),
            ("SignatureNonce", self.nonce),
            ("Timestamp", str(self.timestamp)),
            ("Signature", "<signature>"),
            ("SignatureVersion", signing.SIGNATURE_VERSION),
            *self.params,
        ]


class FailureKind(StrEnum):
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_ERROR = "connection_error"
    TLS_ERROR = "tls_error"
    READ_TIMEOUT = "read_timeout"
    HTTP_ERROR = "http_error"
    NOT_JSON = "not_json"
    BAD_SHAPE = "bad_shape"


@dataclass(frozen=True)
class TransportFailure:
    kind: FailureKind
    detail: str
    may_have_reached: bool

    @property
    def advice(self) -> str:
        if self.may_have_reached:
            return (
                "ZEGO may have received this request and started a task. Check before retrying if a "
                "duplicate would matter; a retry is otherwise safe."
            )
        return "The request never reached ZEGO: nothing was started, a retry is safe."


@dataclass(frozen=True)
class CallResult:
    action: str
    code: int | None = None
    message: str = ""
    request_id: str = ""
    vendor_task_id: str = ""
    vendor_request_id: str = ""
    http_status: int | None = None
    latency_ms: int = 0
    body: str = ""
    failure: TransportFailure | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def outcome(self) -> Outcome:
        if self.failure is not None or self.code is None:
            return Outcome.UNKNOWN
        return Outcome.SUCCEEDED if self.code == 0 else Outcome.FAILED

    @property
    def code_info(self) -> CodeInfo | None:
        return None if self.code is None else lookup(self.action, self.code)


@dataclass(frozen=True)
class MediaTaskStatus:
    """DescribeMediaTask's answer for one vendor task."""

    call: CallResult
    vendor: Vendor
    status: str = ""
    event: str = ""
    message: str = ""
    thumbnail_urls: tuple[str, ...] = ()
    file_names: tuple[str, ...] = ()
    create_time: str = ""
    end_time: str = ""

    @property
    def finished(self) -> bool:
        return self.status in {"FINISH", "SUCCEEDED", "FAIL", "FAILED", "CANCELED", "NO_TASK"}

    @property
    def succeeded(self) -> bool:
        return self.status in {"FINISH", "SUCCEEDED"}


class RateLimiter:
    """At most ``rate`` calls in any one-second window, per (AppID, action), within this process.

    ZEGO's limit is per AppID across every caller; several processes sharing an AppID should each be
    given a share of it through ZEGO_RATE_LIMIT_PER_SECOND.
    """

    def __init__(self, rate: int, clock=time.monotonic, sleep=time.sleep) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= 1.0:
                    self._sent.popleft()
                if len(self._sent) < self.rate:
                    self._sent.append(now)
                    return waited
                pause = 1.0 - (now - self._sent[0])
                self._sleep(pause)
                waited += pause
                self._sent.popleft()  # the slot waited for is free now, whatever float rounding says


_limiters: dict[tuple[int, str, int], RateLimiter] = {}
_limiters_lock = threading.Lock()


def _limiter_for(app_id: int, action: str, rate: int) -> RateLimiter:
    with _limiters_lock:
        return _limiters.setdefault((app_id, action, rate), RateLimiter(rate))


def _text_field(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


class ZegoClient:
    def __init__(self, config: ZegoConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    # --- building -----------------------------------------------------------------------------------
    def prepare(self, action: str, params: list[tuple[str, str]]) -> PreparedCall:
        return PreparedCall(
            action=action,
            params=tuple(params),
            app_id=self.config.app_id,
            nonce=signing.new_nonce(),
            timestamp=signing.now_timestamp(),
        )

    def prepare_thumbnails(self, request: ThumbnailRequest) -> PreparedCall:
        return self.prepare("MediaThumbnails", request.business_params())

    def prepare_describe(self, *, task_id: str, vendor: Vendor) -> PreparedCall:
        return self.prepare("DescribeMediaTask", [("TaskId", task_id), ("Vendor", vendor.value)])

    # --- calling ------------------------------------------------------------------------------------
    def media_thumbnails(self, request: ThumbnailRequest) -> CallResult:
        return self.send(self.prepare_thumbnails(request))

    def describe_media_task(self, *, task_id: str, vendor: Vendor) -> MediaTaskStatus:
        return parse_media_task(self.send(self.prepare_describe(task_id=task_id, vendor=vendor)), vendor)

    @sensitive_variables("signature", "query")
    def send(self, call: PreparedCall) -> CallResult:
        signature = signing.request_signature(call.app_id, call.nonce, self.config.server_secret, call.timestamp)
        query = [
            ("Action", call.action),
            ("AppId", str(call.app_id)),
            ("SignatureNonce", call.nonce),
            ("Timestamp", str(call.timestamp)),
            ("Signature", signature),
            ("SignatureVersion", signing.SIGNATURE_VERSION),
            *call.params,
        ]
        _limiter_for(call.app_id, call.action, self.config.rate_limit_per_second).acquire()
        host = urlsplit(self.config.api_url).netloc
        started = time.monotonic()
        try:
            response = self._session.get(
                self.config.api_url,
                params=query,
                timeout=(self.config.connect_timeout_seconds, self.config.timeout_seconds),
                allow_redirects=False,
            )
            text = response.text
        except requests.exceptions.ConnectTimeout:
            return self._failed(
                call,
                started,
                FailureKind.CONNECT_TIMEOUT,
                f"No connection to {host} within {self.config.connect_timeout_seconds:g} s.",
                False,
            )
        except requests.exceptions.ReadTimeout:
            return self._failed(
                call,
                started,
                FailureKind.READ_TIMEOUT,
                f"{host} accepted the request but sent no answer within {self.config.timeout_seconds:g} s.",
                True,
            )
        except requests.exceptions.SSLError:
            return self._failed(
                call,
                started,
                FailureKind.TLS_ERROR,
                f"TLS handshake with {host} failed (certificate or protocol).",
                False,
            )
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, socket.gaierror):
                return self._failed(
                    call,
                    started,
                    FailureKind.CONNECTION_ERROR,
                    f"Could not resolve {host}: check ZEGO_API_URL and this server's DNS.",
                    False,
                )
            if _caused_by(exc, ConnectionRefusedError):
                return self._failed(
                    call,
                    started,
                    FailureKind.CONNECTION_REFUSED,
                    f"{host} refused the connection: is ZEGO_API_URL right, and the server up?",
                    False,
                )
            return self._failed(
                call,
                started,
                FailureKind.CONNECTION_ERROR,
                f"The connection to {host} failed or was cut before an answer came.",
                True,
            )
        except requests.exceptions.RequestException as exc:
            return self._failed(
                call,
                started,
                FailureKind.CONNECTION_ERROR,
                f"The request to {host} failed ({type(exc).__name__}).",
                True,
            )
        latency_ms = _elapsed_ms(started)
        # Scrub before cutting, so that an echo straddling the cut cannot leave a piece behind.
        body = _scrub(text, self.config.server_secret, signature)[:BODY_LIMIT]
        result = self._parse(call, response.status_code, body, latency_ms)
        log.info(
            "zego %s app=%s status=%s code=%s request_id=%s latency_ms=%s%s",
            call.action,
            call.app_id,
            response.status_code,
            result.code,
            result.request_id or "-",
            latency_ms,
            f" failure={result.failure.kind}" if result.failure else "",
        )
        return result

    def _failed(self, call: PreparedCall, started: float, kind: FailureKind, detail: str, reached: bool) -> CallResult:
        latency_ms = _elapsed_ms(started)
        log.warning("zego %s app=%s failure=%s latency_ms=%s: %s", call.action, call.app_id, kind, latency_ms, detail)
        return CallResult(
            action=call.action,
            latency_ms=latency_ms,
            failure=TransportFailure(kind=kind, detail=detail, may_have_reached=reached),
        )

    def _parse(self, call: PreparedCall, status: int, body: str, latency_ms: int) -> CallResult:
        base = {"action": call.action, "http_status": status, "latency_ms": latency_ms, "body": body}
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            if status >= 500:
                detail = f"HTTP {status} with a body that is not JSON (an error page from ZEGO or a proxy)."
                kind = FailureKind.HTTP_ERROR
            else:
                detail = f"HTTP {status} with a body that is not JSON."
                kind = FailureKind.NOT_JSON
            return CallResult(**base, failure=TransportFailure(kind, detail, True))
        code = payload.get("Code") if isinstance(payload, dict) else None
        if isinstance(code, bool) or not isinstance(code, int):
            return CallResult(
                **base,
                failure=TransportFailure(FailureKind.BAD_SHAPE, f"HTTP {status}: JSON without a numeric Code.", True),
            )
        data = payload.get("Data") if isinstance(payload.get("Data"), dict) else {}
        tencent = data.get("Tencent") if isinstance(data.get("Tencent"), dict) else {}
        huawei = data.get("Huawei") if isinstance(data.get("Huawei"), dict) else {}
        return CallResult(
            **base,
            code=code,
            message=_text_field(payload.get("Message")),
            request_id=_text_field(payload.get("RequestId")),
            vendor_task_id=_text_field(tencent.get("TaskId") or huawei.get("task_id") or huawei.get("TaskId")),
            vendor_request_id=_text_field(tencent.get("RequestId")),
            data=data,
        )


def parse_media_task(call: CallResult, vendor: Vendor) -> MediaTaskStatus:
    part = call.data.get(vendor.value) if call.code == 0 else None
    if not isinstance(part, dict):
        return MediaTaskStatus(call=call, vendor=vendor, message=call.message)

    def strings(value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    return MediaTaskStatus(
        call=call,
        vendor=vendor,
        status=_text_field(part.get("Status")),
        event=_text_field(part.get("Event")),
        message=_text_field(part.get("Message")),
        thumbnail_urls=strings(part.get("ThumbnailsUrl")),
        file_names=strings(part.get("FileName")),
        create_time=_text_field(part.get("CreateTime")),
        end_time=_text_field(part.get("EndTime")),
    )


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _caused_by(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    """Whether ``kind`` is anywhere in the chain requests and urllib3 wrap around the socket error."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend(
            e
            for e in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
            if isinstance(e, BaseException)
        )
    return False


def _scrub(text: str, *secrets_: str) -> str:
    """Belt and braces: an echo of the secret or signature in a reply body never gets stored."""
    for value in secrets_:
        if value:
            text = text.replace(value, "[redacted]")
    return text


def default_client() -> ZegoClient:
    return ZegoClient(ZegoConfig.from_settings())
