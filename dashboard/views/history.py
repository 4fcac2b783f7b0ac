"""Reading: the home page and the history search."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from ..forms import FORMS, HistorySearchForm
from ..gallery import latest_screenshots
from ..models import State, Task
from ..selectors import task_history
from ..selectors_export import export_csv
from ..selectors_overview import overview
from .access import can_read

FOLDED_FILTERS = {"vendor", "mode", "state", "result", "code", "submitter", "since", "until"}


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
        {
            "recent": recent,
            "forms": FORMS.values(),
            "scripted": scripted,
            "overview": overview(),
            "latest_screenshots": latest_screenshots(),
        },
    )


@require_safe
@can_read
def history(request: HttpRequest) -> HttpResponse:
    form = HistorySearchForm(request.GET or None)
    page = None
    filters: dict = {}
    if not form.is_bound or form.is_valid():
        filters = {k: v for k, v in (form.cleaned_data if form.is_bound else {}).items() if v not in ("", None)}
        page = task_history(**filters)
    template = "dashboard/history.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    context = {
        "form": form,
        "page": page,
        # The folded filters say how many are set (and open by themselves when any is).
        "filters_set": len(set(filters) & FOLDED_FILTERS),
        # The results refresh themselves while any task on the page is sending.
        "sending": sum(task.display_state == State.SENDING for task in page.tasks) if page else 0,
    }
    return render(request, template, context)


@require_safe
@can_read
def history_export(request: HttpRequest) -> HttpResponse:
    """The history's current filters as CSV, one row per attempt, streamed."""
    form = HistorySearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/history.html", {"form": form, "page": None}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    filters = {k: v for k, v in filters.items() if v not in ("", None) and k not in ("before", "after")}
    response = StreamingHttpResponse(export_csv(**filters), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="thumbs-history-{stamp}.csv"'
    return response
