"""ZEGO's wire format as the simulator speaks it: the query it reads and the answers it writes."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

TENCENT, HUAWEI = "Tencent", "Huawei"
TIME_OFFSET, SAMPLE = "SnapshotByTimeOffset", "SampleSnapshot"
MEDIA_THUMBNAILS, DESCRIBE_MEDIA_TASK = "MediaThumbnails", "DescribeMediaTask"
MAX_QUERY_FIELDS = 500


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, before it reaches the socket."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


class Reject(Exception):
    """Becomes a ZEGO answer (HTTP 200) carrying this Code and Message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def show(value: str, limit: int = 40) -> str:
    """A caller's value, quoted and cut short, for echoing in a Message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


class Query:
    """A request's query string; a name may be given several times (``ExtTimeOffsetSet[]``)."""

    def __init__(self, raw: str) -> None:
        self._values: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, errors="replace", max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            raise Reject(2, f"Too many query parameters (at most {MAX_QUERY_FIELDS}).") from None
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
            raise Reject(code, f"{name} given more than once.")
        return values[0] if values else ""


def request_id() -> str:
    return str(10**18 + secrets.randbelow(9 * 10**18))  # 19 digits, like ZEGO's


def json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, "application/json; charset=utf-8", (("Cache-Control", "no-store"),))


def api_reply(code: int, message: str, data: dict[str, Any] | None = None, status: int = 200) -> Reply:
    """ZEGO's envelope: ``{"Code", "Message", "RequestId", "Data"}``."""
    return json_reply({"Code": code, "Message": message, "RequestId": request_id(), "Data": data or {}}, status)
