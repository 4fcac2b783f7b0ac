"""The overview on the home page: is anything wrong right now, and where to look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dashboard.models import Batch, State, Task
from dashboard.selectors_overview import overview

pytestmark = pytest.mark.django_db


def make(operator, *, state: str, vendor: str = "Tencent", code: int | None = None, ago: timedelta = timedelta()):
    return Task.objects.create(
        vendor=vendor, mode="time-points", file_id="1", created_by=operator, state=state, latest_code=code,
        created_at=timezone.now() - ago,
    )  # fmt: skip


def test_it_counts_the_last_day_and_week_by_state_vendor_and_result(operator):
    make(operator, state=State.SUCCEEDED)
    make(operator, state=State.FAILED, code=41003, vendor="Huawei")
    make(operator, state=State.UNKNOWN, ago=timedelta(days=3))
    make(operator, state=State.SUCCEEDED, ago=timedelta(days=10))  # outside both
    day, week = overview(use_cache=False).windows

    assert (day.total, day.by_state, day.by_vendor) == (2, {"succeeded": 1, "failed": 1}, {"Tencent": 1, "Huawei": 1})
    assert day.failure_rate == 50
    assert week.total == 3 and week.by_state[State.UNKNOWN] == 1 and week.failure_rate == 67


def test_the_chart_has_a_bar_per_hour_and_day_with_the_failed_part(operator):
    make(operator, state=State.SUCCEEDED)
    make(operator, state=State.FAILED, code=1000)
    data = overview(use_cache=False)
    assert len(data.hours) in (24, 25) and len(data.days) in (30, 31)
    last = data.hours[-1]
    assert (last.total, last.failed) == (2, 1) and last.height == 120 and last.failed_height == 60
    assert last.since == timezone.now().strftime("%Y-%m-%d")


def test_the_page_shows_counts_codes_chart_and_work_in_progress_with_links(operator, operator_client):
    make(operator, state=State.FAILED, code=41003)
    make(operator, state=State.FAILED, code=41003)
    make(operator, state=State.FAILED, code=1000)
    Batch.objects.create(kind=Batch.Kind.SUBMIT, created_by=operator, total=10)
    html = operator_client.get("/").content.decode()
    today = timezone.now().strftime("%Y-%m-%d")

    assert "100% failed or unknown" in html and 'href="/tasks/?state=failed">3 Failed' in html
    assert 'href="/tasks/?code=41003&amp;state=failed"><strong>41003</strong></a> File does not exist.' in html
    assert html.index("41003</strong>") < html.index("1000</strong>")  # most frequent first
    assert f'href="/tasks/?since={today}&amp;until={today}"' in html and "<svg" in html
    assert "Batch submission #" in html and "In progress" in html


def test_an_empty_console_says_so_without_dividing_by_zero(operator_client):
    html = operator_client.get("/").content.decode()
    assert "<strong>0</strong> tasks" in html and "<svg" not in html


def test_a_submission_is_counted_at_once_despite_the_cache(operator_client):
    operator_client.get("/")  # caches an empty overview
    operator_client.post("/tasks/new/interval/", {"vendor": "Huawei", "file_id": "/a.mp4", "interval": "5"})
    assert "<strong>1</strong> task," in operator_client.get("/").content.decode()


def test_each_task_is_counted_in_the_bar_of_its_hour_and_day(operator):
    now = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    for at, state in (
        (datetime(2026, 11, 27, 9, 59, 59, 999999, tzinfo=UTC), State.SUCCEEDED),
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), State.FAILED),
        (datetime(2026, 11, 27, 0, 0, tzinfo=UTC), State.UNKNOWN),
        (datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC), State.SUCCEEDED),
        (datetime(2026, 10, 28, 23, 59, 59, tzinfo=UTC), State.SUCCEEDED),  # before the first day bar
    ):
        Task.objects.create(
            vendor="Huawei", mode="interval", file_id="/a.mp4", created_by=operator, state=state, created_at=at
        )
    data = overview(now=now, use_cache=False)

    hours = {bar.label: (bar.total, bar.failed) for bar in data.hours if bar.total}
    assert hours == {"23:00": (1, 0), "00:00": (1, 1), "09:00": (1, 0), "10:00": (1, 1)}
    days = {bar.label: (bar.total, bar.failed) for bar in data.days if bar.total}
    assert days == {"11-26": (1, 0), "11-27": (3, 2)}
    assert data.days[0].label == "10-29" and data.days[-1].label == "11-27"
    assert [w.total for w in data.windows] == [4, 4]
