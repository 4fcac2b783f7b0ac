"""The rate limit toward ZEGO shared by every process: slots kept in the database (``PacingSlot``).

One row per (AppID, action) holds the next free send time. A caller locks the row, reads the clock, takes
``max(now, next_free)`` and moves ``next_free`` on by one spacing (``dashboard.zego.pacing.Slot``), commits,
then sleeps until its turn outside any transaction (``TurnTaker``). Healthchecks' ``TokenBucket`` has the
one-row-per-key idea but accepts lost updates between concurrent callers; here the read and the write
happen under the row's lock, so two processes can never take the same turn.

Locking: PostgreSQL locks the row with ``SELECT ... FOR UPDATE``. SQLite has no row locks, and a read
followed by a write in a deferred transaction fails at once ("database is locked") when another process
wrote in between; so the transaction starts with a write, which takes the database's write lock (waiting
out other writers up to the busy timeout) before the row is read, as ``BEGIN IMMEDIATE`` would.

The clock is read after the lock is taken, so a turn is never already past when it is handed out. On
PostgreSQL it is the database server's clock, so processes on several machines agree on it whatever their
own clocks say; on SQLite every process is on the one machine that holds the file, and uses its clock.

Call it outside any transaction (the services do): inside one, the row would stay locked until that
transaction ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F

from .models import PacingSlot
from .zego.pacing import MARGIN, PacingUnavailable, Slot, TurnTaker

log = logging.getLogger("dashboard.pacing")


class DatabasePacer(TurnTaker):
    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = MARGIN,
    ) -> None:
        super().__init__(clock or time.monotonic, sleep)
        self._clock = clock  # None: the database's clock on PostgreSQL, time.time on SQLite
        self._margin = margin

    def _claim(self, app_id: int, action: str, rate: int, max_wait: float | None) -> float:
        try:
            with transaction.atomic():
                row = self._locked_row(app_id, action)
                slot = Slot(row.next_free, row.slow_until)
                wait = slot.claim(self._now(), rate, max_wait, self._margin)  # PacingBusy: rolled back, no turn
                PacingSlot.objects.filter(pk=row.pk).update(next_free=slot.next_free)
        except DatabaseError as exc:
            raise PacingUnavailable(f"the database failed: {type(exc).__name__}") from exc
        return wait

    def penalize(self, app_id: int, action: str) -> None:
        try:
            with transaction.atomic():
                row = self._locked_row(app_id, action)
                slot = Slot(row.next_free, row.slow_until)
                slot.slow_down(self._now())
                PacingSlot.objects.filter(pk=row.pk).update(slow_until=slot.slow_until)
        except DatabaseError as exc:
            raise PacingUnavailable(f"the database failed: {type(exc).__name__}") from exc
        log.warning("ZEGO answered Code 6 to %s for AppID %s: slowing down for a while", action, app_id)

    def _locked_row(self, app_id: int, action: str) -> PacingSlot:
        rows = PacingSlot.objects.filter(app_id=app_id, action=action)
        for _ in range(2):
            if connection.features.has_select_for_update:
                row = rows.select_for_update().first()
            else:
                rows.update(next_free=F("next_free"))  # SQLite: take the write lock before reading
                row = rows.first()
            if row is not None:
                return row
            try:
                with transaction.atomic():
                    PacingSlot.objects.create(app_id=app_id, action=action)
            except IntegrityError:
                pass  # another process made the row first; lock theirs
        raise PacingUnavailable(f"no pacing row for {action} of AppID {app_id}")

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                return float(cursor.fetchone()[0])
        return time.time()
