"""Reads: the history as CSV, one row per attempt, streamed in constant memory.

Fast enough for a million tasks (bench/export.py, figures in bench/README.md): the rows come a chunk at a
time (on PostgreSQL a server-side cursor inside a transaction, see _streaming), as plain tuples with the
timestamps already formatted by the database; each chunk is written by one ``writerows`` and handed on as
one piece of text. Per row, Python only looks up labels, meanings and usernames in dicts and defuses the
cells that come from outside."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import nullcontext

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Func, TextField
from django.utils import translation

from .models import Attempt, Result, State, Task
from .selectors import tasks_matching
from .zego.codes import lookup
from .zego.types import MEDIA_THUMBNAILS

HEADER = (
    "task", "task_created_at", "vendor", "mode", "file_id", "state", "provider_result", "attempt", "attempt_reason",
    "attempt_started_at", "attempt_state", "request_id", "code", "code_meaning", "vendor_task_id", "submitted_by",
    "attempt_by",
)  # fmt: skip
FIELDS = (
    "task_id", "created", "task__vendor", "task__mode", "task__file_id", "task__state", "task__result", "number",
    "reason", "started", "state", "request_id", "code", "vendor_task_id", "task__created_by_id", "created_by_id",
)  # fmt: skip


class _Iso(Func):
    """A timestamp as ISO 8601 text in UTC, exactly as datetime.isoformat() writes it, made by the database:
    converting and formatting two timestamps a row in Python took a third of the export's time."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (no fraction when it is zero, as isoformat).
        return self.as_sql(compiler, connection, template="REPLACE(%(expressions)s, ' ', 'T') || '+00:00'")

    def as_postgresql(self, compiler, connection, **extra_context):
        fmt = """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""
        template = f"REPLACE(TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', {fmt}), '.000000+', '+')"
        return self.as_sql(compiler, connection, template=template)


ISO = {"created": _Iso(F("task__created_at")), "started": _Iso(F("started_at"))}
CHUNK = 2000
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = frozenset("=+-@\t\r")


class CsvExport:
    """The CSV text a chunk at a time (a UTF-8 BOM first, so that spreadsheet programs read the Chinese);
    ``rows`` counts the attempts written so far. Never the Signature (it is not stored) nor the ServerSecret."""

    def __init__(self, **filters: object) -> None:
        self.filters = filters
        self.rows = 0

    def __iter__(self) -> Iterator[str]:
        lines = _Lines()
        writer = csv.writer(lines)
        writer.writerow(HEADER)
        yield "\ufeff" + lines.take()
        for rows in self._chunks():
            writer.writerows(rows)
            self.rows += len(rows)
            yield lines.take()

    def _chunks(self) -> Iterator[list[tuple]]:
        rows = Attempt.objects.order_by("task_id", "number").annotate(**ISO).values_list(*FIELDS)
        if self.filters:
            rows = rows.filter(task_id__in=tasks_matching(**self.filters).values("pk"))
        # A file for scripts and spreadsheets: labels and meanings in English whatever the page's language,
        # evaluated once each (plain strings, not lazy ones); usernames looked up once each.
        with translation.override("en"):
            states, results, modes = ({k: str(v) for k, v in c.choices} for c in (State, Result, Task.Mode))
        meanings: dict[int | None, str] = {None: ""}
        users: dict[int, str] = {}
        chunk: list[tuple] = []
        with _streaming():
            for row in rows.iterator(chunk_size=CHUNK):
                task, created, vendor, mode, file_id, state, result, number, reason, started, *rest = row
                a_state, rid, code, vtid, by, a_by = rest
                if code not in meanings:
                    with translation.override("en"):
                        meanings[code] = str(lookup(MEDIA_THUMBNAILS, code).meaning)
                if by not in users or a_by not in users:
                    users.update(_usernames({by, a_by} - users.keys()))
                chunk.append(
                    (
                        task, created, vendor, modes.get(mode, mode), _safe(file_id),
                        states.get(state, state), results.get(result, result), number, reason, started,
                        states.get(a_state, a_state), _safe(rid), "" if code is None else code, meanings[code],
                        _safe(vtid), users[by], users[a_by],
                    )
                )  # fmt: skip
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


class _Lines(list):
    """What csv.writer writes, collected and taken a chunk at a time (faster than a StringIO reused)."""

    write = list.append

    def take(self) -> str:
        text = "".join(self)
        self.clear()
        return text


def export_csv(**filters: object) -> CsvExport:
    """Every attempt of every task the history's filters match, oldest task first, as CSV text."""
    return CsvExport(**filters)


def _streaming():
    """On PostgreSQL, iterator() reads through a server-side cursor; outside a transaction Django declares
    it WITH HOLD, and the server then computes the whole result before the first row (4.3 s for 2,000,000
    rows, and as much temporary space). SQLite hands rows over as they are fetched without one."""
    return transaction.atomic() if connection.vendor == "postgresql" else nullcontext()


def _safe(value: str) -> str:
    """A cell that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote."""
    return "'" + value if value and value[0] in FORMULA_START else value


def _usernames(ids: set[int]) -> dict[int, str]:
    return {pk: _safe(name) for pk, name in get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")}
