"""ZEGO's ``snapshot`` callback (callback/cdn/media-thumbnails-completed), parsed and checked; no Django models.

The body is JSON, URL-encoded as a whole (plain JSON is accepted too). ``snapshot_pic_list`` is a JSON
array *inside a string* of ``{url, offset}``, offset in milliseconds (Tencent time points only);
``timestamp`` comes as a string or a number; ``field_id`` is spelled so. The signature is
``signing.callback_signature`` over the CallbackSecret, the timestamp and the nonce: it does not cover the
rest of the body, which is why a signature is accepted once only (the service's receipts).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from . import signing
from .text import REDACTED, scrub
from .types import VENDOR_TASK_ID_MAX, Vendor

MAX_BODY_BYTES = 256 * 1024
MAX_SKEW_SECONDS = 600  # ZEGO's own window for its request timestamps, used for the callback's too
MAX_PICTURES = 1000
URL_MAX = 2048
EXCERPT_CHARS = 2000
EVENT = "snapshot"
VENDORS = {"tencent": Vendor.TENCENT, "hw": Vendor.HUAWEI}

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_NONCE = re.compile(r"[!-~]{1,64}", re.ASCII)  # printable ASCII, no space
_SIGNATURE = re.compile(r"[0-9a-fA-F]{40}", re.ASCII)
_OFFSET = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?", re.ASCII)
# A signature's value after its key, in JSON (``"signature": "..."``) or a form (``signature=...``).
_SIGNATURE_VALUE = re.compile(r"""(signature["']?\s*[:=]\s*["']?)[^"'&,}\]\s]*""", re.IGNORECASE)
_SHA1_HEX = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{40}(?![0-9a-fA-F])")


class Refusal(StrEnum):
    """Why a callback is not recorded. The model's choices carry the same values, with labels."""

    NO_SECRET = "no-secret"  # noqa: S105 -- a reason, not a password
    EMPTY = "empty"
    OVERSIZED = "oversized"
    NOT_JSON = "not-json"
    MISSING_FIELD = "missing-field"
    BAD_FIELD = "bad-field"
    BAD_PICTURE_LIST = "bad-picture-list"
    BAD_SIGNATURE = "bad-signature"
    STALE = "stale"
    SIGNATURE_REUSED = "signature-reused"
    UNKNOWN_TASK = "unknown-task"


class CallbackRefused(Exception):
    """A callback thumbs does not record: why, a short message for the sender, and what was read of it."""

    def __init__(self, refusal: Refusal, message: str, *, task_id: str = "", vendor: str = "") -> None:
        super().__init__(refusal, message)
        self.refusal = refusal
        self.message = message
        self.task_id = task_id
        self.vendor = vendor


@dataclass(frozen=True)
class Picture:
    url: str
    offset_ms: int | None = None


@dataclass(frozen=True, repr=False)
class Signed:
    """What the signature covers (timestamp and nonce, as sent) and the signature; not yet verified."""

    timestamp: str
    nonce: str
    signature: str
    task_id: str = ""  # read before the check only to name the callback in the refused list

    def __repr__(self) -> str:
        return f"Signed(timestamp={self.timestamp!r}, task_id={self.task_id!r}, signature='***')"

    @property
    def delivery_key(self) -> str:
        """Names this signature without holding it: a signature is accepted once."""
        return _digest("signed", self.timestamp, self.nonce, self.signature.lower())


@dataclass(frozen=True)
class SnapshotCallback:
    """What a verified callback says."""

    task_id: str
    vendor: Vendor
    app_id: str = ""
    file_id: str = ""
    pictures: tuple[Picture, ...] = ()

    @property
    def content_key(self) -> str:
        """Names what the callback says: the same news delivered again, re-signed or not, is a duplicate."""
        pictures = [[p.url, p.offset_ms] for p in self.pictures]
        return _digest("content", self.vendor, self.task_id, json.dumps(pictures, separators=(",", ":")))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def decode_body(body: bytes) -> dict[str, Any]:
    """The callback's JSON object: plain JSON, or JSON URL-encoded as a whole (what ZEGO sends)."""
    if not body.strip():
        raise CallbackRefused(Refusal.EMPTY, "Empty body: expected the snapshot callback's JSON.")
    if len(body) > MAX_BODY_BYTES:
        raise CallbackRefused(Refusal.OVERSIZED, f"Body too large: at most {MAX_BODY_BYTES} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallbackRefused(Refusal.NOT_JSON, "Body is not UTF-8 text.") from None
    data = _json(text)
    if data is None:
        # Encoded JSON never parses as plain JSON (it starts with %7B), and plain JSON is tried first, so a
        # URL inside plain JSON keeps its own %XX escapes.
        data = _json(unquote_plus(text))
    if data is None:
        raise CallbackRefused(Refusal.NOT_JSON, "Body is not JSON (plain or URL-encoded).")
    if not isinstance(data, dict):
        raise CallbackRefused(Refusal.NOT_JSON, "Body is JSON but not an object.")
    return data


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested deeper than the parser goes
        return None


def signed_part(data: dict[str, Any]) -> Signed:
    """The values the signature check needs; one missing or malformed raises ``CallbackRefused``."""
    task_id = _text(data, "task_id", required=False, limit=VENDOR_TASK_ID_MAX)
    context = {"task_id": task_id, "vendor": _text(data, "vendor", required=False, limit=16)}
    return Signed(
        timestamp=_scalar(data, "timestamp", _TIMESTAMP, "Unix seconds, as a string or a number", context),
        nonce=_scalar(data, "nonce", _NONCE, "a printable string of at most 64 characters", context),
        signature=_scalar(data, "signature", _SIGNATURE, "40 hexadecimal characters (sha1)", context),
        task_id=task_id,
    )


def verify(signed: Signed, *, secret: str, now: float) -> None:
    """Raise ``CallbackRefused`` unless the signature is the secret's (constant time) and the timestamp fresh."""
    expected = signing.callback_signature(secret, signed.timestamp, signed.nonce)
    if not signing.signature_matches(expected, signed.signature.lower()):
        raise CallbackRefused(
            Refusal.BAD_SIGNATURE, "Signature does not match: check ZEGO_CALLBACK_SECRET.", task_id=signed.task_id
        )
    if abs(now - int(signed.timestamp)) > MAX_SKEW_SECONDS:
        raise CallbackRefused(
            Refusal.STALE,
            f"Timestamp more than {MAX_SKEW_SECONDS // 60} minutes from this server's clock.",
            task_id=signed.task_id,
        )


def snapshot(data: dict[str, Any]) -> SnapshotCallback:
    """What a verified callback says: event, vendor, task, File ID and the screenshots."""
    context = {"task_id": _text(data, "task_id", required=False, limit=VENDOR_TASK_ID_MAX)}
    context["vendor"] = _text(data, "vendor", required=False, limit=16)
    event = _text(data, "event", required=True, limit=64, context=context)
    if event != EVENT:
        raise CallbackRefused(Refusal.BAD_FIELD, f"event: expected {EVENT!r}.", **context)
    task_id = _text(data, "task_id", required=True, limit=VENDOR_TASK_ID_MAX, context=context)
    vendor = VENDORS.get(_text(data, "vendor", required=True, limit=16, context=context).lower())
    if vendor is None:
        raise CallbackRefused(Refusal.BAD_FIELD, "vendor: expected tencent or hw.", **context)
    return SnapshotCallback(
        task_id=task_id,
        vendor=vendor,
        app_id=_loose_text(data.get("appid")),
        file_id=_loose_text(data.get("field_id"), limit=1024),  # sic: ZEGO's spelling
        pictures=_pictures(data, context),
    )


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int, context: dict[str, str] | None = None) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise CallbackRefused(Refusal.MISSING_FIELD, f"{name} is missing.", **(context or {}))
        return ""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        if required:
            raise CallbackRefused(
                Refusal.BAD_FIELD, f"{name}: expected a string of at most {limit} characters.", **(context or {})
            )
        return ""  # read before the signature check only to name the task in the list: never trusted
    return value


def _loose_text(value: Any, limit: int = 64) -> str:
    """An informative field (appid, field_id): kept when it is a short string or number, else dropped."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value)
    return text if len(text) <= limit and text.isprintable() else ""


def _scalar(data: dict[str, Any], name: str, pattern: re.Pattern[str], what: str, context: dict[str, str]) -> str:
    """A signed value as the string that was signed: a number is signed as its decimal digits."""
    value = data.get(name)
    if value is None or value == "":
        raise CallbackRefused(Refusal.MISSING_FIELD, f"{name} is missing.", **context)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise CallbackRefused(Refusal.BAD_FIELD, f"{name}: expected {what}.", **context)
    return value


def _pictures(data: dict[str, Any], context: dict[str, str]) -> tuple[Picture, ...]:
    raw = data.get("snapshot_pic_list")
    if raw is None:
        raise CallbackRefused(Refusal.MISSING_FIELD, "snapshot_pic_list is missing.", **context)
    if isinstance(raw, str):  # as documented: a JSON array in a string
        items = _json(raw)
        if items is None:
            raise CallbackRefused(
                Refusal.BAD_PICTURE_LIST, "snapshot_pic_list: expected a JSON array in a string.", **context
            )
    else:
        items = raw  # an array sent as such: read it the same way
    if not isinstance(items, list):
        raise CallbackRefused(Refusal.BAD_PICTURE_LIST, "snapshot_pic_list: expected a JSON array.", **context)
    if len(items) > MAX_PICTURES:
        raise CallbackRefused(
            Refusal.BAD_PICTURE_LIST, f"snapshot_pic_list: more than {MAX_PICTURES} screenshots.", **context
        )
    return tuple(_picture(item, n, context) for n, item in enumerate(items, start=1))


def _picture(item: Any, n: int, context: dict[str, str]) -> Picture:
    def refuse(what: str) -> CallbackRefused:
        return CallbackRefused(Refusal.BAD_PICTURE_LIST, f"snapshot_pic_list item {n}: {what}.", **context)

    if not isinstance(item, dict):
        raise refuse("expected an object with url and offset")
    url = item.get("url")
    if not isinstance(url, str) or not url or len(url) > URL_MAX or not url.isprintable():
        raise refuse(f"url: expected a string of at most {URL_MAX} characters")
    # Tencent gives URLs, which the task page shows as images: nothing but http(s). Huawei's may be OBS
    # object paths, which never become links by themselves.
    if "://" in url or ":" in url.split("/", 1)[0]:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise refuse("url: not a valid URL") from None
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise refuse("url: expected an http(s) URL")
    return Picture(url=url, offset_ms=_offset(item.get("offset"), refuse))


def _offset(value: Any, refuse: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and _OFFSET.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse("offset: expected a number of milliseconds")
    if not math.isfinite(value) or not 0 <= value <= 10**15:
        raise refuse("offset: expected a number of milliseconds from 0")
    return round(value)


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def excerpt(body: bytes, *, secret: str, signature: str = "", limit: int = EXCERPT_CHARS) -> str:
    """The start of a body, safe to store and show: URL-decoded when it was encoded, every signature value
    (after its key, in sha1's shape, and the one parsed) and the secret masked, then cut to ``limit``.

    The whole body (at most MAX_BODY_BYTES + 1) is masked before the cut, so that no cut splits a secret.
    """
    text = body.decode("utf-8", errors="replace")
    if not text.lstrip().startswith(("{", "[")):
        text = unquote_plus(text)
    text = _SIGNATURE_VALUE.sub(rf"\1{REDACTED}", text)
    text = _SHA1_HEX.sub(REDACTED, text)
    text = scrub(text, secret, signature).replace("\x00", "")
    return text if len(text) <= limit else text[:limit] + f"… ({len(body)} bytes in all)"
