"""What became of a task, on the pages: the result beside ZEGO's answer, every check, the screenshots (Tencent
images, Huawei object paths), "Ask ZEGO again", the history's Result column and filter, the home page's latest
screenshots, and the image sources the Content Security Policy allows."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard import services
from dashboard.models import Result, ResultCheck, State, Task
from dashboard.services.results import Shot, result_record, stuck_after
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.test_settings import PRODUCTION, manage, setting

pytestmark = pytest.mark.django_db

POLLS = 'hx-trigger="every 2s"'
ASK = "Ask ZEGO again"
CDN = "https://1500030200.vod2.myqcloud.com/snap"


def accepted(user, *, vendor: Vendor = Vendor.TENCENT, file_id: str = "1397757897438985100") -> Task:
    """A task ZEGO (the simulator) accepted: its result is waiting."""
    if vendor is Vendor.TENCENT:
        points = (Decimal(1), Decimal("2.5"))
        request = ThumbnailRequest(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=points
        )
    else:
        request = ThumbnailRequest(vendor=vendor, mode=Mode.INTERVAL, file_id="/record/room 1/a.mp4", interval=5)
    task = services.task_submit(user=user, request=request).task
    assert task.state == State.SUCCEEDED and task.result == Result.WAITING
    return task


def record(task: Task, status: str = "", *, source=ResultCheck.Source.POLL, **kwargs) -> Task:
    result_record(task=task, source=source, status=status, **kwargs)
    return Task.objects.get(pk=task.pk)


def page(client, task: Task) -> str:
    response = client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def result_block(html: str) -> str:
    return html.split('aria-labelledby="result-heading"')[1].split("</section>")[0]


def heading(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.search(r"<h1>(.*?)</h1>", html, re.S)[1])).strip()


# --- the task page: ZEGO's answer and the provider's result, side by side ------------------------------------


@pytest.mark.parametrize(
    ("status", "badge", "says", "polls"),
    [
        ("", "Waiting", "the provider has not started on it yet", True),
        ("PROCESSING", "Processing", "The provider is making the screenshots", True),
        ("FINISH", "Finished", "The provider finished", False),
        ("FAIL", "Provider failed", "The provider failed", False),
    ],
)
def test_an_accepted_task_shows_zegos_answer_and_the_providers_result(
    operator, operator_client, status, badge, says, polls
):
    task = accepted(operator)
    if status:
        task = record(task, status, message="Scripted failure." if status == "FAIL" else "")
    html = page(operator_client, task)
    assert heading(html) == f"Task #{task.pk} Accepted by ZEGO {badge}"
    assert says in html
    assert (POLLS in html) is polls
    assert ASK in html
    block = result_block(html)
    assert "Succeeded" not in html and "success" not in (heading(html) + block).lower()


def test_a_provider_failure_is_never_called_a_success(operator, operator_client):
    task = record(accepted(operator), "FAIL", message="The source file could not be decoded.")
    html = page(operator_client, task)
    assert '<span class="result result-failed">Provider failed</span>' in html
    assert "“The source file could not be decoded.”" in html
    assert "made no screenshots" in html
    history = operator_client.get("/tasks/").content.decode()
    assert "Provider failed" in history and "Succeeded" not in history


def test_a_stuck_task_stops_polling_and_asks_to_be_asked_again(operator, operator_client):
    task = accepted(operator)
    Task.objects.filter(pk=task.pk).update(result=Result.STUCK, next_check_at=None)
    html = page(operator_client, Task.objects.get(pk=task.pk))
    assert heading(html).endswith("Stuck")
    assert POLLS not in html
    assert "stopped asking by itself" in html and "None: stuck, ask again by hand" in html
    assert re.search(r'<button type="submit" class="primary">Ask ZEGO again</button>', html)


def test_a_result_pending_past_the_stuck_threshold_is_shown_stuck_before_the_worker_flags_it(operator, operator_client):
    task = accepted(operator)
    long_ago = timezone.now() - stuck_after() - timedelta(seconds=1)
    Task.objects.filter(pk=task.pk).update(state_changed_at=long_ago, next_check_at=long_ago)
    html = page(operator_client, task)
    assert heading(html).endswith("Stuck") and POLLS not in html
    assert "overdue: is a worker running?" in html
    assert Task.objects.get(pk=task.pk).result == Result.WAITING  # reading wrote nothing


@pytest.mark.parametrize("state", [State.FAILED, State.UNKNOWN, State.SENDING])
def test_a_task_zego_did_not_accept_has_no_result_and_nothing_to_ask(operator, operator_client, state):
    task = Task.objects.create(
        vendor="Tencent", mode=Task.Mode.TIME_POINTS, file_id="1", created_by=operator, state=state, latest_code=5
    )
    html = page(operator_client, task)
    assert "result-heading" not in html and ASK not in html and f"/tasks/{task.pk}/ask/" not in html
    assert (POLLS in html) is (state == State.SENDING)


def test_every_check_is_listed_with_its_source_status_message_code_and_request_id(operator, operator_client):
    task = accepted(operator)
    record(task, "WAITING")
    record(task, "PROCESSING", source=ResultCheck.Source.ASK, user=operator)
    record(task, "FINISH", message="SUCCESS", source=ResultCheck.Source.CALLBACK)
    ResultCheck.objects.filter(task=task, status="WAITING").update(code=0, request_id="8123456789012345678")
    html = page(operator_client, Task.objects.get(pk=task.pk))
    rows = re.findall(r"<tr>\s*<td[^>]*><time .*?</tr>", html.split('class="checks"')[1], re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    assert len(text) == 3
    assert "Polled WAITING \N{EN DASH} 0 8123456789012345678" in text[0]  # no message
    assert "Asked by olga PROCESSING" in text[1]
    assert "Callback FINISH SUCCESS" in text[2]
    assert "3 checks" in html


# --- screenshots ---------------------------------------------------------------------------------------------


def test_tencent_screenshots_are_images_with_their_time_points(operator, operator_client):
    task = accepted(operator)
    shots = [Shot(url=f"{CDN}/1.jpg"), Shot(url=f"{CDN}/2.jpg")]
    html = page(operator_client, record(task, "FINISH", shots=shots))
    gallery = html.split('<ul class="gallery"')[1].split("</ul>")[0]
    assert re.findall(r'<img src="([^"]+)" alt="([^"]+)"', gallery) == [
        (f"{CDN}/1.jpg", "Screenshot 1 at 1 s"),
        (f"{CDN}/2.jpg", "Screenshot 2 at 2.5 s"),
    ]
    # Each opens full size: a plain link to the image, which app.js shows in a dialog.
    assert f'<a href="{CDN}/1.jpg" rel="noreferrer" data-lightbox="{task.pk}" data-caption="1 s">' in gallery
    assert "The provider finished: 2 screenshots." in html


def test_a_callbacks_offsets_give_the_time_points(operator, operator_client):
    task = accepted(operator)
    shots = [Shot(url=f"{CDN}/a.jpg", offset_ms=10500), Shot(url=f"{CDN}/b.jpg", offset_ms=120000)]
    html = page(operator_client, record(task, "FINISH", shots=shots, source=ResultCheck.Source.CALLBACK))
    assert 'alt="Screenshot 1 at 10.5 s"' in html and 'alt="Screenshot 2 at 120 s"' in html


def test_a_url_that_is_not_http_is_shown_as_text_never_as_a_link_or_image(operator, operator_client):
    task = accepted(operator)
    html = page(operator_client, record(task, "FINISH", shots=[Shot(url="javascript:alert(1)")]))
    assert 'src="javascript:' not in html and 'href="javascript:' not in html
    assert "<code id=" in html and "javascript:alert(1)</code>" in html


def test_huawei_file_names_are_listed_with_copy_buttons(operator, operator_client, settings):
    settings.THUMBS_HUAWEI_OBS_BASE_URL = ""
    task = accepted(operator, vendor=Vendor.HUAWEI)
    shots = [Shot(file_name="snapshots/abc/1.png"), Shot(file_name="/snapshots/abc/2 b.png")]
    html = page(operator_client, record(task, "SUCCEEDED", shots=shots))
    shot_ids = list(task.screenshots.values_list("pk", flat=True))
    for pk, name in zip(shot_ids, ["snapshots/abc/1.png", "/snapshots/abc/2 b.png"], strict=True):
        assert f'<code id="shot-file-{pk}">{name}</code>' in html
        assert f'data-copy="#shot-file-{pk}"' in html
    assert "THUMBS_HUAWEI_OBS_BASE_URL" in html and "<img" not in html


def test_huawei_file_names_become_links_under_the_bucket_base_url(operator, operator_client, settings):
    settings.THUMBS_HUAWEI_OBS_BASE_URL = "https://bucket.obs.cn-north-4.myhuaweicloud.com/"
    task = accepted(operator, vendor=Vendor.HUAWEI)
    html = page(operator_client, record(task, "SUCCEEDED", shots=[Shot(file_name="/snapshots/abc/2 b.png")]))
    assert 'href="https://bucket.obs.cn-north-4.myhuaweicloud.com/snapshots/abc/2%20b.png"' in html
    assert ">/snapshots/abc/2 b.png</a>" in html and "THUMBS_HUAWEI_OBS_BASE_URL" not in html


# --- Ask ZEGO again ------------------------------------------------------------------------------------------


def test_an_operator_asks_zego_again_without_javascript(operator, operator_client):
    task = accepted(operator)
    response = operator_client.post(f"/tasks/{task.pk}/ask/", follow=True)
    assert response.redirect_chain[-1][0] == f"/tasks/{task.pk}/"
    check = task.checks.get()
    assert check.source == ResultCheck.Source.ASK and check.asked_by == operator
    assert check.status in {"WAITING", "PROCESSING", "FINISH"} and check.request_id
    html = response.content.decode()
    assert f"Asked ZEGO: the provider says {check.status}." in html
    assert "Asked by olga" in html and check.request_id in html


def test_asking_through_htmx_swaps_the_panel_in_place(operator, operator_client):
    task = accepted(operator)
    response = operator_client.post(f"/tasks/{task.pk}/ask/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="task-panel"') and "<html" not in html
    assert 'class="flash" role="status">Asked ZEGO: the provider says' in html
    assert task.checks.count() == 1


def test_a_viewer_may_not_ask_and_sees_no_button(operator, viewer_client):
    task = accepted(operator)
    assert ASK not in page(viewer_client, task)
    assert viewer_client.post(f"/tasks/{task.pk}/ask/").status_code == 403
    assert not task.checks.exists()


def test_asking_about_a_task_zego_refused_asks_nothing(operator, operator_client):
    task = Task.objects.create(vendor="Tencent", mode=Task.Mode.TIME_POINTS, file_id="1", created_by=operator)
    Task.objects.filter(pk=task.pk).update(state=State.FAILED)
    response = operator_client.post(f"/tasks/{task.pk}/ask/", follow=True)
    assert "Not asked: ZEGO has not accepted this task" in response.content.decode()  # the service refused
    assert not task.checks.exists()


def test_asking_needs_post_and_a_known_task(operator, operator_client):
    task = accepted(operator)
    assert operator_client.get(f"/tasks/{task.pk}/ask/").status_code == 405
    assert operator_client.post("/tasks/999999/ask/").status_code == 404


# --- history and home ----------------------------------------------------------------------------------------


def test_the_history_shows_the_result_and_a_sign_when_screenshots_exist(operator, operator_client):
    done = record(accepted(operator), "FINISH", shots=[Shot(url=f"{CDN}/1.jpg"), Shot(url=f"{CDN}/2.jpg")])
    waiting = accepted(operator)
    html = operator_client.get("/tasks/").content.decode()
    row = html.split(f'<tr id="task-{done.pk}">')[1].split("</tr>")[0]
    assert '<span class="result result-finished">Finished</span>' in row
    assert f'href="/tasks/{done.pk}/#screenshots" title="2 screenshots"' in row
    other = html.split(f'<tr id="task-{waiting.pk}">')[1].split("</tr>")[0]
    assert "Waiting" in other and "shots-sign" not in other


@pytest.mark.parametrize("wanted", [Result.WAITING, Result.FINISHED, Result.FAILED, Result.STUCK])
def test_the_history_filters_by_result(operator, operator_client, wanted):
    tasks = {
        Result.WAITING: accepted(operator),
        Result.FINISHED: record(accepted(operator), "FINISH"),
        Result.FAILED: record(accepted(operator), "FAIL"),
        Result.STUCK: accepted(operator),
    }
    Task.objects.filter(pk=tasks[Result.STUCK].pk).update(result=Result.STUCK)
    html = operator_client.get("/tasks/", {"result": wanted.value}).content.decode()
    assert re.findall(r'<tr id="task-(\d+)">', html) == [str(tasks[wanted].pk)]


def test_an_unknown_result_in_the_filter_is_a_message_not_an_error(operator_client):
    response = operator_client.get("/tasks/", {"result": "succeeded"})
    assert response.status_code == 200 and "Result: Select a valid choice" in response.content.decode()


def test_the_home_page_shows_the_latest_screenshots_newest_first_linking_to_their_task(operator, operator_client):
    assert "Latest screenshots" not in operator_client.get("/").content.decode()
    first = record(accepted(operator), "FINISH", shots=[Shot(url=f"{CDN}/{n}.jpg") for n in range(1, 5)])
    second = record(accepted(operator), "FINISH", shots=[Shot(url=f"{CDN}/{n}.jpg") for n in range(5, 9)])
    huawei = record(accepted(operator, vendor=Vendor.HUAWEI), "SUCCEEDED", shots=[Shot(file_name="a/1.png")])
    html = operator_client.get("/").content.decode()
    strip = html.split('aria-label="Latest screenshots"')[1].split("</ul>")[0]
    assert re.findall(r'<img src="[^"]+/(\d)\.jpg"', strip) == ["8", "7", "6", "5", "4", "3"]
    assert f'href="/tasks/{second.pk}/#screenshots"' in strip and f'href="/tasks/{first.pk}/#screenshots"' in strip
    assert f"/tasks/{huawei.pk}/" not in strip


# --- settings: where images may load from, and the bucket's base URL ----------------------------------------


def test_the_image_sources_follow_the_simulator_port():
    policy = setting("SECURE_CSP", DJANGO_DEBUG="on", ZEGO_SIMULATOR_PORT="18123")
    assert "'http://127.0.0.1:18123'" in policy and "'https:'" in policy and "8001" not in policy


def test_a_plain_http_zego_url_may_serve_images_and_an_https_one_needs_nothing_more():
    plain = setting("SECURE_CSP", **(PRODUCTION | {"ZEGO_API_URL": "http://zego-proxy.internal:8080/"}))
    assert "'http://zego-proxy.internal:8080'" in plain
    secure = setting("SECURE_CSP", **PRODUCTION)
    assert "rtc-api.zego.im" not in secure and "'https:'" in secure


def test_the_huawei_bucket_base_url_is_checked_and_defaults_to_the_simulator():
    name = "THUMBS_HUAWEI_OBS_BASE_URL"
    assert setting(f"{name} or 'unset'", **PRODUCTION) == "unset"
    given = {name: "https://bucket.obs.example.com/shots"}
    assert setting(name, **(PRODUCTION | given)) == "https://bucket.obs.example.com/shots/"
    assert setting(name, DJANGO_DEBUG="on", ZEGO_SIMULATOR_PORT="18123") == "http://127.0.0.1:18123/obs/"
    result = manage("check", **(PRODUCTION | {"THUMBS_HUAWEI_OBS_BASE_URL": "bucket.obs.example.com"}))
    assert result.returncode != 0 and "THUMBS_HUAWEI_OBS_BASE_URL" in result.stderr and "http(s) URL" in result.stderr
