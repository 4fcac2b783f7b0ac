"""Submit or retry screenshot tasks from the command line, through the same forms and services as the
console (so the same validation and the same history); sweep attempts left "sending" by a dead process."""

from __future__ import annotations

import math
import signal
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from dashboard import services
from dashboard.forms import FORMS
from dashboard.management import batch_cli
from dashboard.models import State, Task


class _Interrupted(Exception):
    pass


class _StopFlag:
    """Set by SIGTERM/SIGINT. A signal cuts a sleep short, but never a sweep: the sweep's updates finish."""

    def __init__(self) -> None:
        self.requested = False
        self._sleeping = False

    def on_signal(self, signum: int, frame: object) -> None:
        self.requested = True
        if self._sleeping:
            raise _Interrupted

    def sleep(self, seconds: float) -> None:
        try:
            self._sleeping = True
            if not self.requested:
                time.sleep(seconds)
        except _Interrupted:
            pass
        finally:
            self._sleeping = False


class Command(BaseCommand):
    help = (
        "Submit a MediaThumbnails task, or retry one, recording it in the history like the console does; "
        "or sweep: mark attempts left sending past the client's timeout as unknown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        submit = sub.add_parser("submit", help="Submit a new task.", called_from_command_line=True)
        submit.add_argument("--user", required=True, help="Username recorded as the submitter (an operator).")
        submit.add_argument("--mode", required=True, choices=sorted(FORMS), help="time-points or interval")
        submit.add_argument("--vendor", required=True, choices=Task.Vendor.values)
        submit.add_argument("--file-id", required=True, help="Tencent FileID (digits) or Huawei OBS object path")
        submit.add_argument("--definition", help="Tencent screenshot template ID")
        submit.add_argument("--time-points", help='Seconds, e.g. "1, 2.5, 10" (time-points mode)')
        submit.add_argument("--interval", help="Seconds between screenshots (Huawei, interval mode)")
        retry = sub.add_parser("retry", help="Retry a failed or unknown task.", called_from_command_line=True)
        retry.add_argument("task_id", type=int, nargs="?", help="The task to retry (or --filter for many).")
        retry.add_argument("--user", required=True, help="Username recorded as the one retrying.")
        retry.add_argument("--yes", action="store_true", help="Retry even when the last code is permanent.")
        batch_cli.add_retry_arguments(retry)
        batch_cli.add_arguments(sub)
        batch_cli.add_export_arguments(sub)
        sweep = sub.add_parser(
            "sweep",
            help="Mark attempts left sending by a stopped process as unknown.",
            called_from_command_line=True,
        )
        sweep.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="Sweep again every SECONDS until SIGTERM or Ctrl-C (the Procfile's sweep line); default: once.",
        )

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "sweep":
            self._sweep(options["every"])
            return
        if action == "batch-status":
            batch_cli.batch_status(self, options)
            return
        if action == "export":
            batch_cli.export(self, options)
            return
        user = self._operator(options["user"], "dashboard.retry_task" if action == "retry" else "dashboard.submit_task")
        if action == "submit":
            self._submit(user, options)
        elif action == "batch":
            batch_cli.batch(self, user, options)
        elif options["filter"] is not None:
            if options["task_id"] is not None:
                raise CommandError("Give a task id or --filter, not both.")
            batch_cli.retry_filter(self, user, options)
        elif options["task_id"] is None:
            raise CommandError("Give the task id to retry, or --filter to retry every task that matches.")
        else:
            self._retry(user, options)

    def _operator(self, username: str, perm: str):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}: create one in the admin, or pick another --user.")
        if not user.has_perm(perm):
            raise CommandError(f"User {username!r} may not do this: add them to the operator group.")
        return user

    def _submit(self, user, options) -> None:
        form_class = FORMS[options["mode"]]
        data = {
            "vendor": options["vendor"],
            "file_id": options["file_id"],
            "definition": options["definition"] or "",
            "time_points": options["time_points"] or "",
            "interval": options["interval"] or "",
        }
        form = form_class(data)
        if not form.is_valid():
            lines = [
                f"  --{name.replace('_', '-')}: {error}" if name != "__all__" else f"  {error}"
                for name, errors in form.errors.items()
                for error in errors
            ]
            raise CommandError("Nothing was sent; fix these first:\n" + "\n".join(lines))
        task = services.task_submit(user=user, request=form.to_request()).task
        self._report(task)

    def _retry(self, user, options) -> None:
        task = Task.objects.filter(pk=options["task_id"]).first()
        if task is None:
            raise CommandError(f"No task #{options['task_id']}.")
        try:
            services.task_retry(user=user, task=task, confirmed=options["yes"])
        except services.RetryRefused as exc:
            raise CommandError(
                f"Not retried: {exc}" + (" (add --yes)" if isinstance(exc, services.RetryNeedsConfirmation) else "")
            ) from None
        task.refresh_from_db()
        self._report(task)

    def _sweep(self, every: float | None) -> None:
        if every is None:
            count = services.attempts_expire_stale()
            self.stdout.write(f"Marked {count} stale attempt(s) unknown.")
            return
        if not math.isfinite(every) or not 0.1 <= every <= 86400:
            raise CommandError(f"--every {every:g}: expected a number of seconds from 0.1 to 86400.")
        stop = _StopFlag()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, stop.on_signal)
        self.stdout.write(f"Sweeping stale attempts every {every:g} s.")
        self.stdout.flush()
        while not stop.requested:
            close_old_connections()  # a long-lived process: do not keep a connection the server dropped
            try:
                count = services.attempts_expire_stale()
            except DatabaseError as exc:
                # Transient (a locked SQLite file, a restarting server): the next round tries again.
                self.stderr.write(f"Sweep failed, trying again in {every:g} s: {exc}")
            else:
                if count:
                    self.stdout.write(f"Marked {count} stale attempt(s) unknown.")
            self.stdout.flush()  # the Procfile runner shows each line as it comes
            stop.sleep(every)
        self.stdout.write("Sweep stopped.")

    def _report(self, task: Task) -> None:
        info = task.code_info
        line = f"Task #{task.pk}: {task.state}"
        if task.latest_code is not None:
            line += f", Code {task.latest_code} ({info.meaning})"
        if task.latest_request_id:
            line += f", RequestId {task.latest_request_id}"
        if task.vendor_task_id:
            line += f", vendor task id {task.vendor_task_id}"
        style = self.style.SUCCESS if task.state == State.SUCCEEDED else self.style.WARNING
        self.stdout.write(style(line))
        if task.state == State.FAILED and info:
            self.stdout.write(f"What to do: {info.action}")
        elif task.state == State.UNKNOWN:
            self.stdout.write(task.latest_message)
        if task.state != State.SUCCEEDED:
            raise CommandError(f"Task #{task.pk} did not succeed.", returncode=1)
