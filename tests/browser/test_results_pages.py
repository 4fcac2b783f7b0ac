"""What became of a task, in Chromium: the result and the screenshots appear on an open task page by
themselves (it polls while the result is pending), from polling and from a callback; the images really
display under the strict Content Security Policy (any violation fails the test: see conftest.py)."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from dashboard import services
from dashboard.models import ResultCheck, Task
from dashboard.services.results import Shot, result_record
from dashboard.zego.client import default_client
from dashboard.zego.types import MediaTaskStatus, Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FAILING_TASK_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page polls every 2 s; a loaded machine may take a few rounds.
APPEARS_MS = 20_000
SIM_IMAGE_WIDTH = 160  # zego_simulator.images.IMAGE_WIDTH


def submit(user, *, vendor: Vendor = Vendor.TENCENT, file_id: str = "1397757897438985100") -> Task:
    if vendor is Vendor.TENCENT:
        points = (Decimal(1), Decimal("2.5"), Decimal(10))
        request = ThumbnailRequest(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=points
        )
    else:
        request = ThumbnailRequest(vendor=vendor, mode=Mode.INTERVAL, file_id="/record/room1/a.mp4", interval=5)
    return services.task_submit(user=user, request=request).task


def describe(task: Task) -> MediaTaskStatus:
    return default_client().describe_media_task(task_id=task.vendor_task_id, vendor=Vendor(task.vendor))


def poll_like_the_worker(task: Task) -> MediaTaskStatus:
    """What the worker does, from the test thread: ask DescribeMediaTask and record every answer, pausing
    between checks, until the status is final."""
    deadline = time.monotonic() + 30
    while True:
        answer = describe(task)
        shots = [Shot(url=u) for u in answer.thumbnail_urls] + [Shot(file_name=n) for n in answer.file_names]
        result_record(
            task=task,
            source=ResultCheck.Source.POLL,
            status=answer.status,
            message=answer.message,
            shots=shots,
            call=answer.call,
        )
        if answer.finished:
            return answer
        assert time.monotonic() < deadline, f"the simulator never finished the task: {answer.status}"
        time.sleep(0.5)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def gallery_images(page: Page) -> Locator:
    return page.get_by_role("list", name="Screenshots").get_by_role("img")


def expect_displayed(images: Locator, count: int) -> None:
    """Each image is actually drawn: loaded, with the simulator's frame width (0 when blocked or broken)."""
    expect(images).to_have_count(count, timeout=APPEARS_MS)
    for i in range(count):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("naturalWidth", SIM_IMAGE_WIDTH)


def mark_document(page: Page) -> None:
    page.evaluate("window.__same_document = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__same_document === true"), "the page was reloaded: not an in-place update"


def test_screenshots_appear_on_an_open_task_page_by_themselves(page: Page, operator, sign_in) -> None:
    task = submit(operator)
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")
    expect(heading(page)).to_have_text(re.compile(r"Accepted by ZEGO\s+Waiting"))
    expect(gallery_images(page)).to_have_count(0)
    mark_document(page)

    poll_like_the_worker(task)

    expect(heading(page)).to_have_text(re.compile(r"Accepted by ZEGO\s+Finished"), timeout=APPEARS_MS)
    images = gallery_images(page)
    expect_displayed(images, 3)
    expect(images.nth(0)).to_have_accessible_name("Screenshot 1 at 1 s")
    expect(images.nth(1)).to_have_accessible_name("Screenshot 2 at 2.5 s")
    expect(images.nth(2)).to_have_accessible_name("Screenshot 3 at 10 s")
    expect(page.locator(".gallery figcaption")).to_have_text(["1 s", "2.5 s", "10 s"])
    expect(page.get_by_text("The provider finished: 3 screenshots.")).to_be_visible()
    # Final: the panel no longer polls.
    expect(page.locator("#task-panel")).not_to_have_attribute("hx-trigger", re.compile("every"))
    assert_same_document(page)

    # A thumbnail opens the image full size in a dialog; the arrows go through the others.
    images.nth(1).click()
    dialog = page.get_by_role("dialog", name="Screenshot")
    expect(dialog).to_be_visible()
    big = dialog.get_by_role("img")
    expect(big).to_have_accessible_name("Screenshot 2 at 2.5 s")
    expect(big).to_have_js_property("naturalWidth", SIM_IMAGE_WIDTH)
    expect(dialog).to_contain_text("2.5 s (2 of 3)")
    page.keyboard.press("ArrowRight")
    expect(dialog).to_contain_text("10 s (3 of 3)")
    expect(dialog.get_by_role("link", name="Open the image")).to_have_attribute("href", re.compile(r"/3\.png$"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_screenshots_from_a_callback_appear_with_their_offsets(page: Page, operator, sign_in) -> None:
    task = submit(operator)
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")
    expect(heading(page)).to_contain_text("Waiting")

    # ZEGO's callback comes once the provider has finished; its offsets are in milliseconds.
    deadline = time.monotonic() + 30
    while not (answer := describe(task)).finished:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    offsets = [1000, 2500, 10000]
    shots = [Shot(url=u, offset_ms=ms) for u, ms in zip(answer.thumbnail_urls, offsets, strict=True)]
    result_record(task=task, source=ResultCheck.Source.CALLBACK, status="FINISH", shots=shots)

    expect_displayed(gallery_images(page), 3)
    expect(page.locator(".gallery figcaption")).to_have_text(["1 s", "2.5 s", "10 s"])
    expect(page.locator("table.checks")).to_contain_text("Callback")


def test_a_provider_failure_shows_as_such_and_never_as_a_success(page: Page, operator, sign_in) -> None:
    task = submit(operator, file_id=FAILING_TASK_FILE_ID)
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")
    poll_like_the_worker(task)

    expect(heading(page)).to_have_text(re.compile(r"Accepted by ZEGO\s+Provider failed"), timeout=APPEARS_MS)
    expect(page.get_by_text("The provider failed")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Succeeded")
    page.goto("/tasks/?result=failed")
    expect(page.get_by_role("row").filter(has_text=f"#{task.pk}")).to_contain_text("Provider failed")


def test_huawei_object_paths_are_links_with_copy_buttons(page: Page, operator, sign_in, context) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    task = submit(operator, vendor=Vendor.HUAWEI)
    answer = poll_like_the_worker(task)
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")

    links = page.locator(".shot-files a")
    expect(links).to_have_count(len(answer.file_names))
    first = answer.file_names[0]
    expect(links.first).to_have_text(first)
    # The link goes to the object under the bucket's address (here the simulator's /obs/), and it is there.
    response = page.request.get(links.first.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "image/png"

    copy = page.locator(".shot-files li").first.get_by_role("button")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first


def test_asking_zego_again_updates_the_page_in_place(page: Page, operator, sign_in) -> None:
    task = submit(operator)
    sign_in(page, operator)
    page.goto(f"/tasks/{task.pk}/")
    mark_document(page)

    page.get_by_role("button", name="Ask ZEGO again").click()

    expect(page.get_by_role("status").filter(has_text="Asked ZEGO")).to_contain_text("the provider says")
    expect(page.locator("table.checks")).to_contain_text(f"Asked by {operator.username}")
    assert_same_document(page)


def test_the_home_page_and_the_history_show_the_latest_screenshots(page: Page, operator, sign_in) -> None:
    task = submit(operator)
    poll_like_the_worker(task)
    sign_in(page, operator)
    page.goto("/")

    latest = page.get_by_role("list", name="Latest screenshots").get_by_role("img")
    expect_displayed(latest, 3)
    expect(latest.first).to_have_accessible_name(f"Screenshot 3 at 10 s of task #{task.pk}")
    latest.first.click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/#screenshots$"))

    page.goto("/tasks/")
    sign = page.get_by_role("link", name="3 screenshots")
    expect(sign).to_be_visible()
