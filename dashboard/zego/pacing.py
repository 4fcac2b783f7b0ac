"""Pacing: at most ``rate`` calls to ZEGO in any one-second window, per (AppID, action).

The limiter here holds its window in this process's memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """A sliding one-second window of send times; ``acquire`` waits for a free slot."""

    def __init__(
        self, rate: int, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= 1.0:
                    self._sent.popleft()
                if len(self._sent) < self.rate:
                    self._sent.append(now)
                    return waited
                pause = 1.0 - (now - self._sent[0])
                self._sleep(pause)
                waited += pause
                self._sent.popleft()  # the slot waited for is free now, whatever float rounding says


class ProcessPacer:
    """One limiter per (AppID, action, rate) for every client in this process."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[tuple[int, str, int], RateLimiter] = {}
        self._lock = threading.Lock()

    def acquire(self, app_id: int, action: str, rate: int) -> float:
        """Wait until a call for this AppID and action may go; return the seconds waited."""
        with self._lock:
            key = (app_id, action, rate)
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(rate, clock=self._clock, sleep=self._sleep)
            limiter = self._limiters[key]
        return limiter.acquire()

    def reset(self) -> None:
        """Forget every window (tests, so that one test's calls do not slow the next)."""
        with self._lock:
            self._limiters.clear()


process_pacer = ProcessPacer()
