"""The ServerSecret and every request's Signature stay out of the database, logs, pages and error reports."""

from __future__ import annotations

import logging
import re
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.db import connection
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from dashboard.models import Attempt, Task
from dashboard.zego.client import ZegoClient
from dashboard.zego.pacing import ProcessPacer
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor, ZegoConfig

SECRET = "c0ffee00deadbeef5ca1ab1e0ddba11a"
URL = "https://rtc-api.zego.im/"
TENCENT_POST = {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1, 2.5"}


@pytest.fixture
def real_zego(settings):
    settings.ZEGO_SIMULATOR = False
    settings.ZEGO_APP_ID = 1234567890
    settings.ZEGO_SERVER_SECRET = SECRET
    settings.ZEGO_API_URL = URL


def signatures(mock: responses.RequestsMock) -> set[str]:
    return {parse_qs(urlsplit(call.request.url).query)["Signature"][0] for call in mock.calls}


def everything_stored() -> str:
    with connection.cursor() as cursor:
        dumps = []
        for table in (Task._meta.db_table, Attempt._meta.db_table, "django_session", "django_admin_log"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 -- fixed table names
            dumps.append(repr(cursor.fetchall()))
    return "\n".join(dumps)


@pytest.mark.django_db
def test_it_keeps_the_secret_and_signatures_out_of_db_logs_and_pages(real_zego, operator_client, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as mock:
        # A success, a failure that echoes the query back (signature included), and a transport failure.
        mock.get(URL, json={"Code": 0, "Message": "success", "RequestId": "1", "Data": {"Tencent": {"TaskId": "t"}}})

        def echo(request):
            return (200, {}, f'{{"Code": 2, "Message": "bad: {request.url} {SECRET}"}}')

        mock.add_callback(responses.GET, URL, callback=echo)
        mock.get(URL, body=requests.exceptions.ConnectionError(f"boom {URL}?Signature=leak&secret={SECRET}"))
        for file_id in ("1", "2", "3"):
            operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"file_id": file_id})
        sent = signatures(mock)
    assert len(sent) == 3
    pages = "".join(
        operator_client.get(url).content.decode()
        for url in ["/", "/tasks/", *(f"/tasks/{t.pk}/" for t in Task.objects.all())]
    )
    out = capsys.readouterr()
    places = {
        "database": everything_stored(),
        "log": "\n".join(r.getMessage() for r in caplog.records),
        "pages": pages,
        "stdout/stderr": out.out + out.err,
    }
    assert Task.objects.count() == 3 and "[redacted]" in places["database"]
    for where, text in places.items():
        assert SECRET not in text, where
        for signature in sent:
            assert signature not in text, where


def test_an_error_report_from_inside_the_client_shows_neither(monkeypatch):
    client = ZegoClient(ZegoConfig(app_id=1, server_secret=SECRET, api_url=URL), pacer=ProcessPacer())

    def explode(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(client._session, "get", explode)
    request = RequestFactory().get("/tasks/")
    try:
        client.media_thumbnails(ThumbnailRequest(Vendor.HUAWEI, Mode.INTERVAL, "/a.mp4", interval=5))
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    else:
        pytest.fail("the stub should have raised")
    assert "explode" in report and SECRET not in report
    # The frame's variables are listed, the signature's value masked.
    assert re.search(r"<td>signature</td>\s*<td class=\"code\"><pre>&#x27;\*+&#x27;</pre></td>", report)
