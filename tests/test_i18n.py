"""English and Simplified Chinese: chosen from the browser, switched by the user, and nothing left unmarked.

The page check renders every page, with data enough to show each part, in zh-hans, and fails on any English
word left in what a reader sees (text, titles, alt and aria labels, a card's cell labels, the words app.js
shows), outside names of products and protocols and the fixtures' own data.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
import zoneinfo
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone, translation

from dashboard.errors import server_error
from dashboard.forms import BATCH_FORMS, TimePointsForm
from dashboard.gallery import CHECKS_SHOWN
from dashboard.models import (
    Attempt,
    AuditEntry,
    Batch,
    RefusedCallback,
    Result,
    ResultCheck,
    Screenshot,
    State,
    Task,
)
from dashboard.services import batches
from dashboard.services.audit import audit_record
from dashboard.templatetags.console import relative
from dashboard.zego.codes import lookup
from dashboard.zego.types import MEDIA_THUMBNAILS, FailureKind, Mode, ThumbnailRequest, Vendor
from tests.conftest import _user
from zego_simulator.scripted import HTTP_500_FILE_ID, MISSING_FILE_ID, THROTTLED_FILE_ID

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}

# --- the page check ---------------------------------------------------------------------------------------

# Words a Chinese page keeps: names of the product, of ZEGO's API and its fields, of the vendors' services,
# units and protocols. Case matters: "Action" (ZEGO's parameter) is allowed, "action" is not.
ALLOWED = {
    "thumbs", "ZEGO", "ZEGOCLOUD", "MediaThumbnails", "SnapshotByTimeOffset", "SampleSnapshot",
    "DescribeMediaTask", "RequestId", "FileId", "AppId", "AppID", "TaskId", "ServerSecret", "SignatureNonce",
    "SignatureVersion", "Timestamp", "Action", "PROCESSING", "FAIL", "FAILED", "VOD", "OBS", "CDN",
    "ID", "UTC", "CSV", "UTF", "HTTP", "HTML", "JSON", "API", "JPG", "MB", "NTP", "TLS", "Unix",
}  # fmt: skip
# What the fixtures below store (user names, a vendor as a callback sent it): data, not interface.
DATA = {"olga", "victor", "ada", "nemo", "hw"}
# Time zones are named by their IANA names (GMT, Japan, Asia/Shanghai), in any language.
ZONES = zoneinfo.available_timezones()

SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea", "time"}
# data-label: a table cell's label on a phone's card; data-text and data-t-*: words app.js shows.
SHOWN_ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "data-caption", "data-label", "data-text")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’]*")


class _Visible(HTMLParser):
    """The text a reader sees. Left out: code and raw values (<code>, <pre>, class "mono"), what a user typed
    (<textarea>), machine times (<time>), and what is marked as English on purpose (lang="en": records
    written in English, such as an audit entry's summary)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        skip = tag in SKIPPED_TAGS or values.get("lang") == "en" or "mono" in values.get("class", "").split()
        if not skip and not self._hidden():
            self.texts += [value for name, value in values.items() if value and _shown(name)]
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.texts.append(data)


def _shown(attribute: str) -> bool:
    return attribute in SHOWN_ATTRIBUTES or attribute.startswith("data-t-")


def english_left(html: str) -> list[str]:
    """Each visible piece of text that still holds an English word, with the words."""
    parser = _Visible()
    parser.feed(html)
    found = []
    for text in parser.texts:
        # Paths, URLs and e-mail addresses are values, not words; nor are app.js's {placeholders}.
        text = re.sub(r"\{\w+\}", "", text)
        kept = " ".join(c for c in text.split() if "/" not in c and "@" not in c and c not in ZONES)
        words = [
            w
            for w in (m.group().rstrip("'’") for m in WORD.finditer(kept))
            if len(w) > 1 and w not in ALLOWED and w not in DATA and "_" not in w and not re.search(r"\d", w)
        ]
        if words:
            found.append(f"{' '.join(words)!r} in {' '.join(text.split())[:120]!r}")
    return found


def test_the_checker_finds_an_english_word_and_leaves_names_data_and_records_alone() -> None:
    html = (
        '<p>任务 <a title="Retry it">重试</a></p><p>ZEGO 的 RequestId，来自 /record/a.mp4 和 ada@example.com</p>'
        '<code>POST /zego/callback</code><td class="mono">abc</td><span lang="en">Task #1: a record</span>'
        "<textarea>typed text</textarea><p>Left <strong>over</strong></p>"
    )
    assert english_left(html) == ["'Retry it' in 'Retry it'", "'Left' in 'Left'", "'over' in 'over'"]


@dataclass(frozen=True)
class Page:
    name: str
    url: str  # formatted with the ids the data fixture made
    who: str = "operator"  # operator, viewer, norole or anonymous
    method: str = "get"
    data: dict = field(default_factory=dict)
    status: int = 200
    times: int = 1  # how many times to send it (the last answer is checked)
    settings: dict = field(default_factory=dict)


# Every page, with data enough to show each part, and the header with the language switch on each.
PAGES = [
    Page("home", "/"),
    Page("sign in", "/login/", who="anonymous"),
    Page("sign in, wrong password", "/login/", who="anonymous", method="post",
         data={"username": "olga", "password": "wrong"}),
    Page("sign in, locked out", "/login/", who="anonymous", method="post",
         data={"username": "olga", "password": "wrong"}, status=429, times=2),
    Page("403, no role", "/", who="norole", status=403),
    Page("403, viewer", "/batches/new/time-points/", who="viewer", status=403),
    Page("404", "/no-such-page/", status=404),
    Page("history", "/tasks/"),
    Page("history, a viewer's", "/tasks/", who="viewer"),
    Page("history, filtered", "/tasks/?vendor=Huawei&state=failed"),
    Page("history, nothing matches", "/tasks/?q=no-such-file"),
    Page("history, bad filters", "/tasks/?code=x&since=never&until=soon&result=x9&batch=x&before=-1"),
    Page("task, failed with a permanent code", "/tasks/{failed}/"),
    Page("task, failed with an unknown code", "/tasks/{unknown_code}/"),
    Page("task, no usable answer, retry planned", "/tasks/{unknown}/"),
    Page("task, no outcome recorded", "/tasks/{abandoned}/"),
    Page("task, sending", "/tasks/{sending}/"),
    Page("task, screenshots and checks", "/tasks/{finished}/"),
    Page("task, Huawei's screenshot files", "/tasks/{huawei}/", settings={"THUMBS_HUAWEI_OBS_BASE_URL": ""}),
    Page("task, waiting with a check overdue", "/tasks/{waiting}/"),
    Page("task, stuck", "/tasks/{stuck}/"),
    Page("task, provider failed", "/tasks/{provider_failed}/"),
    Page("task, accepted before results were followed", "/tasks/{unfollowed}/"),
    Page("new task, time points", "/tasks/new/time-points/"),
    Page("new task, interval for Tencent", "/tasks/new/interval/?vendor=Tencent"),
    Page("new task, edit and resubmit", "/tasks/new/time-points/?from_task={failed}"),
    Page("new task, time points with errors", "/tasks/new/time-points/", method="post",
         data={"vendor": "Tencent", "file_id": "12a", "definition": "x", "time_points": "1, x, -2"}),
    Page("new task, interval with errors", "/tasks/new/interval/", method="post",
         data={"vendor": "Huawei", "file_id": "", "interval": "0"}),
    Page("retry, confirmation", "/tasks/{failed}/retry/", method="post", data={"from": "detail"}),
    Page("retry, refused", "/tasks/{finished}/retry/", method="post", data={"from": "detail"}),
    Page("settings", "/preferences/?next=/tasks/"),
    Page("settings, saved", "/preferences/", method="post", data={"time_zone": "Asia/Shanghai", "next": "/tasks/"}),
    Page("settings, bad zone", "/preferences/", method="post", data={"time_zone": "Mars/Olympus"}),
    Page("audit trail", "/audit/"),
    Page("audit trail, nothing matches", "/audit/?who=nobody"),
    Page("audit trail, bad filter", "/audit/?task=x&since=never"),
    Page("refused callbacks", "/callbacks/"),
    Page("batches", "/batches/"),
    Page("batch, running", "/batches/{running}/"),
    Page("batch, cancelled", "/batches/{running}/cancel/", method="post"),
    Page("batch, finished", "/batches/{finished_batch}/"),
    Page("bulk retry batch", "/batches/{retry}/"),
    Page("new batch, time points", "/batches/new/time-points/"),
    Page("new batch, interval for Huawei", "/batches/new/interval/?vendor=Huawei"),
    Page("new batch, lines to fix", "/batches/new/time-points/", method="post",
         data={"vendor": "Tencent", "file_ids": "123\n12-34\n123\n" + "9" * 41, "time_points": "1, x, -2"}),
    Page("new batch, nothing pasted", "/batches/new/interval/", method="post", data={"vendor": "Huawei"}),
    Page("retry all matching", "/tasks/retry-matching/?vendor=Tencent"),
    Page("retry all matching, nothing to retry", "/tasks/retry-matching/", method="post",
         data={"filter": "state=succeeded"}),
    Page("retry all matching, bad filter", "/tasks/retry-matching/?code=x&until=soon", status=400),
]  # fmt: skip
# The same pages on a console with nothing in it yet: their empty states.
EMPTY_PAGES = [Page("home", "/"), Page("history", "/tasks/"), Page("audit trail", "/audit/"),
               Page("refused callbacks", "/callbacks/"), Page("batches", "/batches/")]  # fmt: skip


@pytest.fixture
def console(operator, superuser) -> dict[str, int]:
    """Something on every part of every page: tasks of each state and result in the last day and week, with
    their attempts (answered, failed, timed out, abandoned), automatic retry plans, failure codes, result
    checks, screenshots of both vendors, batches running, finished and a bulk retry, refused callbacks, audit
    entries."""
    now = timezone.now()

    def task(
        state: str, *, vendor: str = "Tencent", code: int | None = None, result: str = "", ago=timedelta(), **fields
    ) -> Task:
        return Task.objects.create(**{
            "vendor": vendor, "mode": Mode.TIME_POINTS, "file_id": "1397757897438985100", "definition": 10,
            "time_points": ["1"], "created_by": operator, "created_at": now - ago, "state": state,
            "state_changed_at": now - ago, "latest_code": code, "result": result, "attempt_count": 1, **fields,
        })  # fmt: skip

    def attempt(task: Task, number: int = 1, **fields) -> Attempt:
        return Attempt.objects.create(
            task=task, number=number, reason=Attempt.Reason.SUBMIT if number == 1 else Attempt.Reason.AUTO,
            created_by=operator, state=task.state, nonce="a1b2c3d4e5f6a7b8", timestamp=1732800000, **fields,
        )  # fmt: skip

    finished = task(State.SUCCEEDED, result=Result.FINISHED, vendor_task_id="1500030200-tc", latest_request_id="r-1",
                    result_status="FINISH", result_checked_at=now, result_checks=CHECKS_SHOWN + 3,
                    screenshot_count=2)  # fmt: skip
    attempt(
        finished,
        code=0,
        message="Request successful.",
        request_id="r-1",
        vendor_task_id="1500030200-tc",
        latency_ms=120,
        http_status=200,
        response_body='{"Code": 0, "Message": "Request successful."}',
    )
    for position, offset in ((1, 1500), (2, None)):
        Screenshot.objects.create(task=finished, position=position, url=f"https://example.com/{position}.jpg",
                                  offset_ms=offset, source="poll")  # fmt: skip
    ResultCheck.objects.create(task=finished, source="poll", status="PROCESSING", code=0, request_id="r-2",
                               message="processing", response_body='{"Code": 0}')  # fmt: skip
    ResultCheck.objects.create(task=finished, source="ask", asked_by=operator, transport_error="read_timeout",
                               transport_detail="No answer within 2 s.")  # fmt: skip
    ResultCheck.objects.create(task=finished, source="ask", status="FINISH", code=0)
    ResultCheck.objects.create(task=finished, source="callback", status="FINISH", message="ok")

    huawei = task(State.SUCCEEDED, vendor="Huawei", result=Result.FINISHED, vendor_task_id="hw-1",
                  screenshot_count=1, result_checked_at=now, result_checks=1)  # fmt: skip
    Screenshot.objects.create(task=huawei, position=1, file_name="record/room1/1.jpg", offset_ms=5000, source="poll")

    failed = task(State.FAILED, code=41003, latest_message="File not exist.", latest_request_id="r-3",
                  retry_note="No automatic retry: Code 41003 is permanent; fix the input first.")  # fmt: skip
    attempt(failed, code=41003, message="File not exist.", request_id="r-3", latency_ms=80, http_status=200)
    task(State.FAILED, code=1000, vendor="Huawei", retry_note="No automatic retry: Code 1000 is left to an operator.")
    unknown_code = task(State.FAILED, code=777777, latest_message="Strange.")  # not in the catalogue
    attempt(unknown_code, code=777777, message="Strange.")

    unknown = task(State.UNKNOWN, ago=timedelta(days=3), attempt_count=2, resubmitted_from=failed,
                   latest_message="No answer from 127.0.0.1:8001 within 2 s.", next_retry_at=now + timedelta(minutes=1),
                   retry_note="Automatic retry 3 of 5 planned.")  # fmt: skip
    attempt(unknown, transport_error="abandoned", may_have_reached=True,
            transport_detail="No outcome was recorded: the process stopped.")  # fmt: skip
    attempt(unknown, 2, transport_error="read_timeout", may_have_reached=True,
            transport_detail="No answer from 127.0.0.1:8001 within 2 s.")  # fmt: skip
    task(State.UNKNOWN, retry_note="No automatic retry: 5 attempts made, the most allowed.", attempt_count=5)
    abandoned = task(State.UNKNOWN)
    attempt(abandoned, transport_error="abandoned", may_have_reached=True, transport_detail="No outcome.")
    not_sent = task(State.UNKNOWN, latest_message="ZEGO's limit is taken by other work: nothing was sent.")
    attempt(not_sent, transport_error="not_sent_busy", may_have_reached=False, transport_detail="Busy.")
    sending = task(State.SENDING)
    attempt(sending)

    waiting = task(
        State.SUCCEEDED, result=Result.WAITING, vendor_task_id="w-1", next_check_at=now - timedelta(minutes=2)
    )
    stuck = task(State.SUCCEEDED, result=Result.PROCESSING, vendor_task_id="s-1", ago=timedelta(hours=2))
    provider_failed = task(State.SUCCEEDED, result=Result.FAILED, vendor_task_id="f-1", result_status="FAIL",
                           result_message="source file not found")  # fmt: skip
    unfollowed = task(State.SUCCEEDED, vendor_task_id="u-1")

    template = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="", definition=10, time_points=(1, 2)
    )
    running = batches.batch_create(user=operator, template=template, file_ids=["11", "12"])
    finished_batch = batches.batch_create(
        user=operator,
        template=ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="", interval=5),
        file_ids=["/a.mp4"],
    )
    Batch.objects.filter(pk=finished_batch.pk).update(finished_at=now)
    retry = batches.bulk_retry_create(user=operator, filters={"state": State.FAILED}, filter_text="state=failed")
    for reason, status in ((RefusedCallback.Reason.BAD_SIGNATURE, 401), (RefusedCallback.Reason.UNKNOWN_TASK, 200)):
        RefusedCallback.objects.create(
            reason=reason, message="Refused.", http_status=status, remote_address="10.0.0.1", vendor="hw",
            zego_task_id="1500030200", body_excerpt='{"task_id": "1500030200"}',
        )  # fmt: skip
    audit_record(action=AuditEntry.Action.SIGNIN_FAILED, actor_name="nemo", summary="Sign-in failed for 'nemo'.")
    made = locals()
    names = ("finished", "huawei", "failed", "unknown_code", "unknown", "abandoned", "sending", "waiting", "stuck",
             "provider_failed", "unfollowed", "running", "finished_batch", "retry")  # fmt: skip
    return {name: made[name].pk for name in names}


def _visit(client, page: Page, ids: dict[str, int]):
    if page.who == "operator":
        client.force_login(User.objects.get(username="olga"))
    elif page.who == "viewer":
        client.force_login(_user("victor", group="viewer"))
    elif page.who == "norole":
        client.force_login(_user("nemo"))
    url = page.url.format(**ids)
    for _ in range(page.times):
        if page.method == "post":
            response = client.post(url, page.data, follow=True, **ZH)
        else:
            response = client.get(url, follow=True, **ZH)
    return response


@pytest.mark.usefixtures("superuser")
@pytest.mark.parametrize("shown", PAGES, ids=[p.name for p in PAGES])
def test_no_english_is_left_on_a_page_in_chinese(client, console, settings, shown: Page) -> None:
    settings.AXES_FAILURE_LIMIT = 2  # so that the second wrong password shows the lockout page
    for name, value in shown.settings.items():
        setattr(settings, name, value)
    response = _visit(client, shown, console)

    html = response.content.decode()
    assert response.status_code == shown.status
    assert re.search(r"[\u4e00-\u9fff]", html), "no Chinese at all"
    assert english_left(html) == []


@pytest.mark.parametrize("shown", EMPTY_PAGES, ids=[p.name for p in EMPTY_PAGES])
def test_no_english_is_left_on_an_empty_console_in_chinese(client, operator, shown: Page) -> None:
    html = _visit(client, shown, {}).content.decode()
    assert re.search(r"[\u4e00-\u9fff]", html) and english_left(html) == []


def test_no_english_is_left_on_the_500_page_in_chinese() -> None:
    request = RequestFactory().get("/")
    request.request_id = "abc123def456"
    with translation.override("zh-hans"):
        html = server_error(request).content.decode()
    assert "abc123def456" in html and 'lang="zh-hans"' in html and english_left(html) == []


# --- the catalogue --------------------------------------------------------------------------------------------


def _run(*command: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env={**os.environ, "LC_ALL": "C", **env}, capture_output=True, text=True, timeout=300
    )


def test_every_entry_of_the_catalogue_is_translated_with_its_placeholders() -> None:
    run = _run("msgfmt", "--check", "--statistics", "-o", os.devnull, str(CATALOGUE / "django.po"))

    assert run.returncode == 0, run.stderr  # --check: the same placeholders in each translation
    assert "fuzzy" not in run.stderr and "untranslated" not in run.stderr, run.stderr


def test_the_committed_mo_is_the_po_compiled(tmp_path) -> None:
    fresh = tmp_path / "django.mo"
    assert _run("msgfmt", "-o", str(fresh), str(CATALOGUE / "django.po")).returncode == 0

    def messages(path: Path) -> dict:
        with path.open("rb") as mo:
            return gettext.GNUTranslations(mo)._catalog

    assert messages(CATALOGUE / "django.mo") == messages(fresh), "django.mo is stale: run make messages"


def test_the_catalogue_holds_exactly_the_strings_marked_in_the_code(tmp_path) -> None:
    # makemessages over a copy of the sources, so that the committed catalogue is left as it is.
    for name in ("dashboard", "templates", "thumbs_admin", "zego_simulator"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", tmp_path)
    (tmp_path / "locale").mkdir()
    made = _run(
        sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-location",
        cwd=tmp_path, DJANGO_DEBUG="on", THUMBS_ENV_FILE="",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    fresh = str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")

    missing = _run("msgcmp", str(CATALOGUE / "django.po"), fresh)
    stale = _run("msgcmp", "--use-untranslated", fresh, str(CATALOGUE / "django.po"))

    assert missing.returncode == 0, "marked but without a translation (make messages): " + _named(missing.stderr)
    assert stale.returncode == 0, "no longer in the code (make messages): " + _named(stale.stderr)


def _named(report: str) -> str:
    """msgcmp's report with the message each complaint points at (it gives only a file and a line)."""
    named = []
    for path, line in re.findall(r"^(\S+\.po):(\d+):", report, re.MULTILINE):
        lines = Path(path).read_text().splitlines()
        start = next(i for i in range(int(line) - 1, -1, -1) if lines[i].startswith("msgid "))
        named.append(" ".join(lines[start : int(line) - 1] or lines[start : start + 1]))
    return "; ".join(named) or report


# --- the language, chosen and switched ----------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["zh-CN,zh;q=0.9,en;q=0.8", "zh", "zh-Hans", "zh-SG"])
def test_a_chinese_browser_gets_the_console_in_chinese(operator_client, accept: str) -> None:
    response = operator_client.get("/", HTTP_ACCEPT_LANGUAGE=accept)

    assert response["Content-Language"] == "zh-hans"
    assert "CDN 录制文件截图" in response.content.decode()


@pytest.mark.parametrize("accept", ["en-US,en;q=0.9", "fr-FR,fr;q=0.9", "", None])
def test_english_stays_the_default(operator_client, accept: str | None) -> None:
    headers = {} if accept is None else {"HTTP_ACCEPT_LANGUAGE": accept}
    response = operator_client.get("/", **headers)

    assert response["Content-Language"] == "en"
    assert "Screenshots of CDN recordings" in response.content.decode()


def test_the_switch_beats_the_browser_and_works_before_signing_in(client, operator) -> None:
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"}, **EN)

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "<h1>登录</h1>" in client.get("/login/", **EN).content.decode()
    client.force_login(operator)
    assert "CDN 录制文件截图" in client.get("/", **EN).content.decode()

    client.post("/i18n/setlang/", {"language": "en", "next": "/"}, **ZH)
    assert "Screenshots of CDN recordings" in client.get("/", **ZH).content.decode()


def test_the_switch_goes_back_only_to_this_site_and_knows_only_our_languages(client) -> None:
    away = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "https://example.com/"})
    unknown = client.post("/i18n/setlang/", {"language": "xx", "next": "/login/"})

    assert away.status_code == 302 and away["Location"] == "/"
    assert unknown.status_code == 302 and client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_form_errors_are_in_the_readers_language(operator_client) -> None:
    html = operator_client.post(
        "/batches/new/time-points/", {"vendor": "Tencent", "file_ids": "12a", "time_points": "abc"}, **ZH
    ).content.decode()

    assert "“abc”不是秒数。" in html
    assert "腾讯云的文件 ID 只含数字，例如 1397757897438985100。" in html  # the line's problem
    assert "这些行都无法发送：见下方列表。" in html
    with translation.override("zh-hans"):
        form = TimePointsForm(data={"vendor": "Huawei", "time_points": "1.5"})
        assert form.errors == {"file_id": ["这个字段是必填项。"], "time_points": ["1.5：华为云只接受整数秒。"]}
    with translation.override("en"):
        form = BATCH_FORMS["interval"](data={"vendor": "Huawei", "interval": "0"})
        assert form.errors["interval"] == ["Interval must be at least 1 second."]


def test_a_return_code_meaning_reads_in_the_readers_language(operator, operator_client) -> None:
    with translation.override("zh-hans"):
        info = lookup(MEDIA_THUMBNAILS, 41003)
        assert (str(info.meaning), str(info.action)) == ("文件不存在。", "请确认文件格式和文件 ID，然后重新提交。")
        assert str(info.retry.label) == "先修正：直接重试会以同样方式失败"
        # A failure without a code: its recorded detail stays English, its kind reads in the reader's language.
        assert str(FailureKind.NOT_SENT_BUSY.label) == "未发送：共享限速没有空闲的发送时机"
        assert len({str(kind.label) for kind in FailureKind}) == len(FailureKind)
        assert (
            str(lookup(MEDIA_THUMBNAILS, 5555).meaning)
            == "未知返回码 5555：不在 thumbs 的 MediaThumbnails 返回码目录中。"
        )
    with translation.override("en"):
        assert str(lookup(MEDIA_THUMBNAILS, 41003).meaning) == "File does not exist."
    Task.objects.create(
        vendor="Tencent", mode=Mode.TIME_POINTS, file_id="1", created_by=operator, state=State.FAILED, latest_code=41003
    )

    # The overview is cached once for every reader: each still gets their own language.
    assert "</a> 文件不存在。" in operator_client.get("/", **ZH).content.decode()
    assert "</a> File does not exist." in operator_client.get("/", **EN).content.decode()


def test_the_simulator_banner_is_translated() -> None:
    context = {"simulator_mode": True, "zego_api_url": "http://127.0.0.1:8001/"}
    with translation.override("zh-hans"):
        html = render_to_string("dashboard/_simulator_banner.html", context)
    assert "<strong>模拟器模式。</strong>请求发往 http://127.0.0.1:8001/ 上的内置 ZEGO 模拟器" in html


def test_records_stay_in_english_whatever_the_language_of_the_request(operator_client) -> None:
    # What is written down (an audit entry, a bulk retry's reasons, the CSV export) reads the same for everyone.
    operator_client.post(
        "/tasks/new/time-points/",
        {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1"},
        **ZH,
    )
    operator_client.post("/tasks/new/time-points/", {"vendor": "Tencent", "file_id": "999041003",
                                                     "definition": "10", "time_points": "1"}, **ZH)  # fmt: skip
    dry_run = operator_client.get("/tasks/retry-matching/", {"include_permanent": "on"}, **ZH).content.decode()
    operator_client.post("/tasks/retry-matching/", {"filter": "", "include_permanent": "on"}, **ZH)
    export = b"".join(operator_client.get("/tasks/export.csv", **ZH).streaming_content).decode()

    assert "<strong>1</strong> 已成功：无需重试" in dry_run
    assert Batch.objects.get(kind=Batch.Kind.RETRY).parameters["excluded"] == {"succeeded: nothing to retry": 1}
    submitted = AuditEntry.objects.filter(action=AuditEntry.Action.TASK_SUBMIT).order_by("id").first()
    assert submitted.summary.startswith("Task #") and "Tencent time points, File ID" in submitted.summary
    assert "Accepted by ZEGO" in export and "File does not exist." in export and "文件" not in export


# --- ui's pages: the header's switch, times, retry plans and failures --------------------------------------


def test_the_header_switch_comes_back_to_the_same_page_and_names_each_language_in_itself(client, operator) -> None:
    client.force_login(operator)
    html = client.get("/tasks/?vendor=Huawei&state=failed", **ZH).content.decode()

    assert 'action="/i18n/setlang/"' in html and 'name="next" value="/tasks/?vendor=Huawei&amp;state=failed"' in html
    assert '<button type="submit" name="language" value="en" lang="en">English</button>' in html
    assert 'value="zh-hans" lang="zh-Hans" aria-current="true">简体中文</button>' in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/tasks/?vendor=Huawei&state=failed"}, **ZH)
    assert response["Location"] == "/tasks/?vendor=Huawei&state=failed"
    assert "<h1>History</h1>" in client.get(response["Location"], **ZH).content.decode()


def test_the_switch_is_on_the_sign_in_page_and_a_page_shown_after_a_post_comes_back_to_a_page(
    client, operator, console
) -> None:
    assert 'name="next" value="/login/"' in client.get("/login/", **ZH).content.decode()
    client.force_login(operator)

    confirm = client.post(f"/tasks/{console['failed']}/retry/", {"from": "detail"}, **ZH).content.decode()

    assert "重试任务 #" in confirm and f'name="next" value="/tasks/{console["failed"]}/"' in confirm


def test_recent_times_read_in_the_readers_language() -> None:
    now = timezone.now()
    with translation.override("zh-hans"):
        assert [relative(now - timedelta(minutes=3), now), relative(now + timedelta(seconds=20), now)] == [
            "3 分钟前",
            "20 秒后",
        ]
    with translation.override("en"):
        assert relative(now - timedelta(hours=2), now) == "2 h ago"


def _submit(client, file_id: str) -> Task:
    data = {"vendor": "Tencent", "file_id": file_id, "definition": "10", "time_points": "1"}
    client.post("/tasks/new/time-points/", data, **ZH)
    return Task.objects.get(file_id=file_id)


def test_the_retry_plan_is_recorded_in_english_and_shown_in_the_readers_language(operator_client, settings) -> None:
    settings.THUMBS_AUTO_RETRY_MAX_ATTEMPTS = 3
    planned, permanent = _submit(operator_client, THROTTLED_FILE_ID), _submit(operator_client, MISSING_FILE_ID)

    assert planned.retry_note == "Automatic retry 2 of 3 planned."  # the record, whoever sent it
    assert "Code 41003 is permanent" in permanent.retry_note
    zh = operator_client.get(f"/tasks/{planned.pk}/", **ZH).content.decode()
    assert '<p class="retry-plan">已安排第 2 次自动重试（共 3 次）。 预定于 <time' in zh
    assert (
        "Automatic retry 2 of 3 planned. Due <time"
        in operator_client.get(f"/tasks/{planned.pk}/", **EN).content.decode()
    )
    history = operator_client.get("/tasks/", **ZH).content.decode()
    assert 'title="不会自动重试：返回码 41003 是永久性的，请先修正输入。"' in history
    assert 'title="已安排第 2 次自动重试（共 3 次）。"' in history


def test_a_failed_call_says_what_went_wrong_in_the_readers_language_beside_its_english_detail(
    operator_client,
) -> None:
    task = _submit(operator_client, HTTP_500_FILE_ID)
    attempt = task.attempts.get()

    html = operator_client.get(f"/tasks/{task.pk}/", **ZH).content.decode()

    assert attempt.transport_error == FailureKind.HTTP_ERROR and attempt.transport_detail
    assert (
        f'<strong>收到 HTTP 错误，而不是 ZEGO 的回复</strong>: <span lang="en">{attempt.transport_detail}</span>'
        in html
    )
    assert "ZEGO 可能已经收到了这个请求。" in html
