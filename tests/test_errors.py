"""A 500 with DJANGO_DEBUG off: the page gives a reference, the log has the traceback under it, no secret."""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from dashboard.errors import ScrubbingFormatter
from thumbs_admin import urls as root_urls

SECRET = "c0ffee00deadbeef5ca1ab1e0ddba11a"
SIGNATURE = "0123456789abcdef0123456789abcdef"


@login_not_required
def boom(request: HttpRequest) -> HttpResponse:
    # What an unexpected failure around the ZEGO call could carry: its URL, Signature included.
    raise RuntimeError(f"unexpected: https://rtc-api.zego.im/?Action=X&Signature={SIGNATURE}&k={SECRET.upper()}")


# This module is the URLconf of its tests (pytest.mark.urls): the real one plus a view that fails.
urlpatterns = [path("boom/", boom), *root_urls.urlpatterns]
handler500 = root_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def stderr_log(settings):
    """What the console handler (stderr in production) writes, through the configured filter and formatter."""
    settings.ZEGO_SERVER_SECRET = SECRET
    handlers = logging.getLogger("django.request").handlers
    (handler,) = [h for h in handlers if isinstance(h.formatter, ScrubbingFormatter)]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_a_500_shows_a_reference_that_leads_to_the_logged_traceback(stderr_log):
    response = Client(raise_request_exception=False).get("/boom/")

    html = response.content.decode()
    assert response.status_code == 500
    match = re.search(r"reference <code>([0-9a-f]{12})</code>", html)
    assert match, html
    request_id = match[1]
    assert response["X-Request-ID"] == request_id
    log = stderr_log.getvalue()
    assert f"ERROR django.request [{request_id}] Internal Server Error: /boom/" in log
    assert "Traceback (most recent call last)" in log and "RuntimeError: unexpected" in log
    assert "Signature=[redacted]" in log
    assert SIGNATURE not in log and SECRET not in log.lower()


def test_every_request_gets_its_own_id(client):
    first, second = client.get("/login/"), client.get("/login/")
    assert re.fullmatch(r"[0-9a-f]{12}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
