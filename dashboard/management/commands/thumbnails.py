"""Submit or retry screenshot tasks from the command line, through the same forms and services as the
console (so the same validation and the same history)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard import services
from dashboard.forms import FORMS
from dashboard.models import State, Task


class Command(BaseCommand):
    help = "Submit a MediaThumbnails task, or retry one, recording it in the history like the console does."

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
        retry.add_argument("task_id", type=int)
        retry.add_argument("--user", required=True, help="Username recorded as the one retrying.")
        retry.add_argument("--yes", action="store_true", help="Retry even when the last code is permanent.")

    def handle(self, *args, **options) -> None:
        user = self._operator(
            options["user"], "dashboard.submit_task" if options["action"] == "submit" else "dashboard.retry_task"
        )
        if options["action"] == "submit":
            self._submit(user, options)
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
