"""The simulator's HTTP server: ``ZegoSimulator`` binds a socket, serves ``SimulatorApp`` and stops cleanly."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from .app import SimulatorApp
from .callbacks import RETRY_DELAYS, CallbackSender
from .protocol import Reply, api_reply, json_reply
from .tasks import SimTask

log = logging.getLogger(__name__)


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
            reply = sim.app.handle(self.path)
        except Exception:
            log.error(
                "simulator: handler failed for GET %s\n%s",
                sim.redact(self.path),
                sim.redact(traceback.format_exc()),
            )
            reply = api_reply(100000015, "Simulator internal error (a bug in the simulator).", status=500)
        self._send(reply)

    def _not_allowed(self) -> None:
        reply = json_reply({"Error": "method_not_allowed", "Message": "Only GET is supported."}, 405)
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
    """The simulator on a socket: ZEGO's server API as ``SimulatorApp`` answers it, over real HTTP.

    The socket is bound by the constructor, so an address already in use raises ``OSError`` there.
    ``clock`` (a callable returning Unix seconds) drives the Timestamp skew check, signature-replay
    expiry, the rate-limit window and task progress, so tests can move time instead of waiting.
    With ``callback_url`` (and ``callback_secret``), each finished task's snapshot callback is POSTed
    there (``callbacks.CallbackSender``, retried after ``callback_retry_delays``).
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
        callback_url: str | None = None,
        callback_secret: str | None = None,
        callback_retry_delays: Sequence[float] = RETRY_DELAYS,
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
        self.quiet = quiet
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        self.callbacks: CallbackSender | None = None
        if callback_url:
            self.callbacks = CallbackSender(
                callback_url,
                callback_secret or "",
                app_id=app_id,
                base_url=self.url,
                clock=clock,
                retry_delays=callback_retry_delays,
            )
        self.app = SimulatorApp(
            app_id,
            server_secret,
            base_url=self.url,
            rate_limit=rate_limit,
            slow_seconds=slow_seconds,
            clock=clock,
            on_task=self.callbacks.add if self.callbacks else None,
        )

    def __repr__(self) -> str:
        return f"ZegoSimulator(app_id={self.app_id}, url={self.url!r}, server_secret='***')"

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
        """The thumbnail tasks created so far, oldest first."""
        return self.app.tasks

    def reset_scripts(self) -> None:
        """Forget how often each scripted FileId was called, so the next 99901000 call fails again."""
        self.app.reset_scripts()

    def redact(self, text: str) -> str:
        """``text`` with every Signature query value and the ServerSecret blanked out."""
        return self.app.redact(text)

    def start(self) -> ZegoSimulator:
        """Serve in a background thread."""
        if self._thread is None:
            self._serving = True  # before the thread runs, so an early stop() still shuts it down
            self._thread = threading.Thread(target=self._serve, name=f"zego-simulator-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread, until stop() or an exception."""
        self._serving = True
        self._serve()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.app.close()
        if self.callbacks is not None:
            self.callbacks.stop()
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
