"""A built-in stand-in for ZEGO's server API (https://rtc-api.zego.im/), standard library only.

The console and the tests talk to it over real HTTP, through the same client they use against ZEGO, so
signing, timeouts and error handling are exercised for real. It shares only ``dashboard.zego.signing``
with the client: every other rule here is written from ZEGO's documentation, not from the client.

Public API::

    sim = ZegoSimulator(app_id, server_secret, host="127.0.0.1", port=0, rate_limit=20,
                        slow_seconds=15, clock=time.time, quiet=False)
    sim.start()          # serve in a background thread; returns sim
    sim.url              # "http://127.0.0.1:54321/" (the port actually bound; port=0 picks a free one)
    sim.port, sim.host
    sim.tasks            # the thumbnail tasks created so far (SimTask, oldest first)
    sim.stop()           # stop serving and close the socket; safe to call twice
    sim.serve_forever()  # serve in the calling thread instead of start(), until stop() or an exception

    with ZegoSimulator(app_id, secret) as sim:   # start() on entry, stop() on exit
        ...

The socket is bound by the constructor, so an address already in use raises ``OSError`` there.
``clock`` (a callable returning Unix seconds) drives the Timestamp skew check, signature-replay expiry,
the rate-limit window and task progress, so tests can move time instead of waiting.

Endpoints:

- ``GET /?Action=MediaThumbnails|DescribeMediaTask&...``: the API, answering JSON
  ``{"Code", "Message", "RequestId", "Data"}`` with HTTP 200, as ZEGO documents.
- ``GET /thumbs/<TaskId>/<n>.png``: the Tencent thumbnails listed in ``ThumbnailsUrl``.
- ``GET /obs/snapshots/<task_id>/<n>.png``: the Huawei thumbnails whose storage paths are in ``FileName``.
- An image path with no image (unknown, or its task not finished): 404 plain text. Any other path:
  404 JSON. Any other method: 405 JSON. A bug in a handler: 500 JSON (Code 100000015), logged.

A task is WAITING for its first second, PROCESSING until its third, then finished (Tencent FINISH,
Huawei SUCCEEDED). Images are served only once their task has finished.

``SCRIPTED_FILE_IDS`` lists the FileIds that trigger scripted failures (slow answers, error pages, ...).

Each request is logged at INFO on the ``dashboard.simulator`` logger, the Signature value and the
ServerSecret redacted; ``quiet=True`` turns that off.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import heapq
import json
import logging
import re
import secrets
import socket
import struct
import threading
import time
import traceback
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus

from dashboard.zego import signing

log = logging.getLogger("dashboard.simulator")

TENCENT, HUAWEI = "Tencent", "Huawei"
TIME_OFFSET, SAMPLE = "SnapshotByTimeOffset", "SampleSnapshot"
MEDIA_THUMBNAILS, DESCRIBE_MEDIA_TASK = "MediaThumbnails", "DescribeMediaTask"

MAX_SKEW_SECONDS = 600
WAITING_SECONDS = 1.0  # a task is WAITING before this age ...
FINISH_SECONDS = 3.0  # ... PROCESSING before this one, then finished
SAMPLE_THUMBNAILS = 6
MAX_OFFSETS = {TENCENT: 100, HUAWEI: 10}
IMAGE_WIDTH, IMAGE_HEIGHT = 160, 90
MAX_QUERY_FIELDS = 500

FLAKY_FILE_ID = "99901000"
MISSING_FILE_ID = "999041003"
THROTTLED_FILE_ID = "99906"
SLOW_FILE_ID = "9990408"
HTTP_500_FILE_ID = "9990500"
NOT_JSON_FILE_ID = "9990200"
FAILING_TASK_FILE_ID = "9990999"

SCRIPTED_FILE_IDS: dict[str, str] = {
    FLAKY_FILE_ID: "Code 1000 (Request failed) on the 1st, 3rd, 5th... call; success on each retry",
    MISSING_FILE_ID: "always Code 41003 (File does not exist)",
    THROTTLED_FILE_ID: "always Code 6 (Request too frequent)",
    SLOW_FILE_ID: "success, but only after the slow delay (15 s by default): past the client's timeout",
    HTTP_500_FILE_ID: "HTTP 500 with an HTML error page",
    NOT_JSON_FILE_ID: "HTTP 200 with a body that is not JSON",
    FAILING_TASK_FILE_ID: "success, then DescribeMediaTask reports the task failed (FAIL / FAILED)",
}

_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>"
)

_UINT = re.compile(r"[0-9]{1,10}", re.ASCII)
_INT64 = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_NONCE = re.compile(r"[0-9a-fA-F]{16}", re.ASCII)
_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_WHOLE_WITH_POINT_ZERO = re.compile(r"[0-9]+\.0+", re.ASCII)
_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,12})?", re.ASCII)
_TENCENT_IMAGE = re.compile(r"/thumbs/([0-9A-Za-z-]{1,100})/([1-9][0-9]{0,3})\.png")
_HUAWEI_IMAGE = re.compile(r"/obs/snapshots/([0-9a-f]{32})/([1-9][0-9]{0,3})\.png")
_QUERY_PAIR = re.compile(r"([?&])([^=&\s]*)=([^&\s\"']*)")


@dataclass(frozen=True)
class SimTask:
    """A thumbnail task the simulator accepted."""

    task_id: str
    vendor: str
    type: str
    file_id: str
    created_at: float
    definition: int | None = None
    time_offsets: tuple[Decimal, ...] = ()
    interval: int | None = None
    fails: bool = False

    @property
    def thumbnail_count(self) -> int:
        return len(self.time_offsets) if self.type == TIME_OFFSET else SAMPLE_THUMBNAILS

    def stage(self, now: float) -> str:
        """The task's stage (waiting, processing or done) by its age on the simulator's clock."""
        age = now - self.created_at
        if age < WAITING_SECONDS:
            return "waiting"
        return "processing" if age < FINISH_SECONDS else "done"

    def image_ready(self, index: int, now: float) -> bool:
        return not self.fails and 1 <= index <= self.thumbnail_count and self.stage(now) == "done"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


# Not cacheable: an image that is not ready yet will exist once its task finishes.
_NOT_FOUND_IMAGE = Reply(404, b"No such image.\n", "text/plain; charset=utf-8", (("Cache-Control", "no-store"),))


class _Reject(Exception):  # becomes a ZEGO answer carrying this Code
    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _show(value: str, limit: int = 40) -> str:
    """A caller's value, quoted and cut short, for echoing in a Message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


class _Query:
    def __init__(self, raw: str) -> None:
        self._values: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, errors="replace", max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            raise _Reject(2, f"Too many query parameters (at most {MAX_QUERY_FIELDS}).") from None
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def has(self, name: str) -> bool:
        return name in self._values

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def one(self, name: str, code: int = 2) -> str:
        """The parameter's value, "" when absent; given twice is answered with ``code``."""
        values = self._values.get(name, [])
        if len(values) > 1:
            raise _Reject(code, f"{name} given more than once.")
        return values[0] if values else ""


@dataclass(frozen=True)
class _ThumbnailSpec:
    vendor: str
    type: str
    file_id: str
    definition: int | None
    time_offsets: tuple[Decimal, ...]
    interval: int | None


def _whole(raw: str, name: str, lo: int, hi: int) -> int:
    if _WHOLE_WITH_POINT_ZERO.fullmatch(raw):
        raise _Reject(2, f"{name} must be a whole number without a decimal point (got {_show(raw)}).")
    if not _WHOLE.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise _Reject(2, f"{name} must be a whole number from {lo} to {hi} (got {_show(raw)}).")
    return int(raw)


def _validate_thumbnails(q: _Query) -> _ThumbnailSpec:
    """MediaThumbnails' business parameters, per vendor and type; Code 2 names the field at fault."""
    vendor = q.one("Vendor")
    if vendor not in (TENCENT, HUAWEI):
        raise _Reject(2, f"Vendor must be Tencent or Huawei (got {_show(vendor)}).")
    file_id = q.one("FileId")
    if not file_id.strip():
        raise _Reject(2, "FileId is required.")
    if vendor == TENCENT:
        if not _WHOLE.fullmatch(file_id):
            raise _Reject(2, f"FileId must be digits for Tencent, a VOD FileID (got {_show(file_id)}).")
        if len(file_id) > 40:
            raise _Reject(2, "FileId is at most 40 digits for Tencent.")
    elif len(file_id) > 1024:
        raise _Reject(2, "FileId is at most 1024 characters for Huawei (an OBS object path).")
    type_ = q.one("Type")
    if type_ not in (TIME_OFFSET, SAMPLE):
        raise _Reject(2, f"Type must be SnapshotByTimeOffset or SampleSnapshot (got {_show(type_)}).")

    definition = None
    if vendor == HUAWEI and q.has("Definition"):
        raise _Reject(2, "Definition is not valid for Huawei: send it only with Vendor=Tencent.")
    if vendor == TENCENT:
        raw = q.one("Definition")
        if not raw:
            raise _Reject(2, "Definition is required for Tencent (a screenshot template ID from ZEGO support).")
        definition = _whole(raw, "Definition", 1, 2**32 - 1)

    interval = None
    if q.has("Interval"):
        if vendor == TENCENT:
            raise _Reject(2, "Interval is not valid for Tencent: the Definition template sets the sampling.")
        if type_ == TIME_OFFSET:
            raise _Reject(2, "Interval is not valid for SnapshotByTimeOffset: send it only with SampleSnapshot.")
    if vendor == HUAWEI and type_ == SAMPLE:
        raw = q.one("Interval")
        if not raw:
            raise _Reject(2, "Interval is required for Huawei SampleSnapshot (whole seconds, 1 to 100).")
        interval = _whole(raw, "Interval", 1, 100)

    if q.has("ExtTimeOffsetSet"):
        raise _Reject(2, "ExtTimeOffsetSet must be sent as ExtTimeOffsetSet[], one key per time point.")
    raw_offsets = q.all("ExtTimeOffsetSet[]")
    offsets: list[Decimal] = []
    if type_ == SAMPLE and raw_offsets:
        raise _Reject(2, "ExtTimeOffsetSet[] is not valid for SampleSnapshot: send it only with SnapshotByTimeOffset.")
    if type_ == TIME_OFFSET:
        if not raw_offsets:
            raise _Reject(2, "ExtTimeOffsetSet[] needs at least one time point for SnapshotByTimeOffset.")
        if len(raw_offsets) > MAX_OFFSETS[vendor]:
            raise _Reject(2, f"ExtTimeOffsetSet[] takes at most {MAX_OFFSETS[vendor]} time points for {vendor}.")
        for raw in raw_offsets:
            if _WHOLE_WITH_POINT_ZERO.fullmatch(raw):
                raise _Reject(2, f"ExtTimeOffsetSet[]: send whole numbers without a decimal point (got {_show(raw)}).")
            if not _SECONDS.fullmatch(raw):
                raise _Reject(
                    2,
                    f"ExtTimeOffsetSet[] values must be non-negative numbers of seconds (got {_show(raw)}).",
                )
            if vendor == HUAWEI and "." in raw:
                raise _Reject(2, f"ExtTimeOffsetSet[] takes whole seconds for Huawei (got {_show(raw)}).")
            value = Decimal(raw)
            if value in offsets:
                raise _Reject(2, f"ExtTimeOffsetSet[] has the time point {raw} more than once.")
            offsets.append(value)
    return _ThumbnailSpec(vendor, type_, file_id, definition, tuple(offsets), interval)


def _request_id() -> str:
    return str(10**18 + secrets.randbelow(9 * 10**18))  # 19 digits, like ZEGO's


def _json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, "application/json; charset=utf-8", (("Cache-Control", "no-store"),))


def _api_reply(code: int, message: str, data: dict[str, Any] | None = None, status: int = 200) -> Reply:
    return _json_reply({"Code": code, "Message": message, "RequestId": _request_id(), "Data": data or {}}, status)


def _utc_stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y%m%d%H%M%S")


# --- images -----------------------------------------------------------------------------------------------


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@lru_cache(maxsize=512)
def thumbnail_png(task_id: str, index: int, total: int) -> bytes:
    """A 160x90 frame: a task's colour, striped differently per frame, with a progress bar for its index."""
    hue = hashlib.sha256(task_id.encode()).digest()[0] / 255
    hue = (hue + index * 0.06) % 1.0

    def rgb(saturation: float, value: float) -> bytes:
        return bytes(round(c * 255) for c in colorsys.hsv_to_rgb(hue, saturation, value))

    light, dark = rgb(0.45, 0.85), rgb(0.65, 0.55)
    offset = (index * 11) % 32
    stripes = b"".join(light if ((x + offset) // 16) % 2 else dark for x in range(IMAGE_WIDTH))
    filled = round(IMAGE_WIDTH * index / max(total, 1))
    bar = b"\xff\xff\xff" * filled + b"\x30\x30\x30" * (IMAGE_WIDTH - filled)
    return _png(IMAGE_WIDTH, IMAGE_HEIGHT, [stripes] * (IMAGE_HEIGHT - 8) + [bar] * 8)


# --- HTTP -------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow answer never holds up stop()
    request_queue_size = 128  # the default 5 makes a burst of callers wait out SYN retries
    simulator: ZegoSimulator

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall start-up for seconds.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "ZegoSimulator/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        sim = self.server.simulator
        try:
            reply = sim._dispatch(self.path)
        except Exception:
            log.error(
                "simulator: handler failed for GET %s\n%s",
                sim.redact(self.path),
                sim.redact(traceback.format_exc()),
            )
            reply = _api_reply(100000015, "Simulator internal error (a bug in the simulator).", status=500)
        self._send(reply)

    def _not_allowed(self) -> None:
        reply = _json_reply({"Error": "method_not_allowed", "Message": "Only GET is supported."}, 405)
        self._send(Reply(reply.status, reply.body, reply.content_type, (*reply.headers, ("Allow", "GET"))))

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; every method but GET gets a 405 instead of its default 501.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a client timeout on a slow answer): nothing left to tell it

    def log_message(self, format: str, *args: Any) -> None:
        sim = self.server.simulator
        if not sim.quiet:
            log.info("%s %s", self.address_string(), sim.redact(format % args))

    def log_error(self, format: str, *args: Any) -> None:
        log.warning("%s %s", self.address_string(), self.server.simulator.redact(format % args))


class ZegoSimulator:
    """ZEGO's MediaThumbnails and DescribeMediaTask, checked the way ZEGO's gateway checks them.

    Gateway checks, in order, each answered with HTTP 200 and ZEGO's gateway Code:

    1. AppId missing or not a uint32 (100000001); not the simulator's AppId (100000010). The gateway
       needs the app before anything else means something.
    2. Action empty (100000006) or not MediaThumbnails/DescribeMediaTask (100000007).
    3. The common signing parameters, in the order they are sent: Timestamp empty (100000002) or not an
       integer (100000003); SignatureNonce empty or not 16 hex characters (100000008); Signature empty
       (100000009); SignatureVersion empty (100000013) or not "2.0" (100000014).
    4. Timestamp more than 600 s from the simulator's clock (100000004): checked before the signature,
       so a skewed clock is reported as such even when the secret is also wrong.
    5. Signature (100000005), through ``signing.request_signature`` and ``signing.signature_matches``.
    6. Replay (100000004 "signature reused"): a nonce+signature pair already accepted is refused until
       its Timestamp falls out of the 600 s window. Only correctly signed requests are remembered.

    Then the rate limit (Code 6): at most ``rate_limit`` accepted calls in any rolling second, counted
    separately per Action (the simulator has one AppID). Then the Action's own parameters (Code 2).
    """

    def __init__(
        self,
        app_id: int,
        server_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 20,
        slow_seconds: float = 15,
        clock: Callable[[], float] = time.time,
        quiet: bool = False,
    ) -> None:
        if not 0 <= app_id <= 2**32 - 1:
            raise ValueError("app_id must be a uint32")
        if not server_secret:
            raise ValueError("server_secret must not be empty")
        if rate_limit < 1:
            raise ValueError("rate_limit must be at least 1")
        if slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")
        self.app_id = app_id
        self._secret = server_secret
        self.rate_limit = rate_limit
        self.slow_seconds = slow_seconds
        self.quiet = quiet
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._tasks: dict[tuple[str, str], SimTask] = {}
        self._seen: set[tuple[str, str]] = set()
        self._seen_expiry: list[tuple[float, tuple[str, str]]] = []
        self._windows: dict[str, deque[float]] = {MEDIA_THUMBNAILS: deque(), DESCRIBE_MEDIA_TASK: deque()}
        self._file_calls: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self

    def __repr__(self) -> str:
        return f"ZegoSimulator(app_id={self.app_id}, url={self.url!r}, server_secret='***')"

    # --- lifecycle ----------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def _reachable_host(self) -> str:
        return "127.0.0.1" if self.host in {"", "0.0.0.0"} else self.host  # noqa: S104 -- only compared

    @property
    def url(self) -> str:
        return f"http://{self._reachable_host}:{self.port}/"

    @property
    def tasks(self) -> tuple[SimTask, ...]:
        with self._lock:
            return tuple(self._tasks.values())

    def start(self) -> ZegoSimulator:
        if self._thread is None:
            self._serving = True  # before the thread runs, so an early stop() still shuts it down
            self._thread = threading.Thread(target=self._serve, name=f"zego-simulator-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self._serve()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.5)

    def reset_scripts(self) -> None:
        """Forget how often each scripted FileId was called, so the next 99901000 call fails again."""
        with self._lock:
            self._file_calls.clear()

    def stop(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        if self._serving:
            # shutdown() waits for the serving loop's next poll; a throwaway connection wakes it at once.
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            deadline = time.monotonic() + 5
            while stopper.is_alive() and time.monotonic() < deadline:
                self._poke()
                stopper.join(0.01)
        self._server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _poke(self) -> None:
        with contextlib.suppress(OSError):  # not reachable: the loop's own poll ends it anyway
            socket.create_connection((self._reachable_host, self.port), timeout=0.2).close()

    def __enter__(self) -> ZegoSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def redact(self, text: str) -> str:
        """``text`` with every Signature query value and the ServerSecret blanked out."""

        def blank(match: re.Match[str]) -> str:
            sep, key, _ = match.groups()
            return f"{sep}{key}=[redacted]" if unquote_plus(key) == "Signature" else match.group(0)

        return _QUERY_PAIR.sub(blank, text).replace(self._secret, "[redacted]")

    # --- dispatch -----------------------------------------------------------------------------------------
    def _dispatch(self, raw_path: str) -> Reply:
        path, _, query = raw_path.partition("?")
        if path == "/":
            return self._api(query)
        path = unquote(path)
        if match := _TENCENT_IMAGE.fullmatch(path):
            return self._image(TENCENT, match[1], int(match[2]))
        if match := _HUAWEI_IMAGE.fullmatch(path):
            return self._image(HUAWEI, match[1], int(match[2]))
        if path.startswith(("/thumbs/", "/obs/")):
            return _NOT_FOUND_IMAGE
        return _json_reply({"Error": "not_found", "Message": "No such path: the API is served at GET /."}, 404)

    def _api(self, raw_query: str) -> Reply:
        try:
            q = _Query(raw_query)
            action = self._gateway(q)
            if not self._admit(action):
                raise _Reject(6, "Request too frequent")
            if action == MEDIA_THUMBNAILS:
                return self._media_thumbnails(q)
            return self._describe(q)
        except _Reject as rejection:
            return _api_reply(rejection.code, rejection.message)

    def _gateway(self, q: _Query) -> str:
        app_raw = q.one("AppId", 100000001)
        if not _UINT.fullmatch(app_raw) or int(app_raw) > 2**32 - 1:
            raise _Reject(100000001, "AppId format error: expected the numeric AppID, a uint32.")
        app_id = int(app_raw)
        if app_id != self.app_id:
            raise _Reject(100000010, f"ServerSecret not found for AppId {app_id}: check the AppId.")
        action = q.one("Action", 100000007)
        if not action:
            raise _Reject(100000006, "Action empty.")
        if action not in (MEDIA_THUMBNAILS, DESCRIBE_MEDIA_TASK):
            raise _Reject(100000007, f"Action {_show(action)} unsupported.")
        timestamp_raw = q.one("Timestamp", 100000003)
        if not timestamp_raw:
            raise _Reject(100000002, "Timestamp empty.")
        if not _INT64.fullmatch(timestamp_raw) or not -(2**63) <= int(timestamp_raw) < 2**63:
            raise _Reject(100000003, "Timestamp format error: expected Unix seconds, a whole number.")
        timestamp = int(timestamp_raw)
        nonce = q.one("SignatureNonce", 100000008)
        if not nonce:
            raise _Reject(100000008, "SignatureNonce empty.")
        if not _NONCE.fullmatch(nonce):
            raise _Reject(
                100000008, "SignatureNonce format error: expected 16 hexadecimal characters (8 random bytes)."
            )
        signature = q.one("Signature", 100000005)
        if not signature:
            raise _Reject(100000009, "Signature empty.")
        version = q.one("SignatureVersion", 100000014)
        if not version:
            raise _Reject(100000013, "SignatureVersion empty.")
        if version != signing.SIGNATURE_VERSION:
            raise _Reject(100000014, f"SignatureVersion {_show(version)} unsupported: only 2.0.")
        now = self._clock()
        skew = timestamp - now
        if abs(skew) > MAX_SKEW_SECONDS:
            raise _Reject(
                100000004,
                f"Signature expired: Timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} "
                f"the server clock (at most {MAX_SKEW_SECONDS} s allowed).",
            )
        expected = signing.request_signature(app_id, nonce, self._secret, timestamp)
        if not signing.signature_matches(expected, signature):
            raise _Reject(100000005, "Signature wrong: check the ServerSecret and what is signed.")
        key = (nonce, signature)
        with self._lock:
            while self._seen_expiry and self._seen_expiry[0][0] < now:
                self._seen.discard(heapq.heappop(self._seen_expiry)[1])
            if key in self._seen:
                raise _Reject(100000004, "Signature expired: signature reused; sign every request afresh.")
            self._seen.add(key)
            heapq.heappush(self._seen_expiry, (timestamp + MAX_SKEW_SECONDS, key))
        return action

    def _admit(self, action: str) -> bool:
        with self._lock:
            now = self._clock()
            window = self._windows[action]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return False
            window.append(now)
            return True

    # --- actions ------------------------------------------------------------------------------------------
    def _media_thumbnails(self, q: _Query) -> Reply:
        spec = _validate_thumbnails(q)
        if spec.file_id == FLAKY_FILE_ID:
            with self._lock:
                calls = self._file_calls[spec.file_id] = self._file_calls.get(spec.file_id, 0) + 1
            if calls % 2:
                raise _Reject(1000, "Request failed")
        elif spec.file_id == MISSING_FILE_ID:
            raise _Reject(41003, "File does not exist")
        elif spec.file_id == THROTTLED_FILE_ID:
            raise _Reject(6, "Request too frequent")
        elif spec.file_id == HTTP_500_FILE_ID:
            return Reply(500, _ERROR_PAGE, "text/html; charset=utf-8")
        elif spec.file_id == NOT_JSON_FILE_ID:
            return Reply(200, b"<html><body>Service temporarily unavailable</body></html>", "text/html; charset=utf-8")
        elif spec.file_id == SLOW_FILE_ID:
            self._stopping.wait(self.slow_seconds)

        if spec.vendor == TENCENT:
            task_id = f"1500030200-procedurev2-{secrets.token_hex(16)}tt0"
            data = {"Tencent": {"TaskId": task_id, "RequestId": str(uuid.uuid4())}}
        else:
            task_id = secrets.token_hex(16)
            data = {"Huawei": {"task_id": task_id}}
        task = SimTask(
            task_id=task_id,
            vendor=spec.vendor,
            type=spec.type,
            file_id=spec.file_id,
            created_at=self._clock(),
            definition=spec.definition,
            time_offsets=spec.time_offsets,
            interval=spec.interval,
            fails=spec.file_id == FAILING_TASK_FILE_ID,
        )
        with self._lock:
            self._tasks[(task.vendor, task.task_id)] = task
        return _api_reply(0, "success", data)

    def _describe(self, q: _Query) -> Reply:
        vendor = q.one("Vendor")
        if vendor not in (TENCENT, HUAWEI):
            raise _Reject(2, f"Vendor must be Tencent or Huawei (got {_show(vendor)}).")
        task_id = q.one("TaskId")
        if not task_id:
            raise _Reject(2, "TaskId is required.")
        with self._lock:
            task = self._tasks.get((vendor, task_id))
        now = self._clock()
        if vendor == TENCENT:
            if task is None:
                raise _Reject(2, "TaskId not found")
            return _api_reply(0, "success", {"Tencent": self._tencent_status(task, now)})
        if task is None:
            empty = {"TaskId": task_id, "Status": "NO_TASK", "CreateTime": "", "EndTime": "", "FileName": []}
            return _api_reply(0, "success", {"Huawei": empty})
        return _api_reply(0, "success", {"Huawei": self._huawei_status(task, now)})

    def _tencent_status(self, task: SimTask, now: float) -> dict[str, Any]:
        stage = task.stage(now)
        status, message, urls = (
            {"waiting": "WAITING", "processing": "PROCESSING"}.get(stage, "FINISH"),
            "",
            [],
        )
        if stage == "done" and task.fails:
            status, message = "FAIL", "Scripted failure: the source file could not be decoded."
        elif stage == "done":
            message = "SUCCESS"
            urls = [f"{self.url}thumbs/{task.task_id}/{n}.png" for n in range(1, task.thumbnail_count + 1)]
        return {
            "TaskId": task.task_id,
            "Event": task.type,
            "Status": status,
            "FileId": task.file_id,
            "Message": message,
            "ThumbnailsUrl": urls,
        }

    def _huawei_status(self, task: SimTask, now: float) -> dict[str, Any]:
        stage = task.stage(now)
        done = stage == "done"
        status = {"waiting": "WAITING", "processing": "PROCESSING"}.get(stage, "FAILED" if task.fails else "SUCCEEDED")
        files = (
            [f"snapshots/{task.task_id}/{n}.png" for n in range(1, task.thumbnail_count + 1)]
            if done and not task.fails
            else []
        )
        return {
            "TaskId": task.task_id,
            "Status": status,
            "CreateTime": _utc_stamp(task.created_at),
            "EndTime": _utc_stamp(task.created_at + FINISH_SECONDS) if done else "",
            "FileName": files,
        }

    def _image(self, vendor: str, task_id: str, index: int) -> Reply:
        with self._lock:
            task = self._tasks.get((vendor, task_id))
        if task is None or not task.image_ready(index, self._clock()):
            return _NOT_FOUND_IMAGE
        body = thumbnail_png(task.task_id, index, task.thumbnail_count)
        return Reply(200, body, "image/png", (("Cache-Control", "public, max-age=86400, immutable"),))
