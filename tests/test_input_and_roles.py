"""Who may read, what a crafted link can do, and hostile input in every field, parameter and URL part."""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth.models import User

from dashboard import services
from dashboard.models import Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TENCENT_POST = {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1, 2"}
HUAWEI_POST = {"vendor": "Huawei", "file_id": "/record/a.mp4", "interval": "5"}
TOKEN = "6b0f5a4e-3f0a-4d7e-9a55-7f7d3b0c1a11"


@pytest.fixture
def nobody_client(client, superuser):
    # superuser exists so that the page has someone to name
    user = User.objects.create_user("noel", "noel@example.com", PASSWORD)
    client.force_login(user)
    return client


@pytest.fixture
def task(operator) -> Task:
    request = ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="/record/a.mp4", interval=5)
    return services.task_submit(user=operator, request=request).task


# --- roles -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/tasks/", "/tasks/?q=abc", "TASK"])
def test_a_user_without_a_role_reads_nothing_and_is_told_whom_to_ask(nobody_client, task, url):
    response = nobody_client.get(f"/tasks/{task.pk}/" if url == "TASK" else url)
    html = response.content.decode()
    assert response.status_code == 403
    assert "no role in thumbs yet" in html and "ada" in html and "ada@example.com" in html
    assert task.file_id not in html and (task.latest_request_id or "none-at-all") not in html


def test_a_viewer_reads_the_history_and_a_task(viewer_client, task):
    assert viewer_client.get("/tasks/").status_code == 200
    assert viewer_client.get(f"/tasks/{task.pk}/").status_code == 200


# --- the form token ----------------------------------------------------------------------------------------


def test_a_token_in_a_link_is_not_put_into_the_form(operator_client):
    html = operator_client.get(f"/tasks/new/time-points/?submission_token={TOKEN}").content.decode()
    token = re.search(r'name="submission_token" value="([^"]*)"', html)
    # (The header's language switch comes back to this very URL, query and all: not a form field.)
    assert token and token.group(1) != TOKEN and f'value="{TOKEN}"' not in html


def test_another_users_token_neither_hides_a_submission_nor_shows_their_task(operator_client, client, superuser):
    operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": TOKEN})
    theirs = Task.objects.get()
    client.force_login(superuser)
    response = client.post("/tasks/new/interval/", HUAWEI_POST | {"submission_token": TOKEN}, follow=True)

    mine = Task.objects.exclude(pk=theirs.pk).get()
    assert Task.objects.count() == 2
    assert mine.created_by == superuser and mine.vendor == "Huawei"
    assert response.redirect_chain[-1][0] == f"/tasks/{mine.pk}/"
    assert "already submitted" not in response.content.decode()


# --- HEAD ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/tasks/", "TASK", "/tasks/new/time-points/", "/healthz"])
def test_every_page_answers_head(operator_client, task, url):
    response = operator_client.head(f"/tasks/{task.pk}/" if url == "TASK" else url)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("url", ["/healthz", "/login/"])
def test_the_open_pages_answer_head_without_a_login(client, url):
    assert client.head(url).status_code == 200


# --- invisible characters in a File ID ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "name"),
    [("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\u200b", "ZERO WIDTH SPACE"), ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
     ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\u2028", "LINE SEPARATOR")],
)  # fmt: skip
def test_a_huawei_file_id_with_an_invisible_character_is_refused(operator_client, char, name):
    response = operator_client.post("/tasks/new/interval/", HUAWEI_POST | {"file_id": f"/record/{char}a.mp4"})
    html = response.content.decode()
    assert response.status_code == 200 and Task.objects.count() == 0
    assert "invisible or direction-changing character" in html and name in html


def test_a_huawei_file_id_in_chinese_is_fine(operator_client):
    operator_client.post("/tasks/new/interval/", HUAWEI_POST | {"file_id": "/录制/房间1/2024-11-13.mp4"})
    assert Task.objects.get().file_id == "/录制/房间1/2024-11-13.mp4"


# --- fuzz: hostile values everywhere --------------------------------------------------------------------------

HOSTILE = [
    "", " ", "0", "-1", "²", "١٢٣", "9" * 30, "1e309", "NaN", "-Infinity", "9999-12-31", "0001-01-01", "2026-02-30",
    "\x00", "\u202e", "\ud7ff", "%", "%00", "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd",
    "a" * 5000, "[]", "{}", "true", "1.5", "0x10", " 7 ", "\uff11\uff12",
]  # fmt: skip
HISTORY_PARAMS = ["q", "vendor", "mode", "state", "result", "code", "submitter", "since", "until", "before", "after"]
FORM_FIELDS = ["vendor", "file_id", "definition", "time_points", "interval", "submission_token", "from_task"]


def test_no_query_parameter_value_is_a_server_error(operator_client, task):
    for param, value in itertools.product(HISTORY_PARAMS, HOSTILE):
        response = operator_client.get("/tasks/", {param: value})
        assert response.status_code == 200, (param, value, response.status_code)
        response = operator_client.get("/tasks/", {param: value}, headers={"HX-Request": "true"})
        assert response.status_code == 200, (param, value, "htmx")
    for mode, field, value in itertools.product(["time-points", "interval"], FORM_FIELDS, HOSTILE):
        response = operator_client.get(f"/tasks/new/{mode}/", {field: value})
        assert response.status_code == 200, (mode, field, value)


def test_no_form_field_value_is_a_server_error(operator_client, simulator):
    for mode, base in (("time-points", TENCENT_POST), ("interval", HUAWEI_POST)):
        for field, value in itertools.product(FORM_FIELDS, HOSTILE):
            response = operator_client.post(f"/tasks/new/{mode}/", base | {field: value})
            assert response.status_code in {200, 302}, (mode, field, value, response.status_code)


@pytest.mark.parametrize("value", HOSTILE)
def test_no_url_part_is_a_server_error(operator_client, task, value):
    from urllib.parse import quote

    part = quote(value, safe="")
    for url in (f"/tasks/{part}/", f"/tasks/new/{part}/", f"/tasks/{part}/retry/", f"/tasks/{part}/ask/", f"/{part}"):
        assert operator_client.get(url).status_code in {200, 404, 405}, url
    response = operator_client.post(f"/tasks/{task.pk}/retry/", {"confirm": value, "from": value})
    assert response.status_code in {200, 302}, value
