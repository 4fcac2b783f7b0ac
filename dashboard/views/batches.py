"""Batches: the form that checks every line, the page that shows progress, the list, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ..forms import BATCH_FORMS, SHOWN_PROBLEMS, HistorySearchForm
from ..models import Batch
from ..services import batches
from .access import can_read


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("dashboard.submit_task", raise_exception=True)
def batch_new(request: HttpRequest, mode: str) -> HttpResponse:
    form_class = BATCH_FORMS.get(mode)
    if form_class is None:
        raise Http404(_("No such screenshot mode."))
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            batch = batches.batch_create(
                user=request.user,
                template=form.template_request(),
                file_ids=[line.file_id for line in form.lines.valid],
                submission_token=form.cleaned_data.get("submission_token"),
            )
            return redirect("dashboard:batch_detail", pk=batch.pk)
    else:
        form = form_class(initial={k: request.GET[k] for k in ("vendor",) if k in request.GET})
    template = "dashboard/batch_form.html"
    if request.htmx and request.method == "GET":
        template = "dashboard/task_form.html#vendor-fields"
    lines = getattr(form, "lines", None)
    problems = sorted([*lines.invalid, *lines.duplicates], key=lambda line: line.number) if lines else []
    return render(
        request,
        template,
        {
            "form": form,
            "mode_forms": BATCH_FORMS.values(),
            "lines": lines,
            "problems": problems[:SHOWN_PROBLEMS],
            "problems_hidden": max(len(problems) - SHOWN_PROBLEMS, 0),
        },
    )


@require_safe
@can_read
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch.objects.select_related("created_by", "cancelled_by"), pk=pk)
    template = "dashboard/batch_detail.html" + ("#progress" if request.htmx else "")
    return render(request, template, {"batch": batch, "progress": batches.batch_progress(batch)})


@require_safe
@can_read
def batch_list(request: HttpRequest) -> HttpResponse:
    recent = list(Batch.objects.select_related("created_by")[:20])
    rows = [(batch, batches.batch_progress(batch)) for batch in recent]
    return render(request, "dashboard/batch_list.html", {"rows": rows})


@require_POST
@permission_required("dashboard.submit_task", raise_exception=True)
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=pk)
    count = batches.batch_cancel(batch=batch, user=request.user)
    if count:
        values = {"batch": batch.pk, "count": f"{count:,}"}
        messages.warning(request, _("Batch #%(batch)s cancelled: %(count)s tasks will not be sent.") % values)
    else:
        messages.info(request, _("Batch #%(batch)s had nothing left to cancel.") % {"batch": batch.pk})
    return redirect("dashboard:batch_detail", pk=batch.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("dashboard.retry_task", raise_exception=True)
def bulk_retry(request: HttpRequest) -> HttpResponse:
    """GET: the dry run for the history's current filters. POST: freeze that set and queue its retries."""
    filter_text = request.POST.get("filter", "") if request.method == "POST" else request.GET.urlencode()
    form = HistorySearchForm(QueryDict(filter_text))
    include_permanent = request.POST.get("include_permanent") == "on" or request.GET.get("include_permanent") == "on"
    if not form.is_valid():
        return render(request, "dashboard/bulk_retry.html", {"form": form, "filter_text": filter_text}, status=400)
    filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None) and k not in ("before", "after")}
    if request.method == "POST":
        try:
            batch = batches.bulk_retry_create(
                user=request.user, filters=filters, filter_text=_shown(filter_text), include_permanent=include_permanent
            )
        except ValueError as exc:
            messages.warning(request, str(exc))
        else:
            return redirect("dashboard:batch_detail", pk=batch.pk)
    plan = batches.bulk_retry_plan(filters=filters, include_permanent=include_permanent)
    return render(
        request,
        "dashboard/bulk_retry.html",
        {"form": form, "plan": plan, "filter_text": filter_text, "include_permanent": include_permanent},
    )


def _shown(filter_text: str) -> str:
    """The filter as the operator reads it: no paging cursors, no empty fields."""
    query = QueryDict(filter_text, mutable=True)
    for key in ("before", "after", "include_permanent"):
        query.pop(key, None)
    return "&".join(f"{k}={v}" for k, v in query.items() if v)
