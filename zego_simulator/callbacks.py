"""ZEGO's snapshot callback, as the simulator sends it: once a task has finished, a POST to the callback URL.

The body is the documented JSON, URL-encoded as a whole; ``snapshot_pic_list`` is a JSON array in a
string of ``{url, offset}`` (offset in milliseconds, Tencent time points only); the signature is
``signing.callback_signature`` over the callback secret, the timestamp and the nonce. An answer other
than 2xx (or none) is retried like ZEGO does, after 2, 4, 8, 16 and 32 s, with the same body; then the
callback is given up. A task that fails gets no callback (the callback reports screenshots made).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit

from dashboard.zego import signing

from .protocol import HUAWEI, TENCENT, TIME_OFFSET
from .tasks import SimTask, huawei_status, tencent_status

log = logging.getLogger(__name__)

RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 32.0)
POST_TIMEOUT_SECONDS = 5.0
GIVE_UP_SECONDS = 3600.0  # a task still unfinished this long after it was made (one that never finishes)
_TICK_SECONDS = 0.2
_FINISHED = {TENCENT: "FINISH", HUAWEI: "SUCCEEDED"}
_STILL_RUNNING = {"WAITING", "PROCESSING"}
_VENDOR_WORD = {TENCENT: "tencent", HUAWEI: "hw"}


@dataclass(frozen=True)
class Delivery:
    """One POST of a callback and what came of it: an HTTP status, or the error that stood in for one."""

    task_id: str
    attempt: int  # 1 for the first POST, 2 for the first retry...
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Pending:
    task: SimTask
    added_at: float  # time.monotonic()
    due_at: float
    body: bytes | None = None  # made once the task has finished; every retry sends the same
    posts: int = 0
    deliveries: list[Delivery] = field(default_factory=list)


def callback_body(
    task: SimTask, *, app_id: int, secret: str, base_url: str, now: float, timestamp: int, nonce: str
) -> bytes:
    """The callback for a task finished by ``now``: its screenshots as DescribeMediaTask lists them, signed
    with ``timestamp`` and ``nonce``, as URL-encoded JSON."""
    if task.vendor == TENCENT:
        locations = tencent_status(task, now, base_url)["ThumbnailsUrl"]
        offsets = [int(t * 1000) for t in task.time_offsets] if task.type == TIME_OFFSET else []
    else:
        locations = huawei_status(task, now)["FileName"]
        offsets = []
    pictures = [
        {"url": url, "offset": offsets[n]} if n < len(offsets) else {"url": url} for n, url in enumerate(locations)
    ]
    payload = {
        "appid": str(app_id),
        "event": "snapshot",
        "timestamp": str(timestamp),
        "nonce": nonce,
        "signature": signing.callback_signature(secret, str(timestamp), nonce),
        "task_id": task.task_id,
        "vendor": _VENDOR_WORD[task.vendor],
        "snapshot_pic_list": json.dumps(pictures, separators=(",", ":")),
    }
    if task.vendor == TENCENT:
        payload["field_id"] = task.file_id  # sic: ZEGO's spelling
    return quote_plus(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))).encode("ascii")


class CallbackSender:
    """Sends each finished task's callback from one background thread, retrying on anything but 2xx.

    ``clock`` is the simulator's (task progress and the signed timestamp); the retry pauses are real time.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        app_id: int,
        base_url: str,
        clock: Callable[[], float] = time.time,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = POST_TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("callback url must be an http(s) URL with a host")
        if not secret:
            raise ValueError("callback secret must not be empty")
        if any(d < 0 for d in retry_delays):
            raise ValueError("retry delays must not be negative")
        self.url = url
        self.app_id = app_id
        self.base_url = base_url
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._done: deque[Delivery] = deque(maxlen=1000)
        # No proxy from the environment: the console is usually on this machine.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zego-simulator-callbacks", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"CallbackSender(url={self.url!r}, secret='***')"

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """Every POST made so far (the latest 1000), oldest first."""
        with self._lock:
            return tuple(self._done)

    @property
    def pending(self) -> int:
        """How many callbacks wait for their task to finish, or to be sent again."""
        with self._lock:
            return len(self._pending)

    def add(self, task: SimTask) -> None:
        """Send ``task``'s callback once it has finished."""
        now = time.monotonic()
        with self._lock:
            self._pending.append(_Pending(task=task, added_at=now, due_at=now))

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self.timeout + 1)

    def _run(self) -> None:
        while not self._stopping.wait(_TICK_SECONDS):
            with self._lock:
                pending = list(self._pending)
            for item in pending:
                if self._stopping.is_set():
                    return
                if item.due_at <= time.monotonic() and not self._step(item):
                    with self._lock:
                        self._pending.remove(item)

    def _step(self, item: _Pending) -> bool:
        """Move one pending callback on; False once there is nothing more to do for it."""
        if item.body is None:
            now = self._clock()
            status = self._status(item.task, now)
            if status in _STILL_RUNNING:
                return time.monotonic() - item.added_at < GIVE_UP_SECONDS
            if status != _FINISHED[item.task.vendor]:
                return False  # the provider failed: no screenshots, no callback
            item.body = callback_body(
                item.task,
                app_id=self.app_id,
                secret=self._secret,
                base_url=self.base_url,
                now=now,
                timestamp=int(now),
                nonce=str(100000 + secrets.randbelow(900000)),  # digits, like the documented example
            )
        item.posts += 1
        delivery = self._post(item.task.task_id, item.posts, item.body)
        with self._lock:
            self._done.append(delivery)
        if delivery.ok:
            log.info("callback for task %s: POST %s -> %s", item.task.task_id, self.url, delivery.status)
            return False
        retries_used = item.posts - 1
        if retries_used >= len(self.retry_delays):
            log.warning("callback for task %s: given up after %s POSTs", item.task.task_id, item.posts)
            return False
        pause = self.retry_delays[retries_used]
        log.info(
            "callback for task %s: POST %s -> %s; again in %g s",
            item.task.task_id,
            self.url,
            delivery.status or delivery.error,
            pause,
        )
        item.due_at = time.monotonic() + pause
        return True

    def _status(self, task: SimTask, now: float) -> str:
        if task.vendor == TENCENT:
            return str(tencent_status(task, now, self.base_url)["Status"])
        return str(huawei_status(task, now)["Status"])

    def _post(self, task_id: str, attempt: int, body: bytes) -> Delivery:
        request = urllib.request.Request(  # noqa: S310 -- the URL was checked to be http(s)
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "ZegoSimulator/1.0"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(64 * 1024)
                return Delivery(task_id, attempt, response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return Delivery(task_id, attempt, exc.code)
        except (OSError, ValueError) as exc:  # refused, timed out, reset; URLError is an OSError
            return Delivery(task_id, attempt, None, type(exc).__name__)
