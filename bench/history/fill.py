"""The rows: deterministic, realistic tasks and attempts, bulk-loaded with the secondary indexes dropped."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction

from dashboard.models import Attempt, Task
from dashboard.zego.codes import lookup
from dashboard.zego.types import MEDIA_THUMBNAILS as ACTION

SEED = 20261127
END = datetime(2026, 11, 27)  # naive UTC: the newest task is created just before this
SPAN = timedelta(days=365)  # tasks are spread evenly over a year, created_at increasing with id
STREAMS = 5000  # Huawei recordings: /record/stream-NNNN/YYYYMMDD-HHMMSS.mp4
LEGACY_SHARE = 0.10  # the oldest tenth of Huawei tasks use the bucket's old layout, /vod/...
TENCENT_PREFIX = "1397"  # every Tencent FileId here: 1397 + 15 digits (19 digits)
RID_MULT = 5903470279234613357  # coprime with 9e18: 10**18 + (n * RID_MULT) % 9e18 is a bijection
RID_OFFSET = 123456789012345678
FAILED_CODES = ((1000, 40), (41003, 35), (6, 10), (2, 10), (7, 5))  # failed tasks: code, weight

TASK_COLUMNS = (
    "id",
    "vendor",
    "mode",
    "file_id",
    "definition",
    "time_points",
    "interval",
    "created_at",
    "submission_token",
    "state",
    "state_changed_at",
    "latest_code",
    "latest_message",
    "latest_request_id",
    "vendor_task_id",
    "attempt_count",
    "created_by_id",
    "resubmitted_from_id",
    # What the provider made of it: most accepted tasks finished with three screenshots.
    "result",
    "result_status",
    "result_message",
    "result_checks",
    "screenshot_count",
    "retry_note",
)
ATTEMPT_COLUMNS = (
    "id",
    "number",
    "reason",
    "started_at",
    "finished_at",
    "state",
    "nonce",
    "timestamp",
    "request_id",
    "vendor_task_id",
    "vendor_request_id",
    "code",
    "message",
    "http_status",
    "latency_ms",
    "transport_error",
    "transport_detail",
    "may_have_reached",
    "response_body",
    "created_by_id",
    "task_id",
)
EPOCH = datetime(1970, 1, 1)


def request_id(n: int) -> str:
    """The n-th attempt's RequestId: 19 digits, unique for every n below 9e18, random-looking."""
    return str(10**18 + (n * RID_MULT + RID_OFFSET) % (9 * 10**18))


class RowMaker:
    """Deterministic rows, as tuples in TASK_COLUMNS / ATTEMPT_COLUMNS order; datetimes as each database's text."""

    def __init__(self, *, tasks: int, attempts_per_task: int, user_ids: list[int], vendor: str) -> None:
        self.rng = random.Random(SEED)
        self.apt = attempts_per_task
        self.user_ids = user_ids
        self.suffix = "+00" if vendor == "postgresql" else ""
        self.start = END - SPAN
        self.step = SPAN.total_seconds() / max(tasks, 1)
        self.legacy_below = int(tasks * LEGACY_SHARE)
        self.streams = [f"stream-{k:04d}" for k in range(STREAMS)]
        # Plain strings (the meanings are lazily translated), in English: no language is active here.
        self.meaning = {code: str(lookup(ACTION, code).meaning) for code, _ in FAILED_CODES}
        self.meaning[0] = str(lookup(ACTION, 0).meaning)
        codes, weights = zip(*FAILED_CODES, strict=True)
        self.failed_codes = self.rng.choices(codes, weights, k=4096)  # a pool: choices() per row is slow
        self.time_points = ['["1"]', '["0.5", "10", "30"]', '["5", "15"]', '["2.25", "60", "120", "180"]']

    def dt(self, value: datetime) -> str:
        return str(value) + self.suffix

    def batch(self, first: int, last: int) -> tuple[list[tuple], list[tuple]]:
        """Tasks first..last (ids) and all their attempts."""
        rand, bits, td = self.rng.random, self.rng.getrandbits, timedelta
        tasks, attempts = [], []
        for tid in range(first, last + 1):
            created = self.start + td(seconds=(tid - 1) * self.step + rand() * self.step * 0.9)
            tencent = rand() < 0.6
            vendor = "Tencent" if tencent else "Huawei"
            if tencent:
                file_id = f"{TENCENT_PREFIX}{bits(50) % 10**15:015d}"
            else:
                recorded = created - td(seconds=60 + bits(12))
                folder = "vod" if tid <= self.legacy_below else "record"
                file_id = f"/{folder}/{self.streams[bits(20) % STREAMS]}/{recorded:%Y%m%d-%H%M%S}.mp4"
            if rand() < 0.55:
                mode, points, interval = "time-points", self.time_points[bits(2)], None
            else:
                mode, points, interval = "interval", "[]", (10, 30, 60, 300)[bits(2)]
            definition = (None, 10, 20, 30)[bits(2)]
            roll = rand()
            state = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "unknown"
            code = 0 if state == "succeeded" else self.failed_codes[bits(12)] if state == "failed" else None
            user = self.user_ids[bits(8) % len(self.user_ids)]
            base = (tid - 1) * self.apt
            started = created
            for number in range(1, self.apt + 1):
                last_one = number == self.apt
                a_state, a_code = (state, code) if last_one else ("failed", 6 if rand() < 0.5 else 1000)
                last, finished = self._attempt(tid, base + number, number, started, a_state, a_code, tencent, user)
                attempts.append(last)
                if not last_one:
                    started = finished + td(seconds=30 + bits(7))
            rid, vtid, message = last[8], last[9], last[12]  # the task carries its last attempt's
            tasks.append(
                (
                    tid,
                    vendor,
                    mode,
                    file_id,
                    definition,
                    points,
                    interval,
                    self.dt(created),
                    f"{bits(128):032x}",
                    state,
                    self.dt(finished),
                    code,
                    message,
                    rid,
                    vtid,
                    self.apt,
                    user,
                    None,
                    *(self._result(tencent) if state == "succeeded" else ("", "", "", 0, 0, "")),
                )
            )
        return tasks, attempts

    @staticmethod
    def _result(tencent: bool) -> tuple:
        """An accepted task's result columns: finished, with three screenshots."""
        return ("finished", "FINISH" if tencent else "SUCCEEDED", "", 2, 3, "")

    def _attempt(
        self, tid: int, aid: int, number: int, started: datetime, state: str, code: int | None, tencent: bool, user: int
    ) -> tuple[tuple, datetime]:
        bits = self.rng.getrandbits
        rid = request_id(aid)
        if tencent:
            vtid, vrid, vendor = f"1500030200-procedurev2-{bits(128):032x}tt0", f"{bits(128):032x}", "Tencent"
        else:
            vtid, vrid, vendor = f"{bits(128):032x}", "", "Huawei"
        latency = 80 + bits(9)
        finished = started + timedelta(milliseconds=latency)
        if code is None:  # unknown: the answer was lost on the way back
            http, message, body, terr, tdetail, reached = None, "", "", "read_timeout", "Timed out.", True
        else:
            http, message = 200, self.meaning[code]
            data = f'{{"{vendor}":{{"TaskId":"{vtid}"}}}}' if code == 0 else "{}"
            body = f'{{"Code":{code},"Message":"{message}","RequestId":"{rid}","Data":{data}}}'
            terr, tdetail, reached = "", "", None
        nonce, timestamp = f"{bits(64):016x}", int((started - EPOCH).total_seconds())
        reason = "submit" if number == 1 else "retry"
        row = (aid, number, reason, self.dt(started), self.dt(finished), state, nonce, timestamp, rid, vtid, vrid)
        return (*row, code, message, http, latency, terr, tdetail, reached, body, user, tid), finished


def _check_columns(model: type, columns: tuple[str, ...]) -> None:
    """The fill writes these columns; a NOT NULL column it does not know about must stop it loudly."""
    known = set(columns)
    for f in model._meta.concrete_fields:
        if f.column not in known and not f.null and not getattr(f, "generated", False):
            raise SystemExit(
                f"bench: {model.__name__}.{f.name} ({f.column}) is new and NOT NULL: teach "
                "bench/history/fill.py's RowMaker to fill it."
            )
    missing = known - {f.column for f in model._meta.concrete_fields}
    if missing:
        raise SystemExit(f"bench: {model.__name__} has no column(s) {sorted(missing)}: update bench/history/fill.py.")


def _secondary_indexes(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes on table that no constraint or primary key owns."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        return list(cursor.fetchall())
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = %s
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname)
                             || '.' || quote_ident(i.indexname))::regclass)""",
        [table],
    )
    return list(cursor.fetchall())


def fill(*, tasks: int, attempts_per_task: int, user_ids: list[int], batch: int = 20_000) -> dict:
    """Load the rows in one transaction with secondary indexes dropped, rebuild them, ANALYZE."""
    vendor = connection.vendor
    _check_columns(Task, TASK_COLUMNS)
    _check_columns(Attempt, ATTEMPT_COLUMNS)
    maker = RowMaker(tasks=tasks, attempts_per_task=attempts_per_task, user_ids=user_ids, vendor=vendor)
    tables = [(Task._meta.db_table, TASK_COLUMNS), (Attempt._meta.db_table, ATTEMPT_COLUMNS)]
    qn = connection.ops.quote_name
    timings = {}

    if vendor == "sqlite":
        with connection.cursor() as cursor:  # for the load only; the connection is closed afterwards
            for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY"):
                cursor.execute(f"PRAGMA {pragma}")
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        indexes = []
        for table, _ in tables:
            indexes += _secondary_indexes(cursor, vendor, table)
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
        raw = connection.connection  # the driver's own connection: no per-row Django overhead
        if vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            task_copy = f"COPY {qn(tables[0][0])} ({', '.join(map(qn, TASK_COLUMNS))}) FROM STDIN"
            attempt_copy = f"COPY {qn(tables[1][0])} ({', '.join(map(qn, ATTEMPT_COLUMNS))}) FROM STDIN"
            with raw.cursor() as pg:
                for first in range(1, tasks + 1, batch):
                    task_rows, attempt_rows = maker.batch(first, min(first + batch - 1, tasks))
                    with pg.copy(task_copy) as copy:
                        for row in task_rows:
                            copy.write_row(row)
                    with pg.copy(attempt_copy) as copy:
                        for row in attempt_rows:
                            copy.write_row(row)
        else:
            sql = [
                f"INSERT INTO {qn(t)} ({', '.join(map(qn, cols))}) VALUES ({', '.join('?' * len(cols))})"
                for t, cols in tables
            ]
            for first in range(1, tasks + 1, batch):
                task_rows, attempt_rows = maker.batch(first, min(first + batch - 1, tasks))
                raw.executemany(sql[0], task_rows)
                raw.executemany(sql[1], attempt_rows)
        if vendor == "postgresql":
            # The foreign keys are deferred: check the queued rows now, as CREATE INDEX refuses to run
            # on a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        timings["load_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _, create in indexes:
            cursor.execute(create)
        timings["indexes_s"] = time.perf_counter() - t1
        timings["indexes_rebuilt"] = len(indexes)
        for statement in connection.ops.sequence_reset_sql(no_style(), [Task, Attempt]):
            cursor.execute(statement)
    t2 = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {qn(tables[0][0])}, {qn(tables[1][0])}")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA journal_mode=WAL")
    timings["analyze_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    connection.close()  # measure with the settings' own connection options, not the load's pragmas
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in timings.items()}


def prepare(*, tasks: int, attempts_per_task: int, keep: bool) -> tuple[User, dict]:
    """Migrate, make the bench users, fill the rows (or reuse them with --keep); return the superuser and
    the fill's figures."""
    call_command("migrate", verbosity=0, interactive=False)
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench-admin@example.com", "bench-admin-password-not-secret"
    )
    operators = Group.objects.filter(name="operator").first()
    user_ids = []
    for k in range(1, 9):
        user, created = User.objects.get_or_create(username=f"bench-op{k}")
        if created and operators:
            user.groups.add(operators)
        user_ids.append(user.pk)

    have = Task.objects.count()
    info: dict = {"reused": False}
    if have == 0:
        if Attempt.objects.exists():
            raise SystemExit("bench: the database has attempts but no tasks: use an empty database")
        print("bench: filling ...", flush=True)
        info.update(fill(tasks=tasks, attempts_per_task=attempts_per_task, user_ids=user_ids))
        print(f"bench: filled in {info['total_s']:.1f} s ({info})", flush=True)
    elif not keep:
        raise SystemExit(
            f"bench: the database already holds {have:,} tasks: pass --keep to reuse them, or give an empty database"
        )
    elif have != tasks or Attempt.objects.count() != tasks * attempts_per_task:
        raise SystemExit(f"bench: the database holds {have:,} tasks, not the {tasks:,} asked for")
    else:
        info["reused"] = True
        print(f"bench: reusing the {have:,} tasks already there (--keep)", flush=True)
    info["tasks"] = Task.objects.count()
    info["attempts"] = Attempt.objects.count()
    return admin, info
