"""Reading: the home page and the history search."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..forms import FORMS, HistorySearchForm
from ..models import Task
from ..selectors import task_history
from .access import can_read


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


@require_safe
@can_read
def history(request: HttpRequest) -> HttpResponse:
    form = HistorySearchForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        page = task_history(**{k: v for k, v in filters.items() if v not in ("", None)})
    template = "dashboard/history.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"form": form, "page": page})
