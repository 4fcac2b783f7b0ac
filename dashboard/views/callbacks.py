"""ZEGO's snapshot callback (POST /zego/callback, for ZEGO's servers) and the refused list (for readers)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST, require_safe

from .. import services
from ..auth import client_ip_address
from ..models import RefusedCallback
from ..services.callbacks import KEEP_REFUSED
from ..zego.callbacks import MAX_BODY_BYTES, CallbackRefused, Refusal
from .access import can_read

PAGE_SIZE = 50


@csrf_exempt  # ZEGO's servers hold no session: the callback signature is what authenticates them
@login_not_required
@require_POST
@sensitive_post_parameters()  # an error report would otherwise show the body (URL-encoded) as POST data
@sensitive_variables("body")
def zego_callback(request: HttpRequest) -> HttpResponse:
    remote_address = client_ip_address(request) or ""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0  # as Django reads it: no body
    if declared > MAX_BODY_BYTES:
        # Not read at all: a declared size over the cap is refused before a byte of it arrives.
        answer = services.callback_refuse(
            refused=CallbackRefused(Refusal.OVERSIZED, f"Body too large: at most {MAX_BODY_BYTES} bytes."),
            body=b"",
            remote_address=remote_address,
        )
    else:
        # request.read, not request.body: never more than the cap plus one byte (to notice a longer body).
        body = request.read(MAX_BODY_BYTES + 1) if declared > 0 else b""
        answer = services.callback_receive(body=body, remote_address=remote_address)
    return HttpResponse(answer.message + "\n", status=answer.status, content_type="text/plain; charset=utf-8")


@require_safe
@can_read
def refused_callbacks(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(RefusedCallback.objects.all(), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "dashboard/callbacks.html", {"page": page, "keep": KEEP_REFUSED})
