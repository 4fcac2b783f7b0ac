"""Request ids, error logging and the 500 page.

Every request gets a short id: it is in the X-Request-ID response header, on every log line written
while the request runs, and on the 500 page, so that an operator can quote it and find the traceback.
Loaded by settings.LOGGING before the apps are ready: import nothing that needs them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import TemplateDoesNotExist, loader

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# A Signature in a URL (ZEGO's query string, say in a requests exception) and the ServerSecret itself.
_SIGNATURE = re.compile(r"(\bSignature=)[^&\s'\"]+", re.IGNORECASE)


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that whatever fails after it is logged with the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Our own id, never one from the client: a client could forge or reuse it.
        request.request_id = new_request_id()
        token = _request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Gives every record a request_id: the request's own (django.request passes the request along), the
    one of the request being served, or "-" outside requests (commands, the worker)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or _request_id.get() or "-"
        return True


def scrub_secrets(text: str) -> str:
    """``text`` with the ZEGO secrets and any Signature=... masked."""
    text = _SIGNATURE.sub(r"\1[redacted]", text)
    for name in ("ZEGO_SERVER_SECRET", "ZEGO_CALLBACK_SECRET"):
        secret = getattr(settings, name, "")
        if secret:
            text = re.sub(re.escape(secret), "[redacted]", text, flags=re.IGNORECASE)
    return text


class ScrubbingFormatter(logging.Formatter):
    """Formats the whole record, traceback included, then masks the ZEGO secrets and any Signature=...:
    the last guard for an exception message that carries ZEGO's URL."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub_secrets(super().format(record))


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: Django's page plus the request id. Rendered without context processors, which would
    reach for the session and the user, and so the database, which may be why we are here."""
    request_id = getattr(request, "request_id", None) or _request_id.get()
    try:
        html = loader.render_to_string(template_name, {"request_id": request_id})
    except TemplateDoesNotExist:
        html = f"<h1>Server Error (500)</h1><p>Reference: {request_id or '-'}</p>"
    return HttpResponseServerError(html)
