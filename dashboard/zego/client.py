"""The one seam to ZEGO's server API: the only module that imports ``requests``.

Every call is bounded: a connect timeout, a read timeout between bytes, a total deadline for the whole
exchange (a server that drips its reply a byte at a time is cut off), and a cap on the reply's size counted
after decompression (a gzip bomb is never inflated). Only an HTTP 200 can be a success; redirects are not
followed. Every way a call can go wrong comes back as a typed ``CallResult`` whose ``failure`` says what
happened and whether the request may have reached ZEGO. Nothing raises past the client.

The ServerSecret and the Signature exist only inside ``ZegoClient.send``: neither is kept on a result,
written to a log line, or quoted in a failure message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.views.decorators.debug import sensitive_variables

from . import signing
from .codes import TOO_FREQUENT
from .pacing import Pacer, PacingBusy, PacingError, shared_pacer
from .text import fit, for_log, scrub
from .types import (
    BODY_LIMIT,
    CODE_MAX,
    CODE_MIN,
    DESCRIBE_MEDIA_TASK,
    MEDIA_THUMBNAILS,
    MESSAGE_MAX,
    REQUEST_ID_MAX,
    VENDOR_REQUEST_ID_MAX,
    VENDOR_TASK_ID_MAX,
    CallResult,
    FailureKind,
    MediaTaskStatus,
    PreparedCall,
    ThumbnailRequest,
    TransportFailure,
    Vendor,
    ZegoConfig,
)

log = logging.getLogger("dashboard.zego")

CHUNK = 8 * 1024
# Read a little past the cap, so that a secret echoed across the cut is still whole when scrubbed.
READ_LIMIT = BODY_LIMIT + 1024
USER_AGENT = "thumbs/0.1 (+MediaThumbnails console)"


@dataclass(frozen=True)
class _Failure:
    """One rung of the ladder from a ``requests`` exception to what the operator is told."""

    exception: type[BaseException]
    kind: FailureKind
    detail: str  # formatted with host, connect and read (the timeouts, in seconds) and name (the exception's)
    may_have_reached: bool
    cause: type[BaseException] | None = None  # this rung applies only when the cause is in the chain


# First match wins: the specific cases before the general ones they subclass.
FAILURES: tuple[_Failure, ...] = (
    _Failure(
        requests.exceptions.ConnectTimeout,
        FailureKind.CONNECT_TIMEOUT,
        "No connection to {host} within {connect:g} s.",
        False,
    ),
    _Failure(
        requests.exceptions.ReadTimeout,
        FailureKind.READ_TIMEOUT,
        "{host} accepted the request but sent no answer within {read:g} s.",
        True,
    ),
    _Failure(
        requests.exceptions.ConnectionError,
        FailureKind.READ_TIMEOUT,
        "{host} stopped sending its answer for {read:g} s.",
        True,
        cause=urllib3.exceptions.ReadTimeoutError,
    ),
    _Failure(
        requests.exceptions.SSLError,
        FailureKind.TLS_ERROR,
        "TLS handshake with {host} failed (certificate or protocol).",
        False,
    ),
    _Failure(
        requests.exceptions.ConnectionError,
        FailureKind.CONNECTION_ERROR,
        "Could not resolve {host}: check ZEGO_API_URL and this server's DNS.",
        False,
        cause=socket.gaierror,
    ),
    _Failure(
        requests.exceptions.ConnectionError,
        FailureKind.CONNECTION_REFUSED,
        "{host} refused the connection: is ZEGO_API_URL right, and the server up?",
        False,
        cause=ConnectionRefusedError,
    ),
    _Failure(
        requests.exceptions.ConnectionError,
        FailureKind.CONNECTION_ERROR,
        "The connection to {host} failed or was cut before an answer came.",
        True,
    ),
    _Failure(
        requests.exceptions.RequestException,
        FailureKind.CONNECTION_ERROR,
        "The request to {host} failed ({name}).",
        True,
    ),
)


class ZegoClient:
    def __init__(self, config: ZegoConfig, session: requests.Session | None = None, pacer: Pacer | None = None) -> None:
        self.config = config
        self._session = session or _new_session()
        self._session.headers["User-Agent"] = USER_AGENT
        # Unless told otherwise, the pacer the console installed: one limit for every process.
        self._pacer = pacer if pacer is not None else shared_pacer()

    # --- building -----------------------------------------------------------------------------------
    def prepare(self, action: str, params: list[tuple[str, str]]) -> PreparedCall:
        return PreparedCall(
            api_url=self.config.api_url,
            action=action,
            params=tuple(params),
            app_id=self.config.app_id,
            nonce=signing.new_nonce(),
            timestamp=signing.now_timestamp(),
        )

    def prepare_thumbnails(self, request: ThumbnailRequest) -> PreparedCall:
        return self.prepare(MEDIA_THUMBNAILS, request.business_params())

    def prepare_describe(self, *, task_id: str, vendor: Vendor) -> PreparedCall:
        return self.prepare(DESCRIBE_MEDIA_TASK, [("TaskId", task_id), ("Vendor", vendor.value)])

    # --- calling ------------------------------------------------------------------------------------
    def media_thumbnails(self, request: ThumbnailRequest) -> CallResult:
        return self.send(self.prepare_thumbnails(request))

    def describe_media_task(self, *, task_id: str, vendor: Vendor) -> MediaTaskStatus:
        return parse_media_task(self.send(self.prepare_describe(task_id=task_id, vendor=vendor)), vendor)

    @sensitive_variables("signature")
    def send(self, call: PreparedCall) -> CallResult:
        signature = signing.request_signature(call.app_id, call.nonce, self.config.server_secret, call.timestamp)
        try:
            self._pacer.acquire(
                call.app_id,
                call.action,
                self.config.rate_limit_per_second,
                max_wait=self.config.pacing_max_wait_seconds,
            )
        except PacingError as exc:
            return self._not_sent(call, exc)
        started = time.monotonic()
        deadline = _Deadline(self.config.deadline_seconds)
        try:
            with deadline:
                response = self._session.get(
                    call.api_url,
                    params=call.query(signature),
                    timeout=(self.config.connect_timeout_seconds, self.config.timeout_seconds),
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    raw, complete = _read_capped(response, deadline)
        except requests.exceptions.RequestException as exc:
            if deadline.passed:
                return self._deadline_passed(call, started)
            return self._failed(call, started, exc)
        if deadline.passed:
            return self._deadline_passed(call, started)
        latency_ms = _elapsed_ms(started)
        # Scrub before cutting, so that an echo straddling the cut cannot leave a piece behind.
        text = scrub(_decode(raw, response), self.config.server_secret, signature)
        body = fit(text, BODY_LIMIT)
        if not complete or len(raw) > BODY_LIMIT:
            result = CallResult(
                action=call.action,
                http_status=response.status_code,
                latency_ms=latency_ms,
                body=body,
                failure=TransportFailure(
                    FailureKind.TOO_LARGE,
                    f"HTTP {response.status_code} with a reply over {BODY_LIMIT // 1024} KiB: not read further.",
                    True,
                ),
            )
        else:
            result = self._parse(call, response, body, latency_ms)
        if result.code == TOO_FREQUENT:
            self._slow_down(call)
        log.info(
            "zego %s app=%s status=%s code=%s request_id=%s latency_ms=%s%s",
            call.action,
            call.app_id,
            response.status_code,
            result.code,
            for_log(result.request_id or "-"),
            latency_ms,
            f" failure={result.failure.kind}" if result.failure else "",
        )
        return result

    def _not_sent(self, call: PreparedCall, exc: PacingError) -> CallResult:
        rate = self.config.rate_limit_per_second
        if isinstance(exc, PacingBusy):
            kind = FailureKind.NOT_SENT_BUSY
            detail = (
                f"ZEGO's limit of {rate} {call.action} calls/s for AppID {call.app_id} is taken by other work "
                f"(the next free turn was {exc.wait:.1f} s away; a call waits at most {exc.max_wait:g} s): "
                "nothing was sent, try again in a few seconds."
            )
        else:
            kind = FailureKind.NOT_SENT_PACING_ERROR
            detail = f"The shared rate limit could not be checked ({exc}): nothing was sent, try again shortly."
        log.warning("zego %s app=%s failure=%s: %s", call.action, call.app_id, kind, detail)
        return CallResult(action=call.action, failure=TransportFailure(kind, detail, may_have_reached=False))

    def _slow_down(self, call: PreparedCall) -> None:
        try:
            self._pacer.penalize(call.app_id, call.action)
        except PacingError as exc:
            log.warning(
                "zego %s app=%s: Code 6, and the pacer could not be slowed down: %s", call.action, call.app_id, exc
            )

    def _deadline_passed(self, call: PreparedCall, started: float) -> CallResult:
        host = urlsplit(call.api_url).netloc
        detail = f"{host} did not finish its answer within {self.config.deadline_seconds:g} s; thumbs stopped waiting."
        log.warning("zego %s app=%s failure=%s: %s", call.action, call.app_id, FailureKind.DEADLINE, detail)
        return CallResult(
            action=call.action,
            latency_ms=_elapsed_ms(started),
            failure=TransportFailure(FailureKind.DEADLINE, detail, may_have_reached=True),
        )

    def _failed(self, call: PreparedCall, started: float, exc: requests.exceptions.RequestException) -> CallResult:
        latency_ms = _elapsed_ms(started)
        rung = next(
            r for r in FAILURES if isinstance(exc, r.exception) and (r.cause is None or _caused_by(exc, r.cause))
        )
        detail = rung.detail.format(
            host=urlsplit(call.api_url).netloc,
            connect=self.config.connect_timeout_seconds,
            read=self.config.timeout_seconds,
            name=type(exc).__name__,
        )
        log.warning(
            "zego %s app=%s failure=%s latency_ms=%s: %s", call.action, call.app_id, rung.kind, latency_ms, detail
        )
        return CallResult(
            action=call.action,
            latency_ms=latency_ms,
            failure=TransportFailure(kind=rung.kind, detail=detail, may_have_reached=rung.may_have_reached),
        )

    def _parse(self, call: PreparedCall, response: requests.Response, body: str, latency_ms: int) -> CallResult:
        status = response.status_code
        base = {"action": call.action, "http_status": status, "latency_ms": latency_ms, "body": body}

        def failed(kind: FailureKind, detail: str) -> CallResult:
            return CallResult(**base, failure=TransportFailure(kind, detail, True))

        if 300 <= status < 400:
            where = for_log(response.headers.get("Location", "nowhere"), 200)
            return failed(
                FailureKind.HTTP_ERROR,
                f"HTTP {status}: a redirect (to {where}), which thumbs does not follow. Check ZEGO_API_URL.",
            )
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            if status >= 500:
                return failed(
                    FailureKind.HTTP_ERROR,
                    f"HTTP {status} with a body that is not JSON (an error page from ZEGO or a proxy).",
                )
            return failed(FailureKind.NOT_JSON, f"HTTP {status} with a body that is not JSON.")
        code = payload.get("Code") if isinstance(payload, dict) else None
        if isinstance(code, bool) or not isinstance(code, int):
            return failed(FailureKind.BAD_SHAPE, f"HTTP {status}: JSON without a numeric Code.")
        if not CODE_MIN <= code <= CODE_MAX:
            return failed(FailureKind.BAD_SHAPE, f"HTTP {status}: Code {for_log(code, 40)} is not a code ZEGO uses.")
        if code == 0 and status != 200:
            return failed(
                FailureKind.HTTP_ERROR, f"HTTP {status} whose body says success: only an HTTP 200 is taken as one."
            )
        data = payload.get("Data") if isinstance(payload.get("Data"), dict) else {}
        tencent = data.get("Tencent") if isinstance(data.get("Tencent"), dict) else {}
        huawei = data.get("Huawei") if isinstance(data.get("Huawei"), dict) else {}
        vendor_task_id = tencent.get("TaskId") or huawei.get("task_id") or huawei.get("TaskId")
        return CallResult(
            **base,
            code=code,
            message=_text_field(payload.get("Message"), MESSAGE_MAX),
            request_id=_text_field(payload.get("RequestId"), REQUEST_ID_MAX),
            vendor_task_id=_text_field(vendor_task_id, VENDOR_TASK_ID_MAX),
            vendor_request_id=_text_field(tencent.get("RequestId"), VENDOR_REQUEST_ID_MAX),
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


def _text_field(value: Any, limit: int | None = None) -> str:
    """A reply field as text that fits its column (NUL removed, cut to ``limit``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return fit(value, limit)


class _Deadline:
    """The total time a call may take. When it passes, the sockets of the call are shut down, which
    ends a read blocked on a server that sends a byte now and then (a read timeout alone would not)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False
        self._at = 0.0
        self._connections: list[Any] = []
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> _Deadline:
        self._at = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        _watching.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _watching.deadline = None
        if self._timer is not None:
            self._timer.cancel()

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def track(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for connection in self._connections:
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    # The plain socket's shutdown, also for TLS: it wakes the reading thread with EOF.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_watching = threading.local()


class _Tracked:
    """A urllib3 connection that lets the call's deadline (if any) shut it down."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_watching, "deadline", None)
        if deadline is not None:
            deadline.track(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Tracked, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _new_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", _Adapter())
    session.mount("https://", _Adapter())
    return session


def _read_capped(response: requests.Response, deadline: _Deadline) -> tuple[bytes, bool]:
    """The reply's bytes, decompressed a chunk at a time, up to READ_LIMIT; and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > READ_LIMIT:
            return b"".join(chunks)[:READ_LIMIT], False
        if deadline.remaining() <= 0:
            deadline.passed = True
            break
    return b"".join(chunks), True


def _decode(raw: bytes, response: requests.Response) -> str:
    # JSON is UTF-8 unless the server names another charset; no guessing over 64 KiB of bytes.
    content_type = response.headers.get("Content-Type", "")
    encoding = response.encoding if "charset=" in content_type.lower() and response.encoding else "utf-8"
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
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


def default_client(*, max_wait: float | None = None) -> ZegoClient:
    """A client with the settings' configuration and the shared pacer. A call waits for its turn at most
    ZEGO_PACING_MAX_WAIT_SECONDS (right for a browser); ``max_wait`` sets another bound (a worker's)."""
    config = ZegoConfig.from_settings()
    if max_wait is not None:
        config = replace(config, pacing_max_wait_seconds=max_wait)
    return ZegoClient(config)
