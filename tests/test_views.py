"""Views through the real test client: pages, fragments, roles, retry and double submission."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dashboard import services
from dashboard.forms import TimePointsForm
from dashboard.models import Attempt, State, Task
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID

pytestmark = pytest.mark.django_db

TENCENT_POST = {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1, 2.5"}


def submit(user, file_id=FLAKY_FILE_ID):
    form = TimePointsForm(TENCENT_POST | {"file_id": file_id})
    assert form.is_valid()
    return services.task_submit(user=user, request=form.to_request()).task


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/tasks/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_serves_the_login_page_and_health_check_without_login(client):
    assert client.get("/login/").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"


def test_it_shows_the_simulator_banner_on_every_page(operator_client):
    for url in ["/", "/tasks/", "/tasks/new/time-points/", "/tasks/new/interval/"]:
        assert "Simulator mode" in operator_client.get(url).content.decode()


def test_it_submits_a_task_and_shows_its_request_id(operator_client):
    response = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"file_id": "12345"}, follow=True)
    task = Task.objects.get()
    assert task.state == State.SUCCEEDED
    assert response.redirect_chain[-1][0] == f"/tasks/{task.pk}/"
    assert task.latest_request_id in response.content.decode()


def test_it_keeps_the_input_and_sends_nothing_when_a_field_is_wrong(operator_client, simulator):
    before = len(simulator.tasks)
    response = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"time_points": "1, -5"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "-5 is negative" in html and "1397757897438985100" in html and "1, -5" in html
    assert Task.objects.count() == 0 and len(simulator.tasks) == before


def test_it_makes_one_task_when_the_same_form_is_posted_twice(operator_client):
    token = "6b0f5a4e-3f0a-4d7e-9a55-7f7d3b0c1a11"
    first = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": token})
    again = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": token}, follow=True)
    assert Task.objects.count() == 1
    assert first["Location"] == again.redirect_chain[0][0]
    assert "already submitted" in again.content.decode()


def test_a_mangled_form_token_does_not_block_the_submission(operator_client):
    response = operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"submission_token": "garbage"})
    assert response.status_code == 302 and Task.objects.count() == 1


def test_it_swaps_the_vendor_fields_in_place_for_htmx(operator_client):
    response = operator_client.get(
        "/tasks/new/interval/", {"vendor": "Huawei", "file_id": "/a.mp4"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="vendor-fields"')
    assert 'name="interval"' in html and 'name="definition"' not in html and "<html" not in html
    tencent = operator_client.get("/tasks/new/interval/", {"vendor": "Tencent"}, headers={"HX-Request": "true"})
    assert 'name="definition"' in tencent.content.decode() and "takes no Interval" in tencent.content.decode()


def test_it_keeps_typed_values_when_the_vendor_changes_without_javascript(operator_client):
    html = operator_client.get("/tasks/new/interval/", {"vendor": "Huawei", "file_id": "/keep/me.mp4"}).content.decode()
    assert 'value="/keep/me.mp4"' in html and 'name="interval"' in html


def test_edit_and_resubmit_prefills_the_form_and_links_the_new_task(operator, operator_client):
    old = submit(operator, MISSING_FILE_ID)
    html = operator_client.get(f"/tasks/new/time-points/?from_task={old.pk}").content.decode()
    assert f'value="{MISSING_FILE_ID}"' in html and "1, 2.5" in html
    operator_client.post("/tasks/new/time-points/", TENCENT_POST | {"from_task": old.pk, "file_id": "777"})
    new = Task.objects.exclude(pk=old.pk).get()
    assert new.resubmitted_from == old and new.file_id == "777"


def test_it_returns_404_for_an_unknown_mode_or_task(operator_client):
    assert operator_client.get("/tasks/new/bogus/").status_code == 404
    assert operator_client.get("/tasks/999999/").status_code == 404


def test_it_shows_every_attempt_and_a_command_line_without_the_signature(operator, operator_client):
    task = submit(operator)
    services.task_retry(user=operator, task=task)
    html = operator_client.get(f"/tasks/{task.pk}/").content.decode()
    for attempt in task.attempts.all():
        assert attempt.request_id in html
    assert "Request failed" in html and "Signature=&lt;signature&gt;" in html
    assert "ExtTimeOffsetSet[]=1" in html and "curl" in html


def test_retry_from_history_updates_the_row_in_place(operator, operator_client):
    task = submit(operator)
    response = operator_client.post(f"/tasks/{task.pk}/retry/", {"from": "history"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="task-{task.pk}"') and "Accepted by ZEGO" in html
    assert task.attempts.count() == 2


def test_retry_without_javascript_redirects_to_the_task_with_a_message(operator, operator_client):
    task = submit(operator)
    response = operator_client.post(f"/tasks/{task.pk}/retry/", follow=True)
    assert "Attempt 2: accepted by ZEGO" in response.content.decode()


def test_retry_of_a_succeeded_task_is_refused_with_the_reason(operator, operator_client):
    task = submit(operator, "12345")
    response = operator_client.post(f"/tasks/{task.pk}/retry/", follow=True)
    assert "nothing to retry" in response.content.decode()
    assert task.attempts.count() == 1


def test_retry_of_a_permanent_code_asks_for_confirmation_first(operator, operator_client):
    task = submit(operator, MISSING_FILE_ID)
    page = operator_client.post(f"/tasks/{task.pk}/retry/")
    assert page.status_code == 200 and "Retry anyway" in page.content.decode()
    assert task.attempts.count() == 1
    operator_client.post(f"/tasks/{task.pk}/retry/", {"confirm": "yes"})
    assert task.attempts.count() == 2


def test_retry_needs_post(operator, operator_client):
    task = submit(operator)
    assert operator_client.get(f"/tasks/{task.pk}/retry/").status_code == 405


def test_retry_is_csrf_protected(operator):
    task = submit(operator)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(f"/tasks/{task.pk}/retry/").status_code == 403
    assert task.attempts.count() == 1


def test_a_viewer_sees_no_submit_or_retry_controls(operator, viewer_client):
    task = submit(operator)
    for url in ["/", "/tasks/", f"/tasks/{task.pk}/"]:
        html = viewer_client.get(url).content.decode()
        assert "/retry/" not in html and "/tasks/new/" not in html and "Edit and resubmit" not in html


def test_the_server_refuses_submit_and_retry_from_a_viewer(operator, viewer_client):
    task = submit(operator)
    assert viewer_client.get("/tasks/new/time-points/").status_code == 403
    assert viewer_client.post("/tasks/new/time-points/", TENCENT_POST).status_code == 403
    assert viewer_client.post(f"/tasks/{task.pk}/retry/").status_code == 403
    assert Task.objects.count() == 1 and task.attempts.count() == 1


def test_an_operator_sees_retry_only_where_a_retry_is_allowed(operator, operator_client):
    failed, ok = submit(operator), submit(operator, "12345")
    html = operator_client.get("/tasks/").content.decode()
    assert f"/tasks/{failed.pk}/retry/" in html and f"/tasks/{ok.pk}/retry/" not in html


def test_the_pages_carry_a_strict_content_security_policy(operator_client):
    response = operator_client.get("/tasks/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    nonces = re.findall(r'<script[^>]*nonce="([^"]+)"', response.content.decode())
    assert nonces and all(f"'nonce-{n}'" in policy for n in nonces)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_retries_make_exactly_one_attempt(operator):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locking; CI runs this in its PostgreSQL pass")
    task = submit(operator, MISSING_FILE_ID)
    barrier = threading.Barrier(2)
    statuses = []

    def retry():
        client = Client()
        client.force_login(operator)
        barrier.wait()
        statuses.append(client.post(f"/tasks/{task.pk}/retry/", {"confirm": "yes"}, follow=True))
        connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert Attempt.objects.filter(task=task).count() == 2
    texts = [r.content.decode() for r in statuses]
    assert sum("Attempt 2:" in t for t in texts) == 1
    assert sum("Not retried" in t for t in texts) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/tasks/99999999999999999999/",
        "/tasks/?before=99999999999999999999",
        "/tasks/?after=99999999999999999999",
        "/tasks/?code=99999999999999999999",
        "/tasks/new/time-points/?from_task=99999999999999999999",
    ],
)
def test_huge_numbers_in_the_url_get_an_answer_not_a_server_error(operator_client, url):
    assert operator_client.get(url).status_code in {200, 404}


def test_a_huge_number_in_a_retry_url_is_a_404(operator_client):
    assert operator_client.post("/tasks/99999999999999999999/retry/").status_code == 404


def test_reading_the_history_or_a_task_page_writes_nothing(stale_sending_task, operator_client):
    task = stale_sending_task
    for url in ["/tasks/", f"/tasks/{task.pk}/", "/tasks/?state=sending"]:
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(url).status_code == 200
        writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
        assert writes == [], url
    task.refresh_from_db()
    assert task.state == State.SENDING and task.attempts.get().state == State.SENDING


def test_a_stale_sending_task_is_shown_unknown_and_can_be_retried(stale_sending_task, operator_client):
    task = stale_sending_task
    row = re.search(rf'<tr id="task-{task.pk}".*?</tr>', operator_client.get("/tasks/").content.decode(), re.S)
    assert '<span class="state state-unknown">Unknown</span>' in row.group(0)
    assert f"/tasks/{task.pk}/retry/" in row.group(0)

    page = operator_client.get(f"/tasks/{task.pk}/").content.decode()
    assert page.count('<span class="state state-unknown">Unknown</span>') == 2  # the task and its attempt
    assert "Sending" not in page and 'hx-trigger="every 2s"' not in page  # no polling for an answer
    assert "No outcome was recorded" in page and f"/tasks/{task.pk}/retry/" in page


def test_a_recent_sending_task_is_shown_sending_and_polls(operator, operator_client):
    task = Task.objects.create(vendor="Tencent", mode=Task.Mode.TIME_POINTS, file_id="1", created_by=operator)
    page = operator_client.get(f"/tasks/{task.pk}/").content.decode()
    assert '<span class="state state-sending">Sending</span>' in page and 'hx-trigger="every 2s"' in page
    assert f"/tasks/{task.pk}/retry/" not in page
