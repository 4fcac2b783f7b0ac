"""The simulator's answers without the socket: ``SimulatorApp.handle(path)`` turns a GET path into a Reply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import unquote

from . import scripted
from .gateway import Gateway
from .images import HUAWEI_IMAGE, IMAGE_PREFIXES, NOT_FOUND_IMAGE, TENCENT_IMAGE, image_reply
from .params import ThumbnailSpec, describe_target, thumbnail_spec
from .protocol import HUAWEI, MEDIA_THUMBNAILS, TENCENT, Query, Reject, Reply, api_reply, json_reply
from .tasks import SimTask, huawei_no_task, huawei_status, new_task, tencent_status

_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>"
)
_NOT_JSON_PAGE = b"<html><body>Service temporarily unavailable</body></html>"


class SimulatorApp:
    """ZEGO's MediaThumbnails and DescribeMediaTask behind its gateway, plus the thumbnail images.

    ``base_url`` is where the images are served (the Tencent ThumbnailsUrl point there). Thread-safe:
    the HTTP server calls ``handle`` from one thread per connection.
    """

    def __init__(
        self,
        app_id: int,
        server_secret: str,
        *,
        base_url: str,
        rate_limit: int = 20,
        slow_seconds: float = 15,
        clock: Callable[[], float] = time.time,
        on_task: Callable[[SimTask], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.on_task = on_task  # told of every task accepted (the callback sender)
        self.slow_seconds = slow_seconds
        self.gateway = Gateway(app_id, server_secret, rate_limit=rate_limit, clock=clock)
        self._clock = clock
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._tasks: dict[tuple[str, str], SimTask] = {}
        self._file_calls: dict[str, int] = {}

    @property
    def tasks(self) -> tuple[SimTask, ...]:
        with self._lock:
            return tuple(self._tasks.values())

    def reset_scripts(self) -> None:
        """Forget how often each scripted FileId was called, so the next 99901000 call fails again."""
        with self._lock:
            self._file_calls.clear()

    def redact(self, text: str) -> str:
        return self.gateway.redact(text)

    def close(self) -> None:
        """Cut short the slow answers still waiting, so the server can stop at once."""
        self._closing.set()

    def handle(self, raw_path: str) -> Reply:
        """The answer to ``GET raw_path`` (path and query, as sent)."""
        path, _, query = raw_path.partition("?")
        if path == "/":
            return self._api(query)
        path = unquote(path)
        if match := TENCENT_IMAGE.fullmatch(path):
            return self._image(TENCENT, match[1], int(match[2]))
        if match := HUAWEI_IMAGE.fullmatch(path):
            return self._image(HUAWEI, match[1], int(match[2]))
        if path.startswith(IMAGE_PREFIXES):
            return NOT_FOUND_IMAGE
        return json_reply({"Error": "not_found", "Message": "No such path: the API is served at GET /."}, 404)

    def _api(self, raw_query: str) -> Reply:
        try:
            q = Query(raw_query)
            if self.gateway.admit(q) == MEDIA_THUMBNAILS:
                return self._media_thumbnails(q)
            return self._describe(q)
        except Reject as rejection:
            return api_reply(rejection.code, rejection.message)

    def _media_thumbnails(self, q: Query) -> Reply:
        spec = thumbnail_spec(q)
        if (scripted_reply := self._scripted(spec)) is not None:
            return scripted_reply
        task, data = new_task(spec, self._clock(), fails=spec.file_id == scripted.FAILING_TASK_FILE_ID)
        with self._lock:
            self._tasks[(task.vendor, task.task_id)] = task
        if self.on_task is not None:
            self.on_task(task)
        return api_reply(0, "success", data)

    def _scripted(self, spec: ThumbnailSpec) -> Reply | None:
        """The scripted FileIds' answers (see ``scripted``); None goes on to create the task."""
        file_id = spec.file_id
        if file_id == scripted.FLAKY_FILE_ID:
            with self._lock:
                calls = self._file_calls[file_id] = self._file_calls.get(file_id, 0) + 1
            if calls % 2:
                raise Reject(1000, "Request failed")
        elif file_id == scripted.MISSING_FILE_ID:
            raise Reject(41003, "File does not exist")
        elif file_id == scripted.THROTTLED_FILE_ID:
            raise Reject(6, "Request too frequent")
        elif file_id == scripted.HTTP_500_FILE_ID:
            return Reply(500, _ERROR_PAGE, "text/html; charset=utf-8")
        elif file_id == scripted.NOT_JSON_FILE_ID:
            return Reply(200, _NOT_JSON_PAGE, "text/html; charset=utf-8")
        elif file_id == scripted.SLOW_FILE_ID:
            self._closing.wait(self.slow_seconds)
        return None

    def _describe(self, q: Query) -> Reply:
        vendor, task_id = describe_target(q)
        with self._lock:
            task = self._tasks.get((vendor, task_id))
        now = self._clock()
        if vendor == TENCENT:
            if task is None:
                raise Reject(2, "TaskId not found")
            return api_reply(0, "success", {"Tencent": tencent_status(task, now, self.base_url)})
        if task is None:
            return api_reply(0, "success", {"Huawei": huawei_no_task(task_id)})
        return api_reply(0, "success", {"Huawei": huawei_status(task, now)})

    def _image(self, vendor: str, task_id: str, index: int) -> Reply:
        with self._lock:
            task = self._tasks.get((vendor, task_id))
        if task is None or not task.image_ready(index, self._clock()):
            return NOT_FOUND_IMAGE
        return image_reply(task.task_id, index, task.thumbnail_count)
