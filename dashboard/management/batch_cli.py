"""The batch parts of ``manage.py thumbnails``: batch, batch-status, and retry --filter (the console's
batch page and "Retry all matching", for scripts and cron). Same forms, same services."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import CommandError, CommandParser
from django.db.models import Count
from django.http import QueryDict
from tqdm import tqdm

from dashboard.forms import BATCH_FORMS, FORMS, HistorySearchForm
from dashboard.models import Attempt, Batch, Task
from dashboard.services import batches

POLL_SECONDS = 0.5
QUIET_WARNING_SECONDS = 30


def add_arguments(sub) -> None:
    batch = sub.add_parser(
        "batch", help="Queue many File IDs with one set of parameters.", called_from_command_line=True
    )
    batch.add_argument("--user", required=True, help="Username recorded as the submitter (an operator).")
    batch.add_argument("--mode", required=True, choices=sorted(FORMS), help="time-points or interval")
    batch.add_argument("--vendor", required=True, choices=Task.Vendor.values)
    batch.add_argument("--definition", help="Tencent screenshot template ID")
    batch.add_argument("--time-points", help='Seconds, e.g. "1, 2.5, 10" (time-points mode)')
    batch.add_argument("--interval", help="Seconds between screenshots (Huawei, interval mode)")
    batch.add_argument("--file-ids", required=True, help="A file with one File ID per line (or a CSV); - for stdin")
    batch.add_argument("--skip-invalid", action="store_true", help="Queue the valid lines, leave out the others.")
    batch.add_argument("--no-wait", action="store_true", help="Print the batch number and return at once.")
    status = sub.add_parser("batch-status", help="A batch's progress.", called_from_command_line=True)
    status.add_argument("batch_id", type=int)
    status.add_argument("--wait", action="store_true", help="Wait with a progress bar until every item is done.")
    status.add_argument("--json", action="store_true", help="One line of JSON.")


def add_retry_arguments(retry: CommandParser) -> None:
    retry.add_argument("--filter", help='The history\'s filters, e.g. "state=failed&vendor=Huawei": retry them all.')
    retry.add_argument("--dry-run", action="store_true", help="With --filter: say what would be retried, do nothing.")


def batch(command, user, options) -> None:
    form = BATCH_FORMS[options["mode"]](
        {
            "vendor": options["vendor"],
            "definition": options["definition"] or "",
            "time_points": options["time_points"] or "",
            "interval": options["interval"] or "",
            "file_ids": _read(options["file_ids"]),
            "send_valid_only": "on" if options["skip_invalid"] else "",
        }
    )
    if not form.is_valid():
        lines = [
            f"  --{name.replace('_', '-')}: {error}" if name != "__all__" else f"  {error}"
            for name, errors in form.errors.items()
            for error in errors
        ]
        problems = sorted([*form.lines.invalid, *form.lines.duplicates], key=lambda x: x.number) if form.lines else []
        lines += [f"  line {line.number}: {line.file_id[:80]!r}: {line.problem}" for line in problems]
        raise CommandError("Nothing was queued; fix these first (or add --skip-invalid):\n" + "\n".join(lines))
    made = batches.batch_create(
        user=user, template=form.template_request(), file_ids=[line.file_id for line in form.lines.valid]
    )
    left_out = len(form.lines.invalid) + len(form.lines.duplicates)
    command.stdout.write(
        f"Batch {made.pk}: {made.total} tasks queued" + (f" ({left_out} invalid lines left out)." if left_out else ".")
    )
    if not options["no_wait"]:
        _wait(command, made)


def batch_status(command, options) -> None:
    made = Batch.objects.filter(pk=options["batch_id"]).first()
    if made is None:
        raise CommandError(f"No batch #{options['batch_id']}.")
    if options["wait"]:
        _wait(command, made, quiet=options["json"])
    _print_status(command, made, as_json=options["json"])


def retry_filter(command, user, options) -> None:
    form = HistorySearchForm(QueryDict(options["filter"]))
    if not form.is_valid():
        problems = [f"{name}: {error}" for name, errors in form.errors.items() for error in errors]
        raise CommandError("--filter: " + "; ".join(problems))
    filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None) and k not in ("before", "after")}
    plan = batches.bulk_retry_plan(filters=filters, include_permanent=options["yes"])
    command.stdout.write(f"{plan.matching} tasks match; {plan.retry} would be retried.")
    for why, count in plan.excluded.items():
        command.stdout.write(f"  left out: {count} {why}")
    if options["dry_run"]:
        return
    if not options["yes"]:
        raise CommandError(f"Add --yes to retry these {plan.retry} tasks (permanent codes included then).")
    made = batches.bulk_retry_create(
        user=user, filters=filters, filter_text=options["filter"], include_permanent=options["yes"]
    )
    command.stdout.write(f"Bulk retry {made.pk}: {made.total} tasks queued.")
    _wait(command, made)


def _read(name: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise CommandError(f"--file-ids {name}: {exc.strerror or exc}.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(f"--file-ids {name}: not UTF-8 text; save it as UTF-8 and try again.") from None


def _wait(command, made: Batch, *, quiet: bool = False) -> None:
    """A progress bar until every item is done; the summary after it. Exit 1 if the batch was cancelled."""
    started = last_change = time.monotonic()
    warned = False
    bar = tqdm(total=made.total, unit="task", file=command.stderr._out, disable=quiet, dynamic_ncols=True)
    done = 0
    while True:
        made.refresh_from_db()
        progress = batches.batch_progress(made)
        if progress.done != done:
            bar.update(progress.done - done)
            done, last_change = progress.done, time.monotonic()
        bar.set_postfix(ok=progress.succeeded, failed=progress.failed, unknown=progress.unknown, refresh=False)
        if progress.queued == 0 and progress.sending == 0:
            break
        if not warned and time.monotonic() - last_change > QUIET_WARNING_SECONDS:
            bar.write("No progress for 30 s: is a worker running? (python manage.py db_worker)")
            warned = True
        time.sleep(POLL_SECONDS)
    bar.close()
    if not quiet:
        command.stdout.write(
            f"Batch {made.pk}: {progress.succeeded} succeeded, {progress.failed} failed, {progress.unknown} unknown, "
            f"{progress.cancelled} cancelled, {progress.skipped} skipped, in {time.monotonic() - started:.1f} s."
        )
    if made.cancelled_at:
        raise CommandError(f"Batch {made.pk} was cancelled: {progress.cancelled} tasks were not sent.", returncode=1)


def _print_status(command, made: Batch, *, as_json: bool) -> None:
    progress = batches.batch_progress(made)
    attempts = Attempt.objects.filter(task__batch_items__batch=made).aggregate(n=Count("id"))["n"]
    status = {
        "batch": made.pk,
        "kind": made.kind,
        "total": progress.total,
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "unknown": progress.unknown,
        "pending": progress.queued + progress.sending,
        "cancelled": progress.cancelled,
        "skipped": progress.skipped,
        "attempts": attempts,
    }
    if as_json:
        command.stdout.write(json.dumps(status))
    else:
        command.stdout.write(", ".join(f"{k} {v}" for k, v in status.items()))


def add_export_arguments(sub) -> None:
    export = sub.add_parser("export", help="The history as CSV, one row per attempt.", called_from_command_line=True)
    export.add_argument("--filter", default="", help='The history\'s filters, e.g. "state=failed&vendor=Huawei".')
    export.add_argument("-o", "--output", default="-", help="The file to write (- for standard output).")


def export(command, options) -> None:
    from dashboard.selectors_export import export_csv

    form = HistorySearchForm(QueryDict(options["filter"]))
    if not form.is_valid():
        problems = [f"{name}: {error}" for name, errors in form.errors.items() for error in errors]
        raise CommandError("--filter: " + "; ".join(problems))
    filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None) and k not in ("before", "after")}
    try:
        out = sys.stdout if options["output"] == "-" else open(options["output"], "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"-o {options['output']}: {exc.strerror or exc}.") from None
    export = export_csv(**filters)
    try:
        for text in export:
            out.write(text)
    finally:
        if out is not sys.stdout:
            out.close()
    if options["output"] != "-":
        command.stderr.write(f"{export.rows} attempts written to {options['output']}.")
