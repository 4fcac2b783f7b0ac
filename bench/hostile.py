"""A hostile ZEGO against the client: how long one call takes and how much memory it holds.

Cases: a reply that drips one byte every 2 s, a 50 MB reply, and a gzip bomb (300 MB of text, 0.3 MB on the
wire). Each call runs in a fresh subprocess so that its peak memory (ru_maxrss) is its own; a call still going
after --give-up seconds is reported as hanging and killed.

    .venv/bin/python bench/hostile.py                       # this checkout's client
    .venv/bin/python bench/hostile.py --root /path/to/older/checkout --label before
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


Behaviour = Callable[[socket.socket], None]


def drip_body(pause: float) -> Behaviour:
    """Headers at once, then one byte of body every ``pause`` seconds, for ever."""

    def behaviour(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
        while True:
            conn.sendall(b" ")
            time.sleep(pause)

    return behaviour


def drip_headers(pause: float) -> Behaviour:
    """The status line and headers themselves, one byte every ``pause`` seconds."""

    def behaviour(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
            conn.sendall(bytes([byte]))
            time.sleep(pause)

    return behaviour


def big_body(size: int) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        conn.sendall(head.encode())
        block = b"x" * 65536
        for _ in range(size // len(block)):
            conn.sendall(block)

    return behaviour


def gzip_bomb(payload: bytes) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        conn.sendall(head.encode() + payload)

    return behaviour


def gzip_of_text(size: int) -> bytes:
    """gzip of ``size`` bytes of text, made a block at a time: this process stays small, so that the
    subprocesses it starts (whose ru_maxrss counts from the fork) start small too."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    block = b"x" * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def serve(behaviour: Behaviour) -> tuple[str, socket.socket]:
    """Serve ``behaviour`` to every connection on a free port; returns the URL and the listening socket
    (close it to stop accepting)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def run(conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                behaviour(conn)
            except OSError:
                pass  # the client hung up, as it should

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=run, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/", server


# Runs inside the subprocess, against the client of the checkout given by --root.
CHILD = r"""
import json, resource, sys, time
from decimal import Decimal
url = sys.argv[1]
try:
    from dashboard.zego.client import ZegoClient
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor, ZegoConfig
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/record/a.mp4", interval=5)
except ImportError:  # the client before the split
    from dashboard.zego.client import SnapshotType, ThumbnailRequest, Vendor, ZegoClient, ZegoConfig
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, type=SnapshotType.SAMPLE, file_id="/record/a.mp4", interval=5)
config = ZegoConfig(app_id=1, server_secret="0" * 32, api_url=url, timeout_seconds=10, connect_timeout_seconds=5)
client = ZegoClient(config)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
result = client.media_thumbnails(request)
took = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kind = result.failure.kind.value if result.failure else ""
print(json.dumps({"seconds": round(took, 2), "rss_before_mb": round(before / 1024, 1),
                  "rss_peak_mb": round(peak / 1024, 1), "outcome": result.outcome.value, "failure": kind}))
"""


def measure(root: Path, url: str, give_up: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "DJANGO_SETTINGS_MODULE": ""}
    started = time.monotonic()
    try:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, url], cwd=root, env=env, capture_output=True, text=True, timeout=give_up
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "hanging_after": give_up, "outcome": "still waiting"}
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1:], "seconds": round(time.monotonic() - started, 2)}
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose client to measure")
    parser.add_argument("--label", default="after")
    parser.add_argument("--give-up", type=float, default=60.0, help="seconds before a call counts as hanging")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--cases", default="drip,50MB,gzip-bomb", help="which cases, comma-separated")
    parser.add_argument("--body-mb", type=int, default=50)
    parser.add_argument("--bomb-mb", type=int, default=300)
    args = parser.parse_args()
    bomb = gzip_of_text(args.bomb_mb * 1024 * 1024)
    cases = {"drip": drip_body(2.0), "50MB": big_body(args.body_mb * 1024 * 1024), "gzip-bomb": gzip_bomb(bomb)}
    results = {}
    for name in args.cases.split(","):
        behaviour = cases[name]
        url, server = serve(behaviour)
        results[name] = measure(args.root.resolve(), url, args.give_up)
        server.close()
        print(f"{args.label:>7} {name:>10}: {results[name]}", flush=True)
    report = {
        "label": args.label,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "bomb_on_wire_kb": round(len(bomb) / 1024),
        "cases": results,
    }
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
