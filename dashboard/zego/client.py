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
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables

from . import signing
from .pacing import ProcessPacer, process_pacer
from .types import (
    DESCRIBE_MEDIA_TASK,
    MEDIA_THUMBNAILS,
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

BODY_LIMIT = 64 * 1024
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
    def __init__(
        self, config: ZegoConfig, session: requests.Session | None = None, pacer: ProcessPacer | None = None
    ) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._pacer = pacer or process_pacer

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
        self._pacer.acquire(call.app_id, call.action, self.config.rate_limit_per_second)
        started = time.monotonic()
        try:
            response = self._session.get(
                call.api_url,
                params=call.query(signature),
                timeout=(self.config.connect_timeout_seconds, self.config.timeout_seconds),
                allow_redirects=False,
            )
            text = response.text
        except requests.exceptions.RequestException as exc:
            return self._failed(call, started, exc)
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


def _text_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


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


def _scrub(text: str, *secrets_: str) -> str:
    """Belt and braces: an echo of the secret or signature in a reply body never gets stored."""
    for value in secrets_:
        if value:
            text = text.replace(value, "[redacted]")
    return text


def default_client() -> ZegoClient:
    return ZegoClient(ZegoConfig.from_settings())
