"""The thumbnails the simulator lists and serves: generated PNG frames, standard library only."""

from __future__ import annotations

import colorsys
import hashlib
import re
import struct
import zlib
from functools import lru_cache

from .protocol import Reply

IMAGE_WIDTH, IMAGE_HEIGHT = 160, 90

TENCENT_IMAGE = re.compile(r"/thumbs/([0-9A-Za-z-]{1,100})/([1-9][0-9]{0,3})\.png")
HUAWEI_IMAGE = re.compile(r"/obs/snapshots/([0-9a-f]{32})/([1-9][0-9]{0,3})\.png")
IMAGE_PREFIXES = ("/thumbs/", "/obs/")

# Not cacheable: an image that is not ready yet will exist once its task finishes.
NOT_FOUND_IMAGE = Reply(404, b"No such image.\n", "text/plain; charset=utf-8", (("Cache-Control", "no-store"),))


def image_reply(task_id: str, index: int, total: int) -> Reply:
    # A frame never changes once its task has finished.
    body = thumbnail_png(task_id, index, total)
    return Reply(200, body, "image/png", (("Cache-Control", "public, max-age=86400, immutable"),))


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


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
