"""The console at a phone's 390 x 844 and a laptop's 1440 x 900: nothing runs off the side, the header folds
into a menu, the history's filters fold away and its rows become cards; at 1440 the history fits with one
line per row."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from dashboard import services
from dashboard.models import Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}
LONG_PATH = "/record/pickrecord/command_record/clarechen_test/2024-11-13-06-10-48.mp4"


def some_tasks(user) -> list[Task]:
    """What a console shows on a normal day: both vendors, a failure of each kind, an older task."""
    tencent = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="1397757897438985100", definition=10,
        time_points=(Decimal(1), Decimal("2.5")),
    )  # fmt: skip
    tasks = [
        services.task_submit(user=user, request=tencent).task,
        services.task_submit(user=user, request=replace(tencent, file_id=FLAKY_FILE_ID)).task,
        services.task_submit(user=user, request=replace(tencent, file_id=MISSING_FILE_ID)).task,
        services.task_submit(
            user=user,
            request=ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id=LONG_PATH, interval=5),
        ).task,
    ]
    Task.objects.filter(pk=tasks[1].pk).update(created_at=timezone.now() - timedelta(days=40))
    return tasks


def overflow(page: Page) -> int:
    """How far the page reaches past the right edge of the window, in CSS pixels (0: nothing does)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_on_a_phone_nothing_overflows_and_the_header_and_filters_fold(new_context, operator, sign_in) -> None:
    tasks = some_tasks(operator)
    context = new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(context, operator)
    page = context.new_page()

    for path in ("/", "/tasks/", f"/tasks/{tasks[3].pk}/", f"/tasks/{tasks[2].pk}/", "/tasks/new/time-points/",
                 "/tasks/new/interval/", "/audit/", "/preferences/", "/batches/"):  # fmt: skip
        page.goto(path)
        assert overflow(page) == 0, f"{path} is wider than the phone by {overflow(page)} px"

    # The header: a Menu button; the links behind it.
    page.goto("/tasks/")
    history_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="History")
    expect(history_link).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(history_link).to_be_visible()
    assert overflow(page) == 0
    page.get_by_text("Menu", exact=True).click()
    expect(history_link).to_be_hidden()

    # The filters fold away; the search box stays.
    vendor = page.get_by_label("Vendor", exact=True)
    expect(page.get_by_role("searchbox", name="Search")).to_be_visible()
    expect(vendor).to_be_hidden()
    page.get_by_text("Filters", exact=True).click()
    expect(vendor).to_be_visible()
    vendor.select_option("Huawei")  # searches at once; the URL follows
    expect(page).to_have_url(re.compile(r"[?&]vendor=Huawei"))
    expect(page.locator("table.tasks tbody tr")).to_have_count(1)
    page.reload()  # a filtered page opens with its filters shown, and says how many are set
    expect(page.get_by_text("Filters (1 set)")).to_be_visible()
    expect(page.get_by_label("Vendor", exact=True)).to_be_visible()
    page.goto("/tasks/")

    # Each task a card: no header row; each value labelled; the whole card on the screen.
    expect(page.locator("table.tasks thead")).to_be_hidden()
    cards = page.locator("table.tasks tbody tr")
    expect(cards).to_have_count(len(tasks))
    for i in range(len(tasks)):
        box = cards.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    huawei = cards.filter(has_text=f"#{tasks[3].pk}")
    label = huawei.locator("td[data-label='File ID']").evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"File ID"'
    expect(huawei.get_by_role("button", name="Copy File ID")).to_be_visible()
    expect(cards.filter(has_text=f"#{tasks[2].pk}").get_by_role("button", name="Retry")).to_be_visible()


def test_on_a_laptop_the_history_fits_with_one_line_per_row(new_context, operator, sign_in) -> None:
    tasks = some_tasks(operator)
    context = new_context(viewport=LAPTOP)
    sign_in(context, operator)
    page = context.new_page()
    page.goto("/tasks/")

    table = page.locator("table.tasks")
    expect(table.locator("tbody tr")).to_have_count(len(tasks))
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), "the table scrolls sideways"
    assert overflow(page) == 0
    retry = page.get_by_role("row").filter(has_text=f"#{tasks[2].pk}").get_by_role("button", name="Retry")
    box = retry.bounding_box()
    assert box and box["x"] + box["width"] <= LAPTOP["width"], "the Retry button is off-screen"

    # One line per row, however long its File ID: a second line would make a row over 50 px tall.
    heights = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 45, heights

    # An inline retry's message does not widen the table either.
    page.get_by_role("row").filter(has_text=f"#{tasks[1].pk}").get_by_role("button", name="Retry").click()
    expect(page.get_by_role("row").filter(has_text=f"#{tasks[1].pk}").get_by_role("status")).to_contain_text(
        "Attempt 2"
    )
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
