"""The thumbnail tasks the simulator accepted, and what DescribeMediaTask says of them as time passes.

A task is WAITING for its first second, PROCESSING until its third, then finished (Tencent FINISH,
Huawei SUCCEEDED; FAIL / FAILED for a task scripted to fail). A task for the never-finishing FileId
stays PROCESSING.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .params import ThumbnailSpec
from .protocol import TENCENT, TIME_OFFSET
from .scripted import NEVER_FINISHING_FILE_ID

WAITING_SECONDS = 1.0  # a task is WAITING before this age ...
FINISH_SECONDS = 3.0  # ... PROCESSING before this one, then finished
SAMPLE_THUMBNAILS = 6


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
        never = self.file_id == NEVER_FINISHING_FILE_ID
        return "processing" if never or age < FINISH_SECONDS else "done"

    def image_ready(self, index: int, now: float) -> bool:
        return not self.fails and 1 <= index <= self.thumbnail_count and self.stage(now) == "done"


def new_task(spec: ThumbnailSpec, now: float, *, fails: bool) -> tuple[SimTask, dict[str, Any]]:
    """A task for an accepted call, and MediaThumbnails' Data for it in the vendor's shape."""
    if spec.vendor == TENCENT:
        task_id = f"1500030200-procedurev2-{secrets.token_hex(16)}tt0"
        data: dict[str, Any] = {"Tencent": {"TaskId": task_id, "RequestId": str(uuid.uuid4())}}
    else:
        task_id = secrets.token_hex(16)
        data = {"Huawei": {"task_id": task_id}}
    task = SimTask(
        task_id=task_id,
        vendor=spec.vendor,
        type=spec.type,
        file_id=spec.file_id,
        created_at=now,
        definition=spec.definition,
        time_offsets=spec.time_offsets,
        interval=spec.interval,
        fails=fails,
    )
    return task, data


def tencent_status(task: SimTask, now: float, base_url: str) -> dict[str, Any]:
    """DescribeMediaTask's ``Data.Tencent``; the thumbnails are served at ``base_url``."""
    stage = task.stage(now)
    status = {"waiting": "WAITING", "processing": "PROCESSING"}.get(stage, "FINISH")
    message, urls = "", []
    if stage == "done" and task.fails:
        status, message = "FAIL", "Scripted failure: the source file could not be decoded."
    elif stage == "done":
        message = "SUCCESS"
        urls = [f"{base_url}thumbs/{task.task_id}/{n}.png" for n in range(1, task.thumbnail_count + 1)]
    return {
        "TaskId": task.task_id,
        "Event": task.type,
        "Status": status,
        "FileId": task.file_id,
        "Message": message,
        "ThumbnailsUrl": urls,
    }


def huawei_status(task: SimTask, now: float) -> dict[str, Any]:
    """DescribeMediaTask's ``Data.Huawei``; FileName lists OBS paths, served under ``/obs/``."""
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


def huawei_no_task(task_id: str) -> dict[str, Any]:
    """What Huawei answers for a TaskId it does not know: success, with Status NO_TASK."""
    return {"TaskId": task_id, "Status": "NO_TASK", "CreateTime": "", "EndTime": "", "FileName": []}


def _utc_stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y%m%d%H%M%S")
