"""The console in Simplified Chinese, as a browser set to Chinese gets it: signing in, a form error, a task, the
history, the words app.js shows, and the header's switch to English and back, on a laptop and in a phone's
folded menu."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Page, expect

from dashboard.models import Task
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHINESE = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


def overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_chinese_browser_signs_in_submits_and_switches_to_english_and_back(new_context, operator) -> None:
    context = new_context(viewport={"width": 1440, "height": 900}, **CHINESE)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()

    page.goto("/tasks/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label("用户名").fill(operator.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="历史记录")).to_be_visible()

    # A form error, in Chinese, at its field; nothing is sent.
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="时间点").click()
    expect(page.get_by_role("heading", name="时间点截图")).to_be_visible()
    page.get_by_label("文件 ID").fill("12a")
    page.get_by_label("截图模板 ID").fill("10")
    page.get_by_label("时间点").fill("1, x")
    page.get_by_role("button", name="发送给 ZEGO").click()
    expect(page.get_by_text("腾讯云的文件 ID 只含数字，例如 1397757897438985100。")).to_be_visible()
    expect(page.get_by_text("“x”不是秒数。")).to_be_visible()

    page.get_by_label("文件 ID").fill("1397757897438985100")
    page.get_by_label("时间点").fill("1, 2.5")
    page.get_by_role("button", name="发送给 ZEGO").click()
    expect(page.get_by_role("heading", name=re.compile(r"^任务 #\d+"))).to_contain_text("ZEGO 已受理")
    expect(page.get_by_role("heading", name=re.compile(r"^第 1 次请求"))).to_be_visible()
    task_url = page.url

    # The history: Chinese headings, a vendor's name in Chinese, app.js's words from the page.
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="历史记录").click()
    table = page.locator("table.tasks")
    expect(table.get_by_role("columnheader", name="云厂商", exact=True)).to_be_visible()
    row = table.locator("tbody tr").first
    expect(row.get_by_role("cell", name="腾讯云", exact=True)).to_be_visible()
    copy = row.get_by_role("button", name="复制文件 ID")
    copy.click()
    expect(copy).to_have_attribute("title", "已复制")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), "the table scrolls sideways"

    # The header's switch: the same page in English, then back; the choice outlives the browser's language.
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(task_url)
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    page.get_by_role("button", name="简体中文").click()
    expect(page).to_have_url(task_url)
    expect(page.get_by_role("heading", name="各次请求")).to_be_visible()


def test_on_a_phone_the_switch_is_in_the_folded_menu(new_context, operator, sign_in) -> None:
    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, **CHINESE)
    sign_in(context, operator)
    page = context.new_page()
    page.goto("/tasks/new/interval/")
    english = page.get_by_role("button", name="English", exact=True)

    expect(english).to_be_hidden()
    page.get_by_text("菜单", exact=True).click()
    expect(english).to_be_visible()
    assert overflow(page) == 0
    box = english.bounding_box()
    assert box and box["x"] + box["width"] <= 390
    english.click()

    expect(page).to_have_url(re.compile(r"/tasks/new/interval/$"))
    expect(page.get_by_role("heading", name="Interval screenshots")).to_be_visible()
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="间隔截图")).to_be_visible()
    assert overflow(page) == 0


def test_on_a_phone_the_charts_axis_labels_keep_their_shape_and_do_not_overlap(new_context, operator, sign_in) -> None:
    # Drawn in the stretched box of the bars, the labels were squeezed to under half their width at 390 px.
    Task.objects.create(vendor="Tencent", mode="time-points", file_id="1", created_by=operator, state="failed")
    for viewport in ({"width": 390, "height": 844}, {"width": 1440, "height": 900}):
        context = new_context(viewport=viewport, **CHINESE)
        sign_in(context, operator)
        page = context.new_page()
        page.goto("/")
        for chart in page.locator("svg.chart").all():
            box = chart.bounding_box()
            labels = chart.locator("text").evaluate_all(
                "ts => ts.map(t => { const r = t.getBoundingClientRect();"
                " return {left: r.left, right: r.right, width: r.width, size: parseFloat(getComputedStyle(t).fontSize),"
                " text: t.textContent}; })"
            )
            assert len(labels) >= 5, labels
            for label in labels:
                # Unstretched: "16:00" or "11-28" is about three font sizes wide, as text is anywhere else.
                assert label["size"] >= 11 and 2.2 * label["size"] <= label["width"] <= 4 * label["size"], label
                assert box["x"] - 0.5 <= label["left"] and label["right"] <= box["x"] + box["width"] + 0.5, label
            for left, right in itertools.pairwise(labels):
                assert left["right"] < right["left"], (left, right)
        context.close()
