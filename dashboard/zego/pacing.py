"""Pacing: how calls to ZEGO are spaced so that no more than ``rate`` arrive in any one second, per
(AppID, action).

ZEGO counts calls by their arrival within any rolling second (20 per AppID, for MediaThumbnails and for
DescribeMediaTask each). Calls are therefore not let through in bursts but given evenly spaced send times,
``1 / (rate * (1 - MARGIN))`` apart: at 20/s that is one every 52 ms (19.2/s, 96 % of the limit). Any 21
such calls span 1.04 s, so a call may arrive up to 41 ms late (a late wake-up, a slow hop) before 21 can
land in one second; even spacing is the arrangement that tolerates the most lateness at a given rate.
Of that, a caller's own late wake-up (a busy machine) may use LATE_SECONDS: one who wakes later than that
does not send into the turns of the callers after it, but takes a fresh turn (the missed one stays empty).

The arithmetic is ``Slot``; where a slot's state lives is the pacer's business. ``ProcessPacer`` keeps it
in this process's memory (for clients made outside Django and for unit tests); the console installs a
pacer whose state lives in the database, shared by every process (``dashboard/pacing.py``), with
``install_shared`` when the app starts. This package never imports Django models, hence the registry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# The share of the limit given up so that lateness never puts 21 calls in one second.
MARGIN = 0.04
# After a Code 6 (someone else is using the same AppID) the rate is halved, then recovers over this time.
SLOW_SECONDS = 10.0
# A next send time further ahead than this can only come from a clock that jumped back: start afresh.
HORIZON_SECONDS = 3600.0
# How late a caller may wake for its turn and still use it; how many fresh turns it takes at most.
LATE_SECONDS = 0.015
RETAKES = 3


class PacingError(Exception):
    """No turn was taken: nothing may be sent."""


class PacingBusy(PacingError):
    """The next free turn is further away than the caller may wait."""

    def __init__(self, wait: float, max_wait: float) -> None:
        super().__init__(f"the next free turn is {wait:.1f} s away, more than the {max_wait:g} s allowed")
        self.wait = wait
        self.max_wait = max_wait


class PacingUnavailable(PacingError):
    """The pacer's shared state could not be read or written (the database failed)."""


class Pacer(Protocol):
    def acquire(self, app_id: int, action: str, rate: int, *, max_wait: float | None = None) -> float:
        """Wait for this call's turn and return the seconds waited; raise ``PacingBusy`` without taking a
        turn when it is more than ``max_wait`` seconds away, or ``PacingUnavailable``."""
        ...

    def penalize(self, app_id: int, action: str) -> None:
        """ZEGO answered Code 6 (too frequent) all the same: slow down for a while."""
        ...


@dataclass
class Slot:
    """The pacing state of one (AppID, action): the next free send time, and until when to go slower.
    Times are seconds on the pacer's clock."""

    next_free: float = 0.0
    slow_until: float = 0.0

    def spacing(self, rate: int, now: float, margin: float = MARGIN) -> float:
        """Seconds between two sends: half the rate right after a Code 6, back to full over SLOW_SECONDS."""
        base = 1.0 / (rate * (1.0 - margin))
        left = min(max(self.slow_until - now, 0.0), SLOW_SECONDS)
        return base * (1.0 + left / SLOW_SECONDS)

    def claim(self, now: float, rate: int, max_wait: float | None = None, margin: float = MARGIN) -> float:
        """Take the next free send time; return how long until it. Takes nothing when that is too long."""
        start = self.next_free if now < self.next_free <= now + HORIZON_SECONDS else now
        wait = start - now
        if max_wait is not None and wait > max_wait:
            raise PacingBusy(wait, max_wait)
        self.next_free = start + self.spacing(rate, now, margin)
        return wait

    def slow_down(self, now: float) -> None:
        self.slow_until = now + SLOW_SECONDS


class TurnTaker:
    """Waiting for a turn, the same for every pacer: claim one, sleep until it, and take a fresh one
    (up to RETAKES times) when the sleep ran more than LATE_SECONDS past it. Subclasses keep the slots."""

    def __init__(self, timer: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._timer = timer  # for measuring waits and lateness only: slot times are on the pacer's clock
        self._sleep = sleep

    def _claim(self, app_id: int, action: str, rate: int, max_wait: float | None) -> float:
        raise NotImplementedError

    def acquire(self, app_id: int, action: str, rate: int, *, max_wait: float | None = None) -> float:
        started = self._timer()
        wait = self._claim(app_id, action, rate, max_wait)
        for retakes_left in range(RETAKES, -1, -1):
            due = self._timer() + wait
            if wait > 0:
                self._sleep(wait)
            if retakes_left == 0 or self._timer() - due <= LATE_SECONDS:
                break
            budget = None if max_wait is None else max(0.0, max_wait - (self._timer() - started))
            try:
                wait = self._claim(app_id, action, rate, budget)
            except PacingError:
                break  # no fresh turn to be had (too far away, or the database failed): the late one it is
        return self._timer() - started


class ProcessPacer(TurnTaker):
    """Slots kept in this process's memory: every client of this process that uses it shares them."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = MARGIN,
    ) -> None:
        super().__init__(clock, sleep)
        self._clock = clock
        self._margin = margin
        self._slots: dict[tuple[int, str], Slot] = {}
        self._lock = threading.Lock()

    def _claim(self, app_id: int, action: str, rate: int, max_wait: float | None) -> float:
        with self._lock:
            slot = self._slots.setdefault((app_id, action), Slot())
            return slot.claim(self._clock(), rate, max_wait, self._margin)

    def penalize(self, app_id: int, action: str) -> None:
        with self._lock:
            self._slots.setdefault((app_id, action), Slot()).slow_down(self._clock())

    def reset(self) -> None:
        """Forget every slot (tests, so that one test's calls do not slow the next)."""
        with self._lock:
            self._slots.clear()


process_pacer = ProcessPacer()
_shared: Pacer | None = None


def install_shared(pacer: Pacer | None) -> None:
    """Make ``pacer`` the one every ``ZegoClient`` uses unless given another (None: back to this process's)."""
    global _shared
    _shared = pacer


def shared_pacer() -> Pacer:
    return _shared if _shared is not None else process_pacer
