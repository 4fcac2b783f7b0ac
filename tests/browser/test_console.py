"""The console as an operator and a viewer see it: Chromium against the live server and the ZEGO simulator.

Every test also fails (at teardown) if the browser console reports a Content Security Policy violation on
any page it visited: see the csp_violations fixture in conftest.py.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from dashboard import services
from dashboard.models import Task
from dashboard.zego.codes import lookup
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from tests.conftest import PASSWORD
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REQUEST_ID = re.compile(r"^\d{19}$")  # the simulator's RequestIds, like ZEGO's
TASK_URL = re.compile(r"/tasks/(\d+)/$")


# --- helpers ------------------------------------------------------------------------------------------------


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def param(scope: Locator, term: str) -> Locator:
    """The <dd> that follows <dt>term</dt> in a task's or an attempt's parameter list."""
    return scope.locator(
        f"xpath=./dl[contains(@class, 'params')]/dt[normalize-space()='{term}']/following-sibling::dd[1]"
    )


def task_panel(page: Page) -> Locator:
    return page.locator("#task-panel")


def task_pk(page: Page) -> int:
    match = TASK_URL.search(page.url)
    assert match, f"not on a task page: {page.url}"
    return int(match[1])


def mark_document(page: Page) -> None:
    """Tag the current document: the tag survives htmx swaps, and disappears with a full page load."""
    page.evaluate("window.__same_document = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__same_document === true"), "the page was reloaded: not an in-place update"


def fill_time_points(page: Page, *, file_id: str, definition: str = "10", time_points: str = "1, 2.5, 10") -> None:
    page.get_by_label("Tencent").check()
    page.get_by_label("File ID").fill(file_id)
    page.get_by_label("Definition").fill(definition)
    page.get_by_label("Time points").fill(time_points)


def expect_succeeded_task(page: Page) -> str:
    """On a task page: the task succeeded and shows a RequestId; return it."""
    expect(page).to_have_url(TASK_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Accepted by ZEGO")
    request_id = param(task_panel(page), "RequestId")
    expect(request_id).to_have_text(REQUEST_ID)
    return request_id.inner_text().strip()


def submit(user, file_id: str, *, vendor: Vendor = Vendor.TENCENT) -> Task:
    """A task made directly through the service (for tests that are not about the submit form)."""
    if vendor is Vendor.TENCENT:
        request = ThumbnailRequest(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=(Decimal(1),)
        )
    else:
        request = ThumbnailRequest(vendor=vendor, mode=Mode.INTERVAL, file_id=file_id, interval=5)
    return services.task_submit(user=user, request=request).task


# --- 1. sign in ---------------------------------------------------------------------------------------------


def test_sign_in_through_the_login_page_shows_the_simulator_banner(page: Page, live_server, operator) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status").filter(has_text="Simulator mode")).to_be_visible()
    expect(page.get_by_text(operator.username, exact=True)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Time points")).to_be_visible()


def test_a_wrong_password_is_refused_on_the_login_page(page: Page, operator) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page.get_by_label("Username")).to_have_value(operator.username)
    expect(main_nav(page)).to_have_count(0)


# --- 2. a Tencent time-point task ---------------------------------------------------------------------------


def test_a_tencent_time_point_task_succeeds_and_shows_its_request_id(page: Page, operator, sign_in, simulator) -> None:
    sent_before = len(simulator.tasks)
    sign_in(page, operator)
    page.goto("/")
    main_nav(page).get_by_role("link", name="Time points").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Time points screenshots")

    fill_time_points(page, file_id="1397757897438985100", definition="10", time_points="1, 2.5, 10")
    page.get_by_role("button", name="Send to ZEGO").click()

    request_id = expect_succeeded_task(page)
    panel = task_panel(page)
    expect(param(panel, "Vendor")).to_have_text("Tencent")
    expect(param(panel, "File ID")).to_have_text("1397757897438985100")
    expect(param(panel, "Definition")).to_have_text("10")
    expect(param(panel, "Time points")).to_have_text("1, 2.5, 10 s")
    expect(page.locator("li.attempt")).to_have_count(1)
    expect(param(page.locator("li.attempt"), "RequestId")).to_have_text(request_id)

    task = Task.objects.get(pk=task_pk(page))
    assert task.latest_request_id == request_id
    assert len(simulator.tasks) == sent_before + 1
    sent = simulator.tasks[-1]
    assert (sent.vendor, sent.file_id, sent.definition) == ("Tencent", "1397757897438985100", 10)
    assert sent.time_offsets == (Decimal(1), Decimal("2.5"), Decimal(10))


# --- 3. validation errors -----------------------------------------------------------------------------------


def test_a_validation_error_shows_at_the_field_keeps_the_input_and_sends_nothing(
    page: Page, operator, sign_in, simulator
) -> None:
    tasks_before, sent_before = Task.objects.count(), len(simulator.tasks)
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")

    fill_time_points(page, file_id="abc", definition="10", time_points="1, -2")
    page.get_by_role("button", name="Send to ZEGO").click()

    expect(page).to_have_url(re.compile(r"/tasks/new/time-points/$"))
    file_id = page.get_by_label("File ID")
    expect(file_id).to_have_attribute("aria-invalid", "true")
    # The message is rendered with the field and tied to it for screen readers (aria-describedby).
    expect(page.locator("#id_file_id_error + #id_file_id")).to_have_count(1)
    expect(page.locator("#id_file_id_error")).to_have_text(
        "A Tencent File ID is digits only, such as 1397757897438985100."
    )
    expect(file_id).to_have_accessible_description(re.compile(r"A Tencent File ID is digits only"))
    time_points = page.get_by_label("Time points")
    expect(time_points).to_have_attribute("aria-invalid", "true")
    expect(time_points).to_have_accessible_description(re.compile(r"-2 is negative"))
    expect(page.get_by_label("Definition")).not_to_have_attribute("aria-invalid", "true")

    # What the operator typed is still there, ready to correct.
    expect(page.get_by_label("Tencent")).to_be_checked()
    expect(file_id).to_have_value("abc")
    expect(page.get_by_label("Definition")).to_have_value("10")
    expect(time_points).to_have_value("1, -2")

    assert Task.objects.count() == tasks_before
    assert len(simulator.tasks) == sent_before


# --- 4. vendor switch with htmx; a Huawei interval task -----------------------------------------------------


def test_switching_to_huawei_swaps_the_fields_in_place_and_an_interval_task_succeeds(
    page: Page, operator, sign_in, simulator
) -> None:
    sign_in(page, operator)
    page.goto("/")
    main_nav(page).get_by_role("link", name="Interval").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Interval screenshots")
    form_url = page.url
    tencent_note = page.get_by_text("Tencent takes no Interval")
    expect(tencent_note).to_be_visible()
    expect(page.get_by_label("Interval")).to_have_count(0)

    page.get_by_label("File ID").fill("/record/a/b.mp4")
    mark_document(page)
    page.get_by_label("Huawei").check()

    expect(page.get_by_label("Interval")).to_be_visible()
    expect(tencent_note).to_have_count(0)
    expect(page.get_by_label("Definition")).to_have_count(0)
    expect(page.get_by_label("File ID")).to_have_value("/record/a/b.mp4")
    assert page.url == form_url
    assert_same_document(page)

    page.get_by_label("Interval").fill("5")
    page.get_by_role("button", name="Send to ZEGO").click()

    request_id = expect_succeeded_task(page)
    panel = task_panel(page)
    expect(param(panel, "Vendor")).to_have_text("Huawei")
    expect(param(panel, "File ID")).to_have_text("/record/a/b.mp4")
    expect(param(panel, "Interval")).to_have_text("5 s")
    assert Task.objects.get(pk=task_pk(page)).latest_request_id == request_id
    sent = simulator.tasks[-1]
    assert (sent.vendor, sent.type, sent.file_id, sent.interval) == ("Huawei", "SampleSnapshot", "/record/a/b.mp4", 5)


# --- 5. a failure, found in the history and retried in place ------------------------------------------------


def test_a_failed_task_is_found_in_history_and_retried_in_place(page: Page, operator, sign_in) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")
    fill_time_points(page, file_id=FLAKY_FILE_ID, time_points="1")
    page.get_by_role("button", name="Send to ZEGO").click()

    expect(page).to_have_url(TASK_URL)
    pk = task_pk(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Failed")
    explanation = task_panel(page).locator(".explain")
    expect(explanation).to_contain_text("Code 1000:")
    expect(explanation).to_contain_text(str(lookup("MediaThumbnails", 1000).meaning))  # a lazy string

    main_nav(page).get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History")
    page.get_by_role("searchbox", name="Search").fill(FLAKY_FILE_ID)
    expect(page).to_have_url(re.compile(rf"[?&]q={FLAKY_FILE_ID}(&|$)"))
    rows = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{pk}", exact=True))
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("1000")

    mark_document(page)
    history_url = page.url
    row.get_by_role("button", name="Retry").click()

    expect(row.get_by_role("status")).to_contain_text("Attempt 2: accepted by ZEGO, RequestId")
    expect(row).to_contain_text("Accepted by ZEGO")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    assert_same_document(page)
    assert page.url == history_url

    row.get_by_role("link", name=f"#{pk}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{pk}/$"))
    latest = expect_succeeded_task(page)
    attempts = page.locator("li.attempt")
    expect(attempts).to_have_count(2)
    first, second = attempts.nth(0), attempts.nth(1)
    expect(first).to_contain_text("Failed")
    expect(param(first, "Code")).to_contain_text("1000")
    expect(second).to_contain_text("Accepted by ZEGO")
    expect(param(first, "RequestId")).to_have_text(REQUEST_ID)
    expect(param(second, "RequestId")).to_have_text(latest)
    assert param(first, "RequestId").inner_text().strip() != latest


# --- 6. search by RequestId as you type ---------------------------------------------------------------------


def test_history_finds_a_task_by_its_request_id_as_you_type(page: Page, operator, sign_in) -> None:
    wanted = submit(operator, "1397757897438985601")
    other = submit(operator, "1397757897438985602")
    assert REQUEST_ID.match(wanted.latest_request_id)
    sign_in(page, operator)
    page.goto("/tasks/")
    wanted_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{wanted.pk}", exact=True))
    other_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{other.pk}", exact=True))
    expect(wanted_row).to_have_count(1)
    expect(other_row).to_have_count(1)

    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if r.headers.get("hx-request") and "/tasks/" in r.url else None)
    mark_document(page)
    page.get_by_role("searchbox", name="Search").press_sequentially(wanted.latest_request_id)

    expect(other_row).to_have_count(0)
    expect(wanted_row).to_have_count(1)
    expect(wanted_row).to_contain_text(wanted.latest_request_id)
    expect(page).to_have_url(re.compile(rf"/tasks/\?(.*&)?q={wanted.latest_request_id}(&|$)"))
    assert_same_document(page)
    # Debounced: one request for the whole RequestId, not one per keystroke.
    assert 1 <= len(searches) < len(wanted.latest_request_id) // 2, searches


# --- 7. a viewer --------------------------------------------------------------------------------------------


def test_a_viewer_can_browse_but_not_submit_or_retry(page: Page, operator, viewer, sign_in) -> None:
    failed = submit(operator, MISSING_FILE_ID)
    assert failed.state == "failed" and failed.can_retry
    sign_in(page, viewer)
    page.goto("/")

    nav = main_nav(page)
    expect(nav.get_by_role("link", name="History")).to_be_visible()
    expect(nav.get_by_role("link", name="Time points")).to_have_count(0)
    expect(nav.get_by_role("link", name="Interval")).to_have_count(0)
    expect(page.get_by_text(f"{viewer.username} (viewer)")).to_be_visible()

    nav.get_by_role("link", name="History").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{failed.pk}", exact=True))
    expect(row).to_contain_text("Failed")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)

    row.get_by_role("link", name=f"#{failed.pk}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Failed")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit and resubmit")).to_have_count(0)

    response = page.goto("/tasks/new/time-points/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_label("File ID")).to_have_count(0)


# --- 8. the CSP watch itself --------------------------------------------------------------------------------


def test_the_csp_watch_catches_a_violation(page: Page, operator, sign_in, csp_violations: list[str]) -> None:
    """The other tests' "no CSP violation" is only worth something if the watch sees one: make one."""
    sign_in(page, operator)
    page.goto("/")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("document.head.append(Object.assign(document.createElement('style'), {textContent: 'p {}'}))")
    assert any("style-src" in message for message in csp_violations), csp_violations
    csp_violations.clear()  # expected here; any other test fails on one


# --- 9. without JavaScript ----------------------------------------------------------------------------------


def test_without_javascript_forms_and_search_still_work(new_context, operator, sign_in, simulator) -> None:
    context = new_context(java_script_enabled=False)
    sign_in(context, operator)
    page = context.new_page()

    page.goto("/tasks/new/time-points/")
    fill_time_points(page, file_id="1397757897438985900", time_points="3, 4.5")
    page.get_by_role("button", name="Send to ZEGO").click()
    expect_succeeded_task(page)
    tencent_pk = task_pk(page)
    assert simulator.tasks[-1].file_id == "1397757897438985900"

    # The vendor switch is a plain GET ("Show the fields for this vendor") that keeps what was typed.
    page.goto("/tasks/new/interval/")
    page.get_by_label("File ID").fill("/record/no-js/c.mp4")
    page.get_by_label("Huawei").check()
    page.get_by_role("button", name="Show the fields for this vendor").click()
    expect(page.get_by_label("Interval")).to_be_visible()
    expect(page.get_by_label("File ID")).to_have_value("/record/no-js/c.mp4")
    page.get_by_label("Interval").fill("7")
    page.get_by_role("button", name="Send to ZEGO").click()
    expect_succeeded_task(page)
    huawei_pk = task_pk(page)

    page.goto("/tasks/")
    page.get_by_role("searchbox", name="Search").fill("1397757897438985900")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/tasks/\?(.*&)?q=1397757897438985900(&|$)"))
    expect(page.get_by_role("link", name=f"#{tencent_pk}", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"#{huawei_pk}", exact=True)).to_have_count(0)
