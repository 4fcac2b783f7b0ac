"""``manage.py zego_simulator``: serve the built-in ZEGO simulator in the foreground until Ctrl-C/SIGTERM."""

from __future__ import annotations

import errno
import math
import signal
import socket
import threading
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # the simulator needs nothing from the console to be healthy

    # The simulator is imported only when this command runs (here and in handle): it is a development
    # tool that the console's own code never loads.
    @property
    def help(self) -> str:
        from zego_simulator.scripted import SCRIPTED_FILE_IDS

        return (
            "Run the built-in ZEGO server API simulator (MediaThumbnails, DescribeMediaTask, thumbnail images). "
            "Scripted FileIds: " + "; ".join(f"{fid}: {what}" for fid, what in SCRIPTED_FILE_IDS.items()) + "."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=None, help="TCP port (default: ZEGO_SIMULATOR_PORT, 8001 unless set)."
        )
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument(
            "--slow-seconds",
            type=float,
            default=15.0,
            help="How long FileId 9990408 waits before answering (default 15).",
        )
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=20,
            help="Calls per second per Action before Code 6 (default 20).",
        )
        parser.add_argument("--app-id", type=int, default=None, help="AppID to accept (default SIMULATOR_APP_ID).")
        parser.add_argument(
            "--server-secret",
            default=None,
            help="ServerSecret to check signatures with (default SIMULATOR_SERVER_SECRET).",
        )
        parser.add_argument(
            "--callback-url",
            default=None,
            help="POST ZEGO's snapshot callback there when a task finishes, such as "
            "http://127.0.0.1:8000/zego/callback (default: send none).",
        )
        parser.add_argument(
            "--callback-secret",
            default=None,
            help="CallbackSecret to sign the callbacks with (default ZEGO_CALLBACK_SECRET, the console's).",
        )
        parser.add_argument("--quiet", action="store_true", help="Do not log each request.")

    def handle(self, *args: Any, **options: Any) -> None:
        from zego_simulator import ZegoSimulator

        port = settings.ZEGO_SIMULATOR_PORT if options["port"] is None else options["port"]
        host: str = options["host"].strip()
        slow_seconds: float = options["slow_seconds"]
        rate_limit: int = options["rate_limit"]
        app_id = settings.SIMULATOR_APP_ID if options["app_id"] is None else options["app_id"]
        secret = settings.SIMULATOR_SERVER_SECRET if options["server_secret"] is None else options["server_secret"]

        if not 1 <= port <= 65535:
            raise CommandError(f"--port {port}: expected a TCP port from 1 to 65535.")
        if not host:
            raise CommandError("--host: expected an address to listen on, such as 127.0.0.1.")
        if not math.isfinite(slow_seconds) or not 0 <= slow_seconds <= 3600:
            raise CommandError(f"--slow-seconds {slow_seconds:g}: expected a number of seconds from 0 to 3600.")
        if not 1 <= rate_limit <= 10000:
            raise CommandError(f"--rate-limit {rate_limit}: expected a whole number of calls per second, 1 to 10000.")
        if not 0 <= app_id <= 2**32 - 1:
            raise CommandError(f"--app-id {app_id}: expected the numeric AppID, a uint32.")
        if not secret.strip():
            raise CommandError("--server-secret: expected a non-empty secret.")
        callback_url: str | None = options["callback_url"]
        callback_secret: str = options["callback_secret"] or settings.ZEGO_CALLBACK_SECRET
        if callback_url is not None:
            callback_url = callback_url.strip()
            try:
                parts = urlsplit(callback_url)
                parts.port  # noqa: B018 -- raises ValueError on a bad port
            except ValueError:
                parts = None
            if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
                raise CommandError(
                    f"--callback-url {callback_url!r}: expected an http(s) URL, "
                    "such as http://127.0.0.1:8000/zego/callback."
                )
            if not callback_secret.strip():
                raise CommandError("--callback-url needs a secret: set ZEGO_CALLBACK_SECRET or --callback-secret.")

        try:
            sim = ZegoSimulator(
                app_id,
                secret,
                host=host,
                port=port,
                rate_limit=rate_limit,
                slow_seconds=slow_seconds,
                quiet=options["quiet"],
                callback_url=callback_url,
                callback_secret=callback_secret,
            )
        except socket.gaierror as exc:
            raise CommandError(
                f"--host {host!r}: not an address this machine can listen on ({exc.strerror})."
            ) from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {host} is already in use: stop what holds it, or pick another --port."
                ) from None
            if exc.errno == errno.EACCES:
                raise CommandError(f"Permission denied listening on {host}:{port}: pick a port above 1023.") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise CommandError(f"--host {host!r}: not an address of this machine.") from None
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None

        self.stdout.write(f"ZEGO simulator listening on {sim.url} (AppId {app_id})")
        if callback_url:
            self.stdout.write(f"Snapshot callbacks go to {callback_url}")
        self.stdout.flush()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
        try:
            sim.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
        self.stdout.write("ZEGO simulator stopped.")
