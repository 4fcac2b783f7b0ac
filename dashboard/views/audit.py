"""The audit trail, for everyone with a role: read-only, filterable."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..forms import AuditSearchForm
from ..selectors_audit import audit_entries
from .access import can_read


@require_safe
@can_read
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        page = audit_entries(**{k: v for k, v in filters.items() if v not in ("", None)})
    template = "dashboard/audit.html"
    if request.htmx and not request.htmx.boosted:
        template += "#entries"
    return render(request, template, {"form": form, "page": page})
