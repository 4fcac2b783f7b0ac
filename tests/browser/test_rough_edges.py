"""The rough edges a new user found (issue 10, section 4), in Chromium: times in the operator's zone, copy
buttons, "/" to search, the history refreshing itself, a busy submit button, every form error at once with
its red border, Back and resubmit, the in-page confirmation of a permanent code's retry, the dark theme.
The phone layout is in test_small_screens.py."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from dashboard import services
from dashboard.models import Attempt, State, Task
from dashboard.zego.codes import lookup
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID, SLOW_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK_URL = re.compile(r"/tasks/(\d+)/$")


def submit(user, file_id: str = "1397757897438985100", *, vendor: Vendor = Vendor.TENCENT) -> Task:
    if vendor is Vendor.TENCENT:
        request = ThumbnailRequest(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=(Decimal(1),)
        )
    else:
        request = ThumbnailRequest(vendor=vendor, mode=Mode.INTERVAL, file_id=file_id, interval=5)
    return services.task_submit(user=user, request=request).task


def row_of(page: Page, task: Task):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{task.pk}", exact=True))


def wall_clock(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def mark_document(page: Page) -> None:
    page.evaluate("window.__same_document = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__same_document === true"), "the page was reloaded: not an in-place update"


# --- times --------------------------------------------------------------------------------------------------


def test_times_follow_the_browsers_zone_until_the_operator_picks_one(new_context, operator, sign_in) -> None:
    task = submit(operator)
    context = new_context(timezone_id="Asia/Shanghai")
    sign_in(context, operator)
    page = context.new_page()

    # The first page tells the console the browser's zone (a cookie); from the next one on, times are in it.
    page.goto("/tasks/")
    page.reload()
    expect(page.get_by_role("link", name="Times: Asia/Shanghai")).to_be_visible()
    expect(page.get_by_role("columnheader", name="When (UTC+8)")).to_be_visible()
    when = row_of(page, task).locator("time")
    expect(when).to_have_text(re.compile(r"^(just now|\d+ s ago|\d+ min ago)$"))
    expect(when).to_have_attribute("title", f"{wall_clock(task.created_at, 'Asia/Shanghai')} UTC+8 (Asia/Shanghai)")

    # A zone chosen in the settings wins over the browser's, on every page.
    page.get_by_role("link", name="Times: Asia/Shanghai").click()
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/tasks/$"))  # back where the operator was
    expect(page.get_by_role("link", name="Times: America/New_York")).to_be_visible()
    new_york = wall_clock(task.created_at, "America/New_York")
    offset = task.created_at.astimezone(ZoneInfo("America/New_York")).strftime("%z")  # -0500 or -0400
    expect(row_of(page, task).locator("time")).to_have_attribute(
        "title", f"{new_york} UTC-{int(offset[1:3])} (America/New_York)"
    )
    page.goto(f"/tasks/{task.pk}/")
    submitted = page.locator("dl.params dt:text-is('Submitted') + dd")
    expect(submitted).to_contain_text(f"{new_york} UTC-{int(offset[1:3])} by {operator.username}")

    # Back to following the browser.
    page.goto("/preferences/")
    page.get_by_label("Time zone").select_option("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Times: Asia/Shanghai")).to_be_visible()


# --- copy buttons, raw reply --------------------------------------------------------------------------------


def test_copy_buttons_copy_the_request_id_the_file_id_and_the_vendor_task_id(page: Page, context, operator, sign_in):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    task = submit(operator, "/record/room1/2024-11-13.mp4", vendor=Vendor.HUAWEI)
    sign_in(page, operator)

    page.goto("/tasks/")
    row = row_of(page, task)
    for name, value in (
        ("Copy RequestId", task.latest_request_id),
        ("Copy File ID", task.file_id),
        ("Copy vendor task id", task.vendor_task_id),
    ):
        button = row.get_by_role("button", name=name)
        button.click()
        expect(button).to_have_class(re.compile(r"\bcopied\b"))
        assert page.evaluate("navigator.clipboard.readText()") == value, name

    page.goto(f"/tasks/{task.pk}/")
    attempt = page.locator("li.attempt").first
    attempt.get_by_role("button", name="Copy RequestId").click()
    assert page.evaluate("navigator.clipboard.readText()") == task.latest_request_id
    page.locator("#task-panel > dl.params").get_by_role("button", name="Copy vendor task id").click()
    assert page.evaluate("navigator.clipboard.readText()") == task.vendor_task_id

    # The raw reply, indented for reading.
    attempt.get_by_text("Raw reply").click()
    raw = attempt.locator("pre.raw")
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('"Code": 0,\n  "Message":')


# --- search and history -------------------------------------------------------------------------------------


def test_slash_jumps_to_the_search_box_but_types_a_slash_in_a_field(page: Page, operator, sign_in) -> None:
    huawei = submit(operator, "/record/slash/a.mp4", vendor=Vendor.HUAWEI)
    other = submit(operator, "1397757897438985700")
    sign_in(page, operator)
    page.goto("/tasks/")
    search = page.get_by_role("searchbox", name="Search")
    expect(search).not_to_be_focused()

    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")  # the "/" that jumped is not typed

    # In the box, "/" is a character like any other: Huawei File IDs are paths.
    page.keyboard.type("/record/slash")
    expect(search).to_have_value("/record/slash")
    expect(row_of(page, other)).to_have_count(0)
    expect(row_of(page, huawei)).to_have_count(1)

    page.get_by_label("Submitted by").fill("")
    page.keyboard.type("a/b")
    expect(page.get_by_label("Submitted by")).to_have_value("a/b")
    expect(search).to_have_value("/record/slash")


def test_the_history_refreshes_itself_while_a_task_on_it_is_sending(page: Page, operator, sign_in) -> None:
    done = submit(operator)
    sending = Task.objects.create(
        vendor="Tencent",
        mode=Task.Mode.TIME_POINTS,
        file_id="1397757897438985800",
        definition=10,
        time_points=["1"],
        created_by=operator,
        state=State.SENDING,
        attempt_count=1,
    )
    Attempt.objects.create(task=sending, number=1, reason="submit", created_by=operator, nonce="0" * 16, timestamp=1)
    sign_in(page, operator)
    page.goto("/tasks/")
    expect(row_of(page, sending)).to_contain_text("Sending")
    expect(page.get_by_text("1 task on this page is sending")).to_be_visible()
    mark_document(page)

    # ZEGO answers (here: the row is completed as the sending process would).
    Task.objects.filter(pk=sending.pk).update(
        state=State.SUCCEEDED, latest_code=0, latest_request_id="8123456789012345678", state_changed_at=timezone.now()
    )
    expect(row_of(page, sending)).to_contain_text("Accepted by ZEGO", timeout=15_000)
    expect(row_of(page, sending)).to_contain_text("8123456789012345678")
    assert_same_document(page)
    # Nothing is sending any more: the refreshing stops.
    expect(page.locator("#results[hx-trigger]")).to_have_count(0)
    expect(page.get_by_text("on this page is sending")).to_have_count(0)
    expect(row_of(page, done)).to_have_count(1)


# --- the submit form ----------------------------------------------------------------------------------------


def test_a_submission_waiting_on_zego_shows_that_it_is_working(page: Page, operator, sign_in) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")
    page.get_by_label("File ID").fill(SLOW_FILE_ID)  # ZEGO answers after the client's timeout
    page.get_by_label("Time points").fill("1")
    # Locators wait for the navigation under way, so the page still showing while ZEGO is asked notes what
    # it looks like a moment after the click, for the test to read once the next page is there.
    page.evaluate(
        """() => document.addEventListener("submit", () => setTimeout(() => {
            const button = document.querySelector("form[data-busy] button[type=submit]");
            sessionStorage.setItem("seen", JSON.stringify({
                disabled: button.disabled,
                spinner: button.querySelector(".spinner").checkVisibility(),
                status: document.querySelector("form[data-busy] [role=status]").textContent,
            }));
        }, 200))"""
    )
    page.get_by_role("button", name="Send to ZEGO").click()
    expect(page).to_have_url(TASK_URL, timeout=15_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Unknown")
    seen = json.loads(page.evaluate("sessionStorage.getItem('seen')"))
    assert seen == {"disabled": True, "spinner": True, "status": "Sending to ZEGO, waiting for its answer…"}


def test_every_error_of_the_form_shows_at_once_each_field_with_a_red_border(page: Page, operator, sign_in) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")
    page.get_by_label("File ID").fill("abc")
    page.get_by_label("Definition").fill("0")
    page.get_by_label("Time points").fill(", ".join(["-2", *(str(n) for n in range(1, 101))]))
    page.get_by_role("button", name="Send to ZEGO").click()

    expect(page).to_have_url(re.compile(r"/tasks/new/time-points/$"))
    errors = page.locator(".errorlist")
    expect(page.locator("#id_time_points_error")).to_contain_text("101 time points: Tencent takes at most 100.")
    expect(page.locator("#id_time_points_error")).to_contain_text("-2 is negative")
    expect(page.locator("#id_definition_error")).to_have_text("Definition must be 1 or more.")
    expect(page.locator("#id_file_id_error")).to_contain_text("A Tencent File ID is digits only")

    red = errors.first.evaluate("e => getComputedStyle(e).color")
    for label in ("File ID", "Definition", "Time points"):
        field = page.get_by_label(label)
        expect(field).to_have_attribute("aria-invalid", "true")
        assert field.evaluate("e => getComputedStyle(e).borderTopColor") == red, label
    calm = page.get_by_role("radio", name="Tencent").evaluate("e => getComputedStyle(e).borderTopColor")
    assert calm != red


def test_the_definition_field_says_what_10_means_and_suggests_it(page: Page, operator, sign_in) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")
    definition = page.get_by_label("Definition")
    expect(definition).to_have_value("10")
    expect(definition).to_have_accessible_description(re.compile(r"10 \(suggested\).*JPG screenshots"))


def test_back_and_resubmit_keeps_the_file_id_and_shows_the_task_already_made(
    page: Page, operator, sign_in, simulator
) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/time-points/")
    page.get_by_label("File ID").fill("1397757897438985990")
    page.get_by_label("Time points").fill("1, 2")
    page.get_by_role("button", name="Send to ZEGO").click()
    expect(page).to_have_url(TASK_URL)
    first_url, sent = page.url, len(simulator.tasks)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/tasks/new/time-points/$"))
    expect(page.get_by_label("File ID")).to_have_value("1397757897438985990")
    expect(page.get_by_label("Time points")).to_have_value("1, 2")
    page.get_by_role("button", name="Send to ZEGO").click()

    expect(page).to_have_url(first_url)
    expect(page.get_by_text("This form was already submitted: here is the task it created.")).to_be_visible()
    assert Task.objects.count() == 1
    assert len(simulator.tasks) == sent


# --- a permanent code's retry -------------------------------------------------------------------------------


def test_a_permanent_codes_retry_asks_in_a_dialog_with_the_reason(page: Page, operator, sign_in) -> None:
    task = submit(operator, MISSING_FILE_ID)
    assert task.retry_needs_confirmation
    meaning = lookup("MediaThumbnails", task.latest_code).meaning
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")

    retry = page.locator("#task-panel").get_by_role("button", name="Retry")
    expect(retry).not_to_have_class(re.compile(r"\bprimary\b"))
    browser_dialogs: list[str] = []  # confirm() and friends: there must be none
    page.on("dialog", lambda d: (browser_dialogs.append(d.message), d.dismiss()))
    retry.click()
    dialog = page.get_by_role("dialog", name=f"Retry task #{task.pk}?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Code {task.latest_code} ({meaning}) is permanent")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Task.objects.get(pk=task.pk).attempt_count == 1

    retry.click()
    page.get_by_role("dialog").get_by_role("button", name="Retry anyway").click()
    expect(page.locator("#task-panel").get_by_role("status")).to_contain_text("Attempt 2: failed")
    assert Task.objects.get(pk=task.pk).attempt_count == 2

    # The same in the history's row.
    page.goto("/tasks/")
    row = row_of(page, task)
    row.get_by_role("button", name="Retry").click()
    page.get_by_role("dialog").get_by_role("button", name="Retry anyway").click()
    expect(row.get_by_role("status")).to_contain_text("Attempt 3: failed")
    assert browser_dialogs == []


def test_a_transient_codes_retry_is_the_primary_button_and_asks_nothing(page: Page, operator, sign_in) -> None:
    task = submit(operator, FLAKY_FILE_ID)
    assert task.can_retry and not task.retry_needs_confirmation
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")
    retry = page.locator("#task-panel").get_by_role("button", name="Retry")
    expect(retry).to_have_class(re.compile(r"\bprimary\b"))
    retry.click()
    expect(page.locator("#task-panel").get_by_role("status")).to_contain_text("Attempt 2: accepted by ZEGO")


def test_without_javascript_a_permanent_codes_retry_asks_on_its_own_page(new_context, operator, sign_in) -> None:
    task = submit(operator, MISSING_FILE_ID)
    context = new_context(java_script_enabled=False)
    sign_in(context, operator)
    page = context.new_page()
    page.goto(f"/tasks/{task.pk}/")
    page.locator("#task-panel").get_by_role("button", name="Retry").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Retry task #{task.pk}?")
    page.get_by_role("button", name="Retry anyway").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/$"))
    expect(page.get_by_text("Attempt 2: failed")).to_be_visible()


# --- the dark theme -----------------------------------------------------------------------------------------


def _is_dark(page: Page) -> bool:
    rgb = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    red, green, blue = (int(n) for n in re.findall(r"\d+", rgb)[:3])
    return (red + green + blue) / 3 < 100


def test_the_theme_follows_the_system_and_the_switch_overrides_it(new_context, operator, sign_in) -> None:
    context = new_context(color_scheme="dark")
    sign_in(context, operator)
    page = context.new_page()
    page.goto("/tasks/")
    assert _is_dark(page)
    switch = page.get_by_label("Theme")
    expect(switch).to_have_value("system")

    switch.select_option("light")
    assert not _is_dark(page)
    page.reload()  # remembered by this browser, and applied before the first paint
    expect(page.get_by_label("Theme")).to_have_value("light")
    assert not _is_dark(page)

    page.get_by_label("Theme").select_option("system")
    assert _is_dark(page)
    page.emulate_media(color_scheme="light")
    assert not _is_dark(page)
    page.get_by_label("Theme").select_option("dark")
    page.goto("/tasks/new/time-points/")
    assert _is_dark(page)
