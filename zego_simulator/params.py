"""Each Action's own parameters, checked per vendor and type as ZEGO documents them: Code 2 names the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .protocol import HUAWEI, SAMPLE, TENCENT, TIME_OFFSET, Query, Reject, show

MAX_OFFSETS = {TENCENT: 100, HUAWEI: 10}

_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_WHOLE_WITH_POINT_ZERO = re.compile(r"[0-9]+\.0+", re.ASCII)
_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,12})?", re.ASCII)


@dataclass(frozen=True)
class ThumbnailSpec:
    """A MediaThumbnails call's parameters, once valid."""

    vendor: str
    type: str
    file_id: str
    definition: int | None
    time_offsets: tuple[Decimal, ...]
    interval: int | None


def _vendor(q: Query) -> str:
    vendor = q.one("Vendor")
    if vendor not in (TENCENT, HUAWEI):
        raise Reject(2, f"Vendor must be Tencent or Huawei (got {show(vendor)}).")
    return vendor


def _whole(raw: str, name: str, lo: int, hi: int) -> int:
    if _WHOLE_WITH_POINT_ZERO.fullmatch(raw):
        raise Reject(2, f"{name} must be a whole number without a decimal point (got {show(raw)}).")
    if not _WHOLE.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise Reject(2, f"{name} must be a whole number from {lo} to {hi} (got {show(raw)}).")
    return int(raw)


def thumbnail_spec(q: Query) -> ThumbnailSpec:
    """MediaThumbnails' business parameters, per vendor and type."""
    vendor = _vendor(q)
    file_id = q.one("FileId")
    if not file_id.strip():
        raise Reject(2, "FileId is required.")
    if vendor == TENCENT:
        if not _WHOLE.fullmatch(file_id):
            raise Reject(2, f"FileId must be digits for Tencent, a VOD FileID (got {show(file_id)}).")
        if len(file_id) > 40:
            raise Reject(2, "FileId is at most 40 digits for Tencent.")
    elif len(file_id) > 1024:
        raise Reject(2, "FileId is at most 1024 characters for Huawei (an OBS object path).")
    type_ = q.one("Type")
    if type_ not in (TIME_OFFSET, SAMPLE):
        raise Reject(2, f"Type must be SnapshotByTimeOffset or SampleSnapshot (got {show(type_)}).")
    definition = _definition(q, vendor)
    interval = _interval(q, vendor, type_)
    return ThumbnailSpec(vendor, type_, file_id, definition, _time_offsets(q, vendor, type_), interval)


def _definition(q: Query, vendor: str) -> int | None:
    if vendor == HUAWEI:
        if q.has("Definition"):
            raise Reject(2, "Definition is not valid for Huawei: send it only with Vendor=Tencent.")
        return None
    raw = q.one("Definition")
    if not raw:
        raise Reject(2, "Definition is required for Tencent (a screenshot template ID from ZEGO support).")
    return _whole(raw, "Definition", 1, 2**32 - 1)


def _interval(q: Query, vendor: str, type_: str) -> int | None:
    if q.has("Interval"):
        if vendor == TENCENT:
            raise Reject(2, "Interval is not valid for Tencent: the Definition template sets the sampling.")
        if type_ == TIME_OFFSET:
            raise Reject(2, "Interval is not valid for SnapshotByTimeOffset: send it only with SampleSnapshot.")
    if vendor != HUAWEI or type_ != SAMPLE:
        return None
    raw = q.one("Interval")
    if not raw:
        raise Reject(2, "Interval is required for Huawei SampleSnapshot (whole seconds, 1 to 100).")
    return _whole(raw, "Interval", 1, 100)


def _time_offsets(q: Query, vendor: str, type_: str) -> tuple[Decimal, ...]:
    if q.has("ExtTimeOffsetSet"):
        raise Reject(2, "ExtTimeOffsetSet must be sent as ExtTimeOffsetSet[], one key per time point.")
    raw_offsets = q.all("ExtTimeOffsetSet[]")
    if type_ == SAMPLE:
        if raw_offsets:
            raise Reject(
                2, "ExtTimeOffsetSet[] is not valid for SampleSnapshot: send it only with SnapshotByTimeOffset."
            )
        return ()
    if not raw_offsets:
        raise Reject(2, "ExtTimeOffsetSet[] needs at least one time point for SnapshotByTimeOffset.")
    if len(raw_offsets) > MAX_OFFSETS[vendor]:
        raise Reject(2, f"ExtTimeOffsetSet[] takes at most {MAX_OFFSETS[vendor]} time points for {vendor}.")
    offsets: list[Decimal] = []
    for raw in raw_offsets:
        if _WHOLE_WITH_POINT_ZERO.fullmatch(raw):
            raise Reject(2, f"ExtTimeOffsetSet[]: send whole numbers without a decimal point (got {show(raw)}).")
        if not _SECONDS.fullmatch(raw):
            raise Reject(2, f"ExtTimeOffsetSet[] values must be non-negative numbers of seconds (got {show(raw)}).")
        if vendor == HUAWEI and "." in raw:
            raise Reject(2, f"ExtTimeOffsetSet[] takes whole seconds for Huawei (got {show(raw)}).")
        value = Decimal(raw)
        if value in offsets:
            raise Reject(2, f"ExtTimeOffsetSet[] has the time point {raw} more than once.")
        offsets.append(value)
    return tuple(offsets)


def describe_target(q: Query) -> tuple[str, str]:
    """DescribeMediaTask's vendor and TaskId."""
    vendor = _vendor(q)
    task_id = q.one("TaskId")
    if not task_id:
        raise Reject(2, "TaskId is required.")
    return vendor, task_id
