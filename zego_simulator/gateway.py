"""ZEGO's gateway, in front of every Action: which app is calling, is the call signed and fresh, how often."""

from __future__ import annotations

import heapq
import re
import threading
from collections import deque
from collections.abc import Callable
from urllib.parse import unquote_plus

from dashboard.zego import signing

from .protocol import DESCRIBE_MEDIA_TASK, MEDIA_THUMBNAILS, Query, Reject, show

MAX_SKEW_SECONDS = 600

_UINT = re.compile(r"[0-9]{1,10}", re.ASCII)
_INT64 = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_NONCE = re.compile(r"[0-9a-fA-F]{16}", re.ASCII)
_QUERY_PAIR = re.compile(r"([?&])([^=&\s]*)=([^&\s\"']*)")


class Gateway:
    """The checks ZEGO's gateway makes, in order, each answered with HTTP 200 and ZEGO's gateway Code:

    1. AppId missing or not a uint32 (100000001); not the simulator's AppId (100000010). The gateway
       needs the app before anything else means something.
    2. Action empty (100000006) or not MediaThumbnails/DescribeMediaTask (100000007).
    3. The common signing parameters, in the order they are sent: Timestamp empty (100000002) or not an
       integer (100000003); SignatureNonce empty or not 16 hex characters (100000008); Signature empty
       (100000009); SignatureVersion empty (100000013) or not "2.0" (100000014).
    4. Timestamp more than 600 s from the clock (100000004): checked before the signature, so a skewed
       clock is reported as such even when the secret is also wrong.
    5. Signature (100000005), through ``signing.request_signature`` and ``signing.signature_matches``.
    6. Replay (100000004 "signature reused"): a nonce+signature pair already accepted is refused until
       its Timestamp falls out of the 600 s window. Only correctly signed requests are remembered.
    7. The rate limit (Code 6): at most ``rate_limit`` accepted calls in any rolling second, counted per
       Action (there is one AppID) by the time they arrive, so a slow answer still counts from its start.
    """

    def __init__(self, app_id: int, server_secret: str, *, rate_limit: int, clock: Callable[[], float]) -> None:
        self.app_id = app_id
        self.rate_limit = rate_limit
        self._secret = server_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self._seen_expiry: list[tuple[float, tuple[str, str]]] = []
        self._windows: dict[str, deque[float]] = {MEDIA_THUMBNAILS: deque(), DESCRIBE_MEDIA_TASK: deque()}

    def admit(self, q: Query) -> str:
        """The Action of a call that passes every check; a call that does not raises ``Reject``."""
        action = self._signed_action(q)
        if not self._within_rate(action):
            raise Reject(6, "Request too frequent")
        return action

    def redact(self, text: str) -> str:
        """``text`` with every Signature query value and the ServerSecret blanked out."""

        def blank(match: re.Match[str]) -> str:
            sep, key, _ = match.groups()
            return f"{sep}{key}=[redacted]" if unquote_plus(key) == "Signature" else match.group(0)

        return _QUERY_PAIR.sub(blank, text).replace(self._secret, "[redacted]")

    def _signed_action(self, q: Query) -> str:
        app_raw = q.one("AppId", 100000001)
        if not _UINT.fullmatch(app_raw) or int(app_raw) > 2**32 - 1:
            raise Reject(100000001, "AppId format error: expected the numeric AppID, a uint32.")
        app_id = int(app_raw)
        if app_id != self.app_id:
            raise Reject(100000010, f"ServerSecret not found for AppId {app_id}: check the AppId.")
        action = q.one("Action", 100000007)
        if not action:
            raise Reject(100000006, "Action empty.")
        if action not in (MEDIA_THUMBNAILS, DESCRIBE_MEDIA_TASK):
            raise Reject(100000007, f"Action {show(action)} unsupported.")
        timestamp_raw = q.one("Timestamp", 100000003)
        if not timestamp_raw:
            raise Reject(100000002, "Timestamp empty.")
        if not _INT64.fullmatch(timestamp_raw) or not -(2**63) <= int(timestamp_raw) < 2**63:
            raise Reject(100000003, "Timestamp format error: expected Unix seconds, a whole number.")
        timestamp = int(timestamp_raw)
        nonce = q.one("SignatureNonce", 100000008)
        if not nonce:
            raise Reject(100000008, "SignatureNonce empty.")
        if not _NONCE.fullmatch(nonce):
            raise Reject(100000008, "SignatureNonce format error: expected 16 hexadecimal characters (8 random bytes).")
        signature = q.one("Signature", 100000005)
        if not signature:
            raise Reject(100000009, "Signature empty.")
        version = q.one("SignatureVersion", 100000014)
        if not version:
            raise Reject(100000013, "SignatureVersion empty.")
        if version != signing.SIGNATURE_VERSION:
            raise Reject(100000014, f"SignatureVersion {show(version)} unsupported: only 2.0.")
        now = self._clock()
        skew = timestamp - now
        if abs(skew) > MAX_SKEW_SECONDS:
            raise Reject(
                100000004,
                f"Signature expired: Timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} "
                f"the server clock (at most {MAX_SKEW_SECONDS} s allowed).",
            )
        expected = signing.request_signature(app_id, nonce, self._secret, timestamp)
        if not signing.signature_matches(expected, signature):
            raise Reject(100000005, "Signature wrong: check the ServerSecret and what is signed.")
        self._remember(nonce, signature, timestamp, now)
        return action

    def _remember(self, nonce: str, signature: str, timestamp: int, now: float) -> None:
        key = (nonce, signature)
        with self._lock:
            while self._seen_expiry and self._seen_expiry[0][0] < now:
                self._seen.discard(heapq.heappop(self._seen_expiry)[1])
            if key in self._seen:
                raise Reject(100000004, "Signature expired: signature reused; sign every request afresh.")
            self._seen.add(key)
            heapq.heappush(self._seen_expiry, (timestamp + MAX_SKEW_SECONDS, key))

    def _within_rate(self, action: str) -> bool:
        with self._lock:
            now = self._clock()  # read under the lock, so the window stays in arrival order
            window = self._windows[action]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return False
            window.append(now)
            return True
