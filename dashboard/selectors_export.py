"""Reads: the history as CSV, one row per attempt, streamed in constant memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator

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
    "task_id", "task__created_at", "task__vendor", "task__mode", "task__file_id", "task__state", "task__result",
    "number", "reason", "started_at", "state", "request_id", "code", "vendor_task_id", "task__created_by__username",
    "created_by__username",
)  # fmt: skip
CHUNK = 2000


class _Line:
    """A file-like object for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def export_rows(**filters: object) -> Iterator[tuple]:
    """Every attempt of every task the history's filters match, oldest task first; never the Signature (it is
    not stored) nor the ServerSecret."""
    task_ids = tasks_matching(**filters).values("pk")
    rows = Attempt.objects.filter(task_id__in=task_ids).order_by("task_id", "number").values_list(*FIELDS)
    # A file for scripts and spreadsheets: labels and meanings in English whatever the page's language (and
    # plain strings, evaluated once, rather than lazy ones).
    with translation.override("en"):
        states, results, modes = ({k: str(v) for k, v in c.choices} for c in (State, Result, Task.Mode))
    meanings: dict[int, str] = {}
    for row in rows.iterator(chunk_size=CHUNK):
        code = row[12]
        if code is not None and code not in meanings:
            with translation.override("en"):
                meanings[code] = str(lookup(MEDIA_THUMBNAILS, code).meaning)
        yield (
            row[0], row[1].isoformat(), row[2], modes.get(row[3], row[3]), row[4], states.get(row[5], row[5]),
            results.get(row[6], row[6]), row[7], row[8], row[9].isoformat(), states.get(row[10], row[10]),
            row[11], "" if code is None else code, meanings.get(code, ""), row[13], row[14], row[15],
        )  # fmt: skip


def export_csv(**filters: object) -> Iterator[str]:
    """The CSV text, a line at a time (a UTF-8 BOM first, so that spreadsheet programs read the Chinese)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(HEADER)
    for row in export_rows(**filters):
        yield writer.writerow(_safe(row))


def _safe(row: tuple) -> tuple:
    """Cells that a spreadsheet would run as a formula (=, +, -, @ first) are prefixed with a quote."""
    return tuple("'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row)
