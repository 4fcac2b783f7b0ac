"""The typed objects at the edge with ZEGO: what thumbs asks for, and what comes back.

thumbs has its own vocabulary (a screenshot *mode* is ``time-points`` or ``interval``); ZEGO's names
(``SnapshotByTimeOffset``, ``SampleSnapshot``, ``ExtTimeOffsetSet[]``) appear only where a query is built.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import signing
from .codes import CodeInfo, lookup

MEDIA_THUMBNAILS = "MediaThumbnails"
DESCRIBE_MEDIA_TASK = "DescribeMediaTask"

# What a reply's fields may hold; the models' columns have the same sizes (a test checks they agree).
BODY_LIMIT = 64 * 1024
REQUEST_ID_MAX = 128
VENDOR_TASK_ID_MAX = 255
VENDOR_REQUEST_ID_MAX = 128
MESSAGE_MAX = 4096
CODE_MIN, CODE_MAX = -(2**31), 2**31 - 1


class Vendor(StrEnum):
    TENCENT = "Tencent"
    HUAWEI = "Huawei"


class Mode(StrEnum):
    """A screenshot mode, in thumbs' words (also its URL slug)."""

    TIME_POINTS = "time-points"
    INTERVAL = "interval"

    @property
    def zego_type(self) -> str:
        """The MediaThumbnails ``Type`` for this mode."""
        return {Mode.TIME_POINTS: "SnapshotByTimeOffset", Mode.INTERVAL: "SampleSnapshot"}[self]


class Outcome(StrEnum):
    """What one call came to; the models map it onto a task's state."""

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
    # The longest a call waits for its turn under the rate limit before failing unsent (None: no bound).
    pacing_max_wait_seconds: float | None = None

    @property
    def deadline_seconds(self) -> float:
        """The longest a whole call may take: connecting, then the whole answer."""
        return self.connect_timeout_seconds + self.timeout_seconds

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
            pacing_max_wait_seconds=settings.ZEGO_PACING_MAX_WAIT_SECONDS,
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
    mode: Mode
    file_id: str
    definition: int | None = None
    time_points: tuple[Decimal, ...] = ()
    interval: int | None = None

    def business_params(self) -> list[tuple[str, str]]:
        """The MediaThumbnails parameters, in ZEGO's documented order, each only where it belongs."""
        params = [("Vendor", self.vendor.value), ("FileId", self.file_id)]
        if self.vendor is Vendor.TENCENT and self.definition is not None:
            params.append(("Definition", format_number(self.definition)))
        if self.mode is Mode.TIME_POINTS:
            params.extend(("ExtTimeOffsetSet[]", format_number(t)) for t in self.time_points)
        if self.vendor is Vendor.HUAWEI and self.mode is Mode.INTERVAL and self.interval is not None:
            params.append(("Interval", format_number(self.interval)))
        params.append(("Type", self.mode.zego_type))
        return params


@dataclass(frozen=True)
class PreparedCall:
    """A call ready to send: its nonce and timestamp are known (so they can be recorded first); its
    signature is not computed until the client sends it."""

    api_url: str
    action: str
    params: tuple[tuple[str, str], ...]
    app_id: int
    nonce: str
    timestamp: int | str

    def query(self, signature: str) -> list[tuple[str, str]]:
        """The whole query, common parameters first: the one place it is built."""
        return [
            ("Action", self.action),
            ("AppId", str(self.app_id)),
            ("SignatureNonce", self.nonce),
            ("Timestamp", str(self.timestamp)),
            ("Signature", signature),
            ("SignatureVersion", signing.SIGNATURE_VERSION),
            *self.params,
        ]

    def public_query(self) -> list[tuple[str, str]]:
        """The query as sent, with the Signature left as a placeholder."""
        return self.query("<signature>")

    def curl(self) -> str:
        """A curl command that repeats this call, with the nonce, timestamp and signature to fill in."""
        template = replace(self, nonce="<nonce>", timestamp="<unix-seconds>")
        return "curl -sS " + shlex.quote(self.api_url + "?" + urlencode(template.public_query(), safe="<>[]/"))


class FailureKind(StrEnum):
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_ERROR = "connection_error"
    TLS_ERROR = "tls_error"
    READ_TIMEOUT = "read_timeout"
    DEADLINE = "deadline"
    TOO_LARGE = "too_large"
    HTTP_ERROR = "http_error"
    NOT_JSON = "not_json"
    BAD_SHAPE = "bad_shape"
    # Nothing was sent: the rate limit had no turn free soon enough, or could not be read.
    NOT_SENT_BUSY = "not_sent_busy"
    NOT_SENT_PACING_ERROR = "not_sent_pacing_error"

    @property
    def label(self) -> Promise:
        """What went wrong, in the reader's language. The failure's ``detail`` (host, timeouts) is recorded and
        logged in English when the call is made; pages show this beside it."""
        return _FAILURE_LABELS[self]


_FAILURE_LABELS = {
    FailureKind.CONNECT_TIMEOUT: _("No connection to ZEGO in time"),
    FailureKind.CONNECTION_REFUSED: _("ZEGO's address refused the connection"),
    FailureKind.CONNECTION_ERROR: _("The connection to ZEGO failed"),
    FailureKind.TLS_ERROR: _("The TLS handshake with ZEGO failed"),
    FailureKind.READ_TIMEOUT: _("ZEGO sent no answer in time"),
    FailureKind.DEADLINE: _("ZEGO's answer took too long"),
    FailureKind.TOO_LARGE: _("ZEGO's answer was too large to read"),
    FailureKind.HTTP_ERROR: _("An HTTP error instead of ZEGO's answer"),
    FailureKind.NOT_JSON: _("An answer that is not JSON"),
    FailureKind.BAD_SHAPE: _("An answer without a usable Code"),
    FailureKind.NOT_SENT_BUSY: _("Not sent: the shared rate limit had no turn free"),
    FailureKind.NOT_SENT_PACING_ERROR: _("Not sent: the shared rate limit could not be checked"),
}


@dataclass(frozen=True)
class TransportFailure:
    kind: FailureKind
    detail: str
    may_have_reached: bool


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


FINAL_STATUSES = frozenset({"FINISH", "SUCCEEDED", "FAIL", "FAILED", "CANCELED", "NO_TASK"})
SUCCESS_STATUSES = frozenset({"FINISH", "SUCCEEDED"})


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
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS_STATUSES
