"""Screenshot tasks: submit one (a form per mode), look at one, retry one, ask ZEGO again about its result."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from .. import services
from ..forms import FORMS
from ..gallery import CHECKS_SHOWN, screenshot_items
from ..models import ResultCheck, State, Task
from ..zego.client import default_client
from .access import can_read

# A worker polls every few seconds; a check this late means none is running.
CHECK_OVERDUE = timedelta(seconds=30)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("dashboard.submit_task", raise_exception=True)
def task_new(request: HttpRequest, mode: str) -> HttpResponse:
    form_class = FORMS.get(mode)
    if form_class is None:
        raise Http404(_("No such screenshot mode."))
    resubmit_of = _resubmit_source(request)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            wanted, token = form.to_request(), form.cleaned_data.get("submission_token")
            submission = services.task_submit(
                user=request.user, request=wanted, submission_token=token, resubmitted_from=resubmit_of
            )
            if not submission.created and submission.task.to_request() != wanted:
                # The form was sent before, then changed (Back, edit, send): a new task, under a token derived
                # from both, so that a double click of the changed form still makes only one.
                token = uuid.uuid5(token, repr(wanted))
                submission = services.task_submit(
                    user=request.user, request=wanted, submission_token=token, resubmitted_from=resubmit_of
                )
            if not submission.created:
                messages.info(request, _("This form was already submitted: here is the task it created."))
            return redirect("dashboard:task_detail", pk=submission.task.pk)
    else:
        initial = form_class.initial_from_task(resubmit_of) if resubmit_of else {}
        # A vendor switch (htmx, or the no-JavaScript "Show fields" button) keeps what was typed. The form's
        # one-time token is never taken from a URL: a crafted link must not reuse someone's token.
        for name in ("vendor", "file_id", "definition", "time_points", "interval"):
            if name in request.GET:
                initial[name] = request.GET[name]
        form = form_class(initial=initial)
    template = "dashboard/task_form.html"
    if request.htmx and request.method == "GET":
        template += "#vendor-fields"
    return render(
        request,
        template,
        {"form": form, "mode_forms": FORMS.values(), "resubmit_of": resubmit_of},
    )


@require_safe
@can_read
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.select_related("created_by", "resubmitted_from"), pk=pk)
    return _render_detail(request, task, fragment=bool(request.htmx))


@require_POST
@permission_required("dashboard.retry_task", raise_exception=True)
def task_retry(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task, pk=pk)
    origin = "history" if request.POST.get("from") == "history" else "detail"
    ok = False
    try:
        attempt = services.task_retry(user=request.user, task=task, confirmed=request.POST.get("confirm") == "yes")
    except services.RetryNeedsConfirmation as exc:
        if not request.htmx:
            # The language switch on this page (shown after a POST) comes back to the task's own page.
            back = reverse("dashboard:task_detail", args=[task.pk])
            context = {"task": task, "reason": str(exc), "origin": origin, "language_next": back}
            return render(request, "dashboard/retry_confirm.html", context)
        flash = str(exc)
    except services.RetryRefused as exc:
        flash = _("Not retried: %(reason)s") % {"reason": exc}
    else:
        ok = attempt.state == State.SUCCEEDED
        label = str(attempt.get_state_display())
        state = f"{label[:1].lower()}{label[1:]}"
        values = {"number": attempt.number, "state": state, "request_id": attempt.request_id}
        if attempt.request_id:
            flash = _("Attempt %(number)s: %(state)s, RequestId %(request_id)s.") % values
        else:
            flash = _("Attempt %(number)s: %(state)s.") % values
    # The service has refreshed `task` from the database, whatever the outcome.
    if request.htmx and origin == "history":
        return render(request, "dashboard/_task_row.html", {"task": task, "flash": flash})
    if request.htmx:
        return _render_detail(request, task, fragment=True, flash=flash)
    messages.add_message(request, messages.SUCCESS if ok else messages.WARNING, flash)
    return redirect("dashboard:task_detail", pk=pk)


@require_POST
@permission_required("dashboard.retry_task", raise_exception=True)
def task_ask(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask ZEGO again (DescribeMediaTask) what became of an accepted task, now rather than at the next poll."""
    task = get_object_or_404(Task, pk=pk)
    try:
        check = services.result_ask(task=task, user=request.user)
    except services.ResultAskRefused as exc:
        flash, ok = _("Not asked: %(reason)s") % {"reason": exc}, False
    else:
        flash, ok = _check_summary(check), not (check.transport_error or check.code)
    task.refresh_from_db()
    if request.htmx:
        return _render_detail(request, task, fragment=True, flash=flash)
    messages.add_message(request, messages.SUCCESS if ok else messages.WARNING, flash)
    return redirect("dashboard:task_detail", pk=pk)


def _check_summary(check: ResultCheck) -> str:
    if check.transport_error:
        return _("Asked ZEGO: no usable answer (%(detail)s).") % {
            "detail": check.transport_detail or check.transport_error
        }
    if check.code:
        if check.message:
            return _("Asked ZEGO: Code %(code)s, %(message)s.") % {"code": check.code, "message": check.message}
        return _("Asked ZEGO: Code %(code)s, no message.") % {"code": check.code}
    if check.status:
        return _("Asked ZEGO: the provider says %(status)s.") % {"status": check.status}
    return _("Asked ZEGO: no status in the answer.")


def _render_detail(request: HttpRequest, task: Task, *, fragment: bool, flash: str = "") -> HttpResponse:
    template = "dashboard/task_detail.html" + ("#task-panel" if fragment else "")
    shots = screenshot_items(task, task.screenshots.all()) if task.screenshot_count else []
    # The newest checks, shown oldest first like the attempts.
    checks = task.checks.select_related("asked_by").order_by("-at", "-id")[:CHECKS_SHOWN]
    attempts = list(task.attempts.select_related("created_by").order_by("number"))
    return render(
        request,
        template,
        {
            "task": task,
            "flash": flash,
            "attempts": attempts,
            "latest_attempt": attempts[-1] if attempts else None,
            "command_line": default_client().prepare_thumbnails(task.to_request()).curl(),
            "resubmissions": task.resubmissions.order_by("-id")[:20],
            "result": task.display_result,
            "images": [item for item in shots if item.image],
            "files": [item for item in shots if not item.image],
            "checks": list(checks)[::-1],
            "checks_hidden": max(task.result_checks - CHECKS_SHOWN, 0),
            "check_overdue": bool(task.next_check_at and task.next_check_at < timezone.now() - CHECK_OVERDUE),
            "obs_base_url": settings.THUMBS_HUAWEI_OBS_BASE_URL,
        },
    )


def _resubmit_source(request: HttpRequest) -> Task | None:
    pk = _id_or_none(request.GET.get("from_task") or request.POST.get("from_task"))
    return None if pk is None else Task.objects.filter(pk=pk).first()


def _id_or_none(raw: str | None) -> int | None:
    """A database id from outside, or None: ASCII digits only (``²`` passes isdigit), within a bigint."""
    if not raw or not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)
