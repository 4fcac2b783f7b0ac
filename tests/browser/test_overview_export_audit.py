"""Seeing how it goes, in Chromium: the overview on the home page (counts, the chart, a bar that leads to
its tasks in the history), the CSV export of what the history's filters match, and the audit trail of a
submission made in the browser."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from dashboard import services
from dashboard.models import Task
from dashboard.zego.types import Mode, ThumbnailRequest, Vendor
from zego_simulator.scripted import FLAKY_FILE_ID, MISSING_FILE_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(user, file_id: str, *, vendor: Vendor = Vendor.TENCENT) -> Task:
    if vendor is Vendor.TENCENT:
        request = ThumbnailRequest(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id=file_id, definition=10, time_points=(Decimal(1),)
        )
    else:
        request = ThumbnailRequest(vendor=vendor, mode=Mode.INTERVAL, file_id=file_id, interval=5)
    return services.task_submit(user=user, request=request).task


def history_rows(page: Page):
    return page.locator("table.tasks tbody tr")


def test_the_overview_counts_and_charts_and_a_bar_leads_to_its_tasks(page: Page, operator, sign_in) -> None:
    submit(operator, "1397757897438985100")
    submit(operator, MISSING_FILE_ID)
    submit(operator, MISSING_FILE_ID)
    submit(operator, "/record/a.mp4", vendor=Vendor.HUAWEI)
    old = submit(operator, "1397757897438985200")
    Task.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    sign_in(page, operator)
    page.goto("/")

    overview = page.get_by_role("region", name="Overview")
    day = overview.locator(".card").filter(has=page.get_by_role("heading", name="Last 24 hours", exact=True))
    week = overview.locator(".card").filter(has=page.get_by_role("heading", name="Last 7 days", exact=True))
    expect(day).to_contain_text("4 tasks, 50% failed or unknown")
    expect(week).to_contain_text("5 tasks, 40% failed or unknown")
    expect(day.get_by_role("link", name="3 Tencent")).to_be_visible()
    codes = overview.locator(".card").filter(has=page.get_by_role("heading", name=re.compile("failure codes")))
    expect(codes).to_contain_text("41003 File does not exist. (2)")

    charts = overview.locator("svg.chart")
    expect(charts).to_have_count(2)
    hours, days = charts.nth(0).locator("a"), charts.nth(1).locator("a")
    assert hours.count() in (24, 25) and days.count() in (30, 31)
    # Today's bar (the last of the 30 days) leads to today's tasks in the history.
    days.last.click()
    today = timezone.now().strftime("%Y-%m-%d")
    expect(page).to_have_url(re.compile(rf"/tasks/\?since={today}&until={today}$"))
    expect(history_rows(page)).to_have_count(4)
    expect(page.get_by_label("From")).to_have_value(today)

    # The most frequent code leads to its failures.
    page.goto("/")
    page.get_by_role("region", name="Overview").get_by_role("link", name="41003").click()
    expect(page).to_have_url(re.compile(r"/tasks/\?code=41003&state=failed$"))
    expect(history_rows(page)).to_have_count(2)


def test_export_downloads_a_csv_of_what_the_filters_match(page: Page, operator, sign_in) -> None:
    flaky = submit(operator, FLAKY_FILE_ID)  # Code 1000, then a retry that succeeds
    services.task_retry(user=operator, task=flaky)
    missing = submit(operator, MISSING_FILE_ID)
    submit(operator, "/record/b.mp4", vendor=Vendor.HUAWEI)
    sign_in(page, operator)
    page.goto("/tasks/")
    page.get_by_label("Vendor", exact=True).select_option("Tencent")
    expect(page).to_have_url(re.compile(r"[?&]vendor=Tencent"))
    page.reload()  # the Export link carries the filters of the page as served

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert re.fullmatch(r"thumbs-history-\d{8}-\d{6}\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["task"], r["file_id"], r["attempt"], r["code"]) for r in rows] == [
        (str(flaky.pk), FLAKY_FILE_ID, "1", "1000"),
        (str(flaky.pk), FLAKY_FILE_ID, "2", "0"),
        (str(missing.pk), MISSING_FILE_ID, "1", "41003"),
    ]
    assert {r["vendor"] for r in rows} == {"Tencent"}
    assert rows[2]["code_meaning"] == "File does not exist." and rows[0]["submitted_by"] == operator.username
    assert "Signature" not in text


def test_the_audit_trail_lists_a_submission_made_in_the_browser(page: Page, operator, viewer, sign_in) -> None:
    sign_in(page, operator)
    page.goto("/tasks/new/interval/")
    page.get_by_label("Huawei").check()
    page.get_by_label("Interval").fill("5")
    page.get_by_label("File ID").fill("/record/audited.mp4")
    page.get_by_role("button", name="Send to ZEGO").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get(file_id="/record/audited.mp4")

    # Anyone with a role reads it: here the viewer.
    page.context.clear_cookies()
    sign_in(page, viewer)
    page.goto("/audit/")
    entry = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{task.pk}", exact=True))
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Submitted a task")
    expect(entry).to_contain_text(operator.username)
    expect(entry).to_contain_text("File ID /record/audited.mp4")
    expect(entry).to_contain_text("127.0.0.1")
    expect(entry.locator("time")).to_have_text(re.compile(r"^(just now|\d+ s ago)$"))

    # Filtered by person, it stays; by another, it goes.
    page.get_by_label("Who").fill(operator.username)
    expect(page).to_have_url(re.compile(rf"[?&]who={operator.username}"))
    expect(entry).to_have_count(1)
    page.get_by_label("Who").fill("nobody-here")
    expect(page.get_by_text("No entry matches these filters.")).to_be_visible()
    expect(entry).to_have_count(0)
