"""Password guessing: the hooks django-axes calls (settings.AXES_*), kept apart from the views.

axes counts failed sign-ins per account and per client address, and refuses a locked sign-in before the
password is checked (AxesStandaloneBackend comes first in AUTHENTICATION_BACKENDS), so a locked guess costs
no password hash.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta

from axes.helpers import get_client_username
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

log = logging.getLogger("dashboard.auth")

# The login form allows 150 characters; more in a log line would only be noise (or an attack on the log).
_USERNAME_LOG_LIMIT = 150


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str | None:
    """The address a sign-in comes from (AXES_CLIENT_IP_CALLABLE).

    Behind the TLS proxy every request comes from the proxy, so REMOTE_ADDR would put all clients under one
    address: the client is then the right-most X-Forwarded-For entry, the one our proxy appended. Entries
    to its left come from the client and may be forged to dodge the address limit, so they are ignored.
    """
    if settings.CLIENT_IP_FROM_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        address = _ip(forwarded.rsplit(",", 1)[-1])
        if address:
            return address
    return _ip(request.META.get("REMOTE_ADDR"))


def _quoted(username: object) -> str:
    return repr(str(username or "")[:_USERNAME_LOG_LIMIT])


def client_str(username: str | None, ip_address: str | None, user_agent: str, path_info: str, request) -> str:
    """How axes names a client in its log lines (AXES_CLIENT_STR_CALLABLE): the user name quoted, so that a
    newline typed into the login form cannot forge a log line; no user agent."""
    return f"account={_quoted(username)} address={ip_address or '-'}"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page for a refused, locked sign-in (AXES_LOCKOUT_CALLABLE), and its log line.

    axes calls this for the attempt that reaches the limit and for every attempt while locked; each of them
    restarts the cool-off (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the lock ends one cool-off
    from now at the latest.
    """
    cool_off = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    until = timezone.now() + cool_off
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or client_ip_address(request)
    log.warning(
        "login locked out: account=%s address=%s failures=%s until=%s",
        _quoted(username),
        address or "-",
        getattr(request, "axes_failures_since_start", None) or "?",
        until.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return render(
        request,
        "registration/locked_out.html",
        {
            "minutes": settings.LOGIN_LOCKOUT_MINUTES,
            "until": until,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
