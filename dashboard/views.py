"""Thin views: validate, call one service or selector, render. One template serves page and fragment."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import services
from .forms import FORMS, HistorySearchForm
from .models import State, Task
from .selectors import task_history
from .zego.client import default_client

# Reading needs a role: viewer, operator or superuser. GET views also answer HEAD (load balancers send it).
can_read = permission_required("dashboard.view_task", raise_exception=True)


@require_safe
@can_read
def home(request: HttpRequest) -> HttpResponse:
    recent = Task.objects.select_related("created_by")[:10]
    scripted: list[tuple[str, str]] = []
    if settings.ZEGO_SIMULATOR:
        from zego_simulator.scripted import SCRIPTED_FILE_IDS  # a dev tool: never loaded in production

        scripted = list(SCRIPTED_FILE_IDS.items())
    return render(
        request,
        "dashboard/home.html",
        {"recent": recent, "forms": FORMS.values(), "scripted": scripted},
    )


@login_not_required
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "degraded", "database": database, "simulator": settings.ZEGO_SIMULATOR},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("dashboard.submit_task", raise_exception=True)
def task_new(request: HttpRequest, mode: str) -> HttpResponse:
    form_class = FORMS.get(mode)
    if form_class is None:
        raise Http404("No such screenshot mode.")
    resubmit_of = _resubmit_source(request)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            submission = services.task_submit(
                user=request.user,
                request=form.to_request(),
                submission_token=form.cleaned_data.get("submission_token"),
                resubmitted_from=resubmit_of,
            )
            if not submission.created:
                messages.info(request, "This form was already submitted: here is the task it created.")
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
def history(request: HttpRequest) -> HttpResponse:
    services.attempts_expire_stale()
    form = HistorySearchForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        page = task_history(**{k: v for k, v in filters.items() if v not in ("", None)})
    template = "dashboard/history.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"form": form, "page": page})


@require_safe
@can_read
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    services.attempts_expire_stale()
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
            return render(request, "dashboard/retry_confirm.html", {"task": task, "reason": str(exc), "origin": origin})
        flash = str(exc)
    except services.RetryRefused as exc:
        flash = f"Not retried: {exc}"
    else:
        ok = attempt.state == State.SUCCEEDED
        flash = f"Attempt {attempt.number}: {attempt.get_state_display().lower()}"
        flash += f", RequestId {attempt.request_id}." if attempt.request_id else "."
    # The service has refreshed `task` from the database, whatever the outcome.
    if request.htmx and origin == "history":
        return render(request, "dashboard/_task_row.html", {"task": task, "flash": flash})
    if request.htmx:
        return _render_detail(request, task, fragment=True, flash=flash)
    messages.add_message(request, messages.SUCCESS if ok else messages.WARNING, flash)
    return redirect("dashboard:task_detail", pk=pk)


def _render_detail(request: HttpRequest, task: Task, *, fragment: bool, flash: str = "") -> HttpResponse:
    template = "dashboard/task_detail.html" + ("#task-panel" if fragment else "")
    return render(
        request,
        template,
        {
            "task": task,
            "flash": flash,
            "attempts": task.attempts.select_related("created_by").order_by("number"),
            "command_line": default_client().prepare_thumbnails(task.to_request()).curl(),
            "resubmissions": task.resubmissions.order_by("-id")[:20],
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


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: what the user's role lacks, and whom to ask."""
    admins = get_user_model()._default_manager.filter(is_superuser=True, is_active=True).order_by("pk")[:5]
    return render(request, "403.html", {"admins": admins}, status=403)
