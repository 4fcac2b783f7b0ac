"""Batches in the browser: every line checked first, the valid ones queued, the progress bar moving by itself
as the worker sends them; bulk retry's dry run and confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from dashboard.models import Batch, Task
from dashboard.services import batches
from zego_simulator.scripted import FLAKY_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_batch_is_checked_queued_and_followed_to_its_end(page: Page, live_server, operator, sign_in) -> None:
    sign_in(page, operator)
    page.goto(f"{live_server.url}/batches/new/time-points/")
    page.get_by_label("Definition").fill("10")
    page.get_by_label("Time points").fill("1, 2")
    page.get_by_label("File IDs").fill("1397757897438985100\nnot-digits\n1397757897438985101\n1397757897438985100")
    page.get_by_role("button", name="Check and queue").click()

    expect(page.get_by_text("2 of 4 lines cannot be sent")).to_be_visible()
    rows = page.locator("table.problems tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("not-digits")
    expect(rows.nth(1)).to_contain_text("Repeats line 1.")
    assert Task.objects.count() == 0  # nothing queued yet

    page.get_by_label("Send only the valid lines").check()
    page.get_by_role("button", name="Check and queue").click()
    expect(page.get_by_role("heading", name="Batch submission #")).to_be_visible()
    expect(page.get_by_text("0 of 2 done")).to_be_visible()

    batch = Batch.objects.get()
    while batches.batch_send_next(batch_id=batch.pk):  # what a worker does
        pass
    expect(page.get_by_text("100% · 2 of 2 done")).to_be_visible(timeout=15_000)  # the page polls by itself
    page.get_by_role("link", name="Its tasks in the history").click()
    expect(page.locator("table.tasks tbody tr")).to_have_count(2)


def test_retry_all_matching_shows_its_dry_run_then_queues(page: Page, live_server, operator, sign_in) -> None:
    from decimal import Decimal

    from dashboard import services
    from dashboard.zego.types import Mode, ThumbnailRequest, Vendor

    request = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id=FLAKY_FILE_ID, definition=10, time_points=(Decimal(1),)
    )
    services.task_submit(user=operator, request=request)
    sign_in(page, operator)
    page.goto(f"{live_server.url}/tasks/?state=failed")
    page.get_by_role("link", name="Retry all matching…").click()
    expect(page.get_by_text("would be retried")).to_contain_text("1")
    page.get_by_role("button", name="Retry 1 task").click()
    expect(page.get_by_role("heading", name="Bulk retry #")).to_be_visible()
