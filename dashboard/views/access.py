"""Who may read, and the 403 page that says whom to ask."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Reading needs a role: viewer, operator or superuser. GET views also answer HEAD (load balancers send it).
can_read = permission_required("dashboard.view_task", raise_exception=True)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: what the user's role lacks, and whom to ask."""
    admins = get_user_model()._default_manager.filter(is_superuser=True, is_active=True).order_by("pk")[:5]
    return render(request, "403.html", {"admins": admins}, status=403)
