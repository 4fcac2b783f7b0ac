"""The audit trail: who did what and when, appended and never changed.

Writes that act on a task record their entry in the same transaction as the task (before any call to ZEGO),
so an entry exists even when the process dies mid-call. Sign-ins and user and role changes come from Django's
and django-axes' signals (dashboard/signals.py), whoever makes them (the admin, a command, a script).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from ..models import AuditEntry, Task
from ..zego.text import fit

# The request being served, for signal receivers that are not given one (a user saved in the admin).
_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


def audit_record(
    *,
    action: AuditEntry.Action,
    summary: str,
    actor: AbstractBaseUser | None = None,
    actor_name: str | None = None,
    task: Task | None = None,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    request = request or _current_request.get()
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if actor_name is None:
        actor_name = actor.get_username() if actor is not None else "system"
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_name=fit(str(actor_name), 150),
        task=task,
        summary=fit(summary, 500),
        details=details or {},
        remote_addr=_address(request),
    )


def display_in_english(instance: Model, field: str) -> str:
    """``instance.get_<field>_display()`` as an entry's summary records it: in English, whatever the language
    of the request that writes it, so that an entry reads the same for everyone (pages translate the action,
    not the record)."""
    with translation.override("en"):
        return getattr(instance, f"get_{field}_display")()


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    from ..auth import client_ip_address  # the same rule as the sign-in throttle (proxy-aware)

    return client_ip_address(request)


class AuditRequestMiddleware:
    """Makes the request (its user and address) known to audit entries written by signal receivers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
