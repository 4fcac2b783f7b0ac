"""The rough edges on the server's side: times in the operator's zone (the tag, the settings page), pretty
raw replies, every form error at once, Back and resubmit of a changed form, the history's self-refresh, the
retry dialog, copy buttons. The browser's side is in tests/browser/test_rough_edges.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from dashboard import services
from dashboard.forms import TimePointsForm
from dashboard.models import Attempt, Preference, State, Task
from dashboard.templatetags.console import pretty_json, relative
from dashboard.timezones import BROWSER_ZONE_COOKIE
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID

pytestmark = pytest.mark.django_db

TENCENT_POST = {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1, 2.5"}
AT = datetime(2026, 1, 15, 6, 30, 5, tzinfo=UTC)


def render_when(value, *, cookie: str | None = None, user=None, style: str = "") -> str:
    request = RequestFactory().get("/")
    if cookie is not None:
        request.COOKIES[BROWSER_ZONE_COOKIE] = cookie
    if user is not None:
        request.user = user
    tag = '{% when value "' + style + '" %}' if style else "{% when value %}"
    return Template(tag).render(Context({"request": request, "value": value}))


def submit(user, file_id: str = FLAKY_FILE_ID) -> Task:
    form = TimePointsForm(TENCENT_POST | {"file_id": file_id})
    assert form.is_valid()
    return services.task_submit(user=user, request=form.to_request()).task


# --- times --------------------------------------------------------------------------------------------------


def test_a_time_shows_in_the_browsers_zone_with_the_exact_time_and_zone_on_hover():
    html = render_when(AT, cookie="Asia/Shanghai")
    assert html == (
        '<time datetime="2026-01-15T06:30:05+00:00" title="2026-01-15 14:30:05 UTC+8 (Asia/Shanghai)">'
        + ("01-15 14:30" if timezone.now().year == 2026 else "2026-01-15")
        + "</time>"
    )
    assert "2026-01-15 14:30:05 UTC+8" in render_when(AT, cookie="Asia/Shanghai", style="exact")


def test_a_zone_chosen_in_the_settings_wins_over_the_browsers(operator):
    Preference.objects.create(user=operator, time_zone="Asia/Kolkata")
    assert "2026-01-15 12:00:05 UTC+5:30 (Asia/Kolkata)" in render_when(AT, cookie="Asia/Shanghai", user=operator)


@pytest.mark.parametrize("cookie", ["", "Mars/Olympus", "../../etc/passwd", "Asia%2FShanghai", "x" * 500])
def test_a_bad_zone_from_the_browser_falls_back_to_utc(cookie):
    assert 'title="2026-01-15 06:30:05 UTC"' in render_when(AT, cookie=cookie)


def test_no_time_shows_nothing():
    assert render_when(None) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-2, "just now"), (-42, "42 s ago"), (-180, "3 min ago"), (-7300, "2 h ago"), (300, "in 5 min"), (3, "now")],
)
def test_recent_times_read_as_how_long_ago(seconds, text):
    now = timezone.now()
    assert relative(now + timedelta(seconds=seconds), now) == text


def test_a_time_more_than_a_day_away_shows_its_date():
    now = timezone.now()
    assert relative(now - timedelta(hours=25), now) is None


def test_the_settings_page_saves_a_zone_and_goes_back_where_the_operator_was(viewer_client, viewer):
    viewer_client.cookies[BROWSER_ZONE_COOKIE] = "Europe/Berlin"
    page = viewer_client.get("/preferences/?next=/tasks/")
    html = page.content.decode()
    assert page.status_code == 200 and "Follow this browser (Europe/Berlin)" in html
    assert '<option value="Asia/Shanghai">Asia/Shanghai (UTC+8)</option>' in html

    response = viewer_client.post("/preferences/", {"time_zone": "Asia/Shanghai", "next": "/tasks/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    assert Preference.objects.get(user=viewer).time_zone == "Asia/Shanghai"
    assert "Times: Asia/Shanghai" in viewer_client.get("/tasks/").content.decode()


def test_the_settings_page_refuses_an_unknown_zone_and_a_foreign_next(operator_client, operator):
    response = operator_client.post("/preferences/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Preference.objects.filter(user=operator).exists()

    response = operator_client.post("/preferences/", {"time_zone": "", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/preferences/"
    page = operator_client.get("/preferences/?next=javascript:alert(1)").content.decode()
    # Neither a Back link nor a next field of it (the header's language switch keeps this page's own path).
    assert 'href="javascript:' not in page and 'value="javascript:' not in page


def test_the_settings_page_needs_a_sign_in(client):
    response = client.get("/preferences/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- the task page ------------------------------------------------------------------------------------------


def test_the_raw_reply_is_indented_and_stays_escaped():
    assert pretty_json('{"Code":0,"Data":{"TaskId":"a"}}') == '{\n  "Code": 0,\n  "Data": {\n    "TaskId": "a"\n  }\n}'
    assert pretty_json("<html>502 Bad Gateway</html>") == "<html>502 Bad Gateway</html>"
    assert pretty_json('"just a string"') == '"just a string"'


def test_the_task_page_has_copy_buttons_and_an_indented_reply(operator_client, operator):
    task = submit(operator, "1397757897438985100")
    Attempt.objects.filter(task=task).update(response_body='{"Code":0,"Message":"<b>ok</b>"}')
    html = operator_client.get(f"/tasks/{task.pk}/").content.decode()
    assert 'data-copy="#task-request-id"' in html and 'data-copy="#task-file-id"' in html
    assert 'data-copy="#attempt-request-id-1"' in html and 'id="attempt-request-id-1"' in html
    assert "{\n  &quot;Code&quot;: 0,\n  &quot;Message&quot;: &quot;&lt;b&gt;ok&lt;/b&gt;&quot;\n}" in html


# --- the form -----------------------------------------------------------------------------------------------


def test_too_many_time_points_is_listed_with_the_other_errors():
    points = ", ".join(["-1", "1.5", *(str(n) for n in range(2, 12))])
    form = TimePointsForm({"vendor": "Huawei", "file_id": "/a.mp4", "time_points": points})
    assert not form.is_valid()
    assert form.errors["time_points"] == [
        "12 time points: Huawei takes at most 10.",
        "-1 is negative: time points count from the start of the file.",
        "1.5: Huawei takes whole seconds only.",
    ]


def test_the_definition_suggests_10_and_the_file_id_can_be_restored_by_the_browser():
    form = TimePointsForm()
    html = str(form["definition"]) + str(form["file_id"])
    assert 'value="10"' in html and "autocomplete" not in html
    assert "JPG screenshots" in str(form["definition"].help_text)


def test_a_form_sent_again_unchanged_shows_its_task_and_changed_after_back_makes_a_new_one(operator_client):
    token = str(uuid.uuid4())
    first = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": token})
    again = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": token})
    assert first["Location"] == again["Location"] and Task.objects.count() == 1

    changed = TENCENT_POST | {"submission_token": token, "file_id": "1397757897438985199"}
    new = operator_client.post("/tasks/new/time-points/", changed)
    double_click = operator_client.post("/tasks/new/time-points/", changed)
    assert new["Location"] != first["Location"] and double_click["Location"] == new["Location"]
    assert list(Task.objects.order_by("pk").values_list("file_id", flat=True)) == [
        "1397757897438985100",
        "1397757897438985199",
    ]


# --- the history --------------------------------------------------------------------------------------------


def test_the_history_refreshes_itself_only_while_a_task_on_it_is_sending(operator_client, operator):
    task = submit(operator, "1397757897438985100")
    assert 'hx-trigger="every 2s"' not in operator_client.get("/tasks/").content.decode()

    Task.objects.filter(pk=task.pk).update(state=State.SENDING, state_changed_at=timezone.now())
    html = operator_client.get("/tasks/?vendor=Tencent", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-get="/tasks/?vendor=Tencent" hx-trigger="every 2s"' in html
    assert "1 task on this page is sending" in html


def test_history_rows_have_copy_buttons_and_one_line_codes(operator_client, operator):
    ok = submit(operator, "1397757897438985100")
    html = operator_client.get("/tasks/").content.decode()
    assert f'data-copy="#rid-{ok.pk}"' in html and f'data-copy="#fid-{ok.pk}"' in html
    assert f'data-copy="#vtid-{ok.pk}"' in html
    assert "Request successful" not in html  # not repeated under every 0


def test_a_permanent_codes_retry_is_secondary_and_asks_in_a_dialog(operator_client, operator):
    permanent, transient = submit(operator, MISSING_FILE_ID), submit(operator, FLAKY_FILE_ID)
    html = operator_client.get(f"/tasks/{permanent.pk}/").content.decode()
    assert 'class="secondary" data-opens="retry-dialog-' in html and "hx-confirm" not in html
    assert "Code 41003 (File does not exist.) is permanent" in html
    assert 'name="confirm" value="yes"' in html
    html = operator_client.get(f"/tasks/{transient.pk}/").content.decode()
    assert '<button type="submit" class="primary">Retry</button>' in html and "<dialog" not in html


def test_the_zone_list_offers_places_not_pseudo_zones(operator_client):
    page = operator_client.get("/preferences/").text
    assert 'value="Asia/Shanghai"' in page and 'value="Europe/Berlin"' in page
    for pseudo in ("Factory", "localtime", "posixrules", "Etc/GMT+8"):
        assert f'value="{pseudo}"' not in page
    response = operator_client.post("/preferences/", {"time_zone": "Factory"})
    assert response.status_code == 200 and "Select a valid choice" in response.text
    assert not Preference.objects.filter(time_zone="Factory").exists()
