"""English and Simplified Chinese: chosen from the browser, switched by the user, and nothing left unmarked.

The page check renders every page whose templates are marked for translation, with data enough to show
each part, in zh-hans, and fails on any English word left in what a reader sees (text, titles, alt and
aria labels), outside names of products and protocols and the fixtures' own data. Phase 1 marks the
templates listed in NOT_YET_MARKED's complement: the ones still unmarked are replaced by plain stand-ins
here; phase 2 marks them, adds their pages to PAGES and deletes their stand-ins.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
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
from dashboard.models import AuditEntry, Batch, RefusedCallback, Result, Screenshot, State, Task
from dashboard.services import batches
from dashboard.services.audit import audit_record
from dashboard.zego.codes import lookup
from dashboard.zego.types import MEDIA_THUMBNAILS, FailureKind, Mode, ThumbnailRequest, Vendor
from tests.conftest import _user

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}

# --- the page check ---------------------------------------------------------------------------------------

# Templates of helper "ui" not marked yet (phase 1), replaced by stand-ins that keep what the marked pages
# need from them: the title, the messages, the content and the simulator banner (its own partial, marked).
NOT_YET_MARKED = {
    "base.html": (
        "<!doctype html><html><head><title>{% block title %}{% endblock %}</title></head><body>"
        '{% include "dashboard/_simulator_banner.html" %}<main>'
        "{% if messages %}<ul>{% for m in messages %}<li>{{ m }}</li>{% endfor %}</ul>{% endif %}"
        "{% block content %}{% endblock %}</main></body></html>"
    ),
    "dashboard/_task_table.html": "",
    # The vendor fields as Django renders them: labels, help texts and errors come from the (marked) form.
    "dashboard/task_form.html": (
        "{% partialdef vendor-fields %}{% if form.definition %}{{ form.definition.as_field_group }}{% endif %}"
        "{% if form.time_points %}{{ form.time_points.as_field_group }}{% endif %}"
        "{% if form.interval %}{{ form.interval.as_field_group }}{% endif %}{% endpartialdef %}"
    ),
}

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

SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea", "time"}
SHOWN_ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "data-caption")
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
            self.texts += [values[name] for name in SHOWN_ATTRIBUTES if values.get(name)]
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


def english_left(html: str) -> list[str]:
    """Each visible piece of text that still holds an English word, with the words."""
    parser = _Visible()
    parser.feed(html)
    found = []
    for text in parser.texts:
        # Paths, URLs and e-mail addresses are values, not words.
        kept = " ".join(chunk for chunk in text.split() if "/" not in chunk and "@" not in chunk)
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


# Every page whose templates are marked, with data enough to show each part. Phase 2 adds ui's: the history
# (results, retry notes, the filters' errors), a task's page (attempts, result, screenshots), the task forms
# with errors, the retry confirmation; and base.html's header with the language switch.
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
    Page("audit trail", "/audit/"),
    Page("audit trail, nothing matches", "/audit/?who=nobody"),
    Page("audit trail, bad filter", "/audit/?task=x&since=never"),
    Page("refused callbacks", "/callbacks/"),
    Page("batches", "/batches/"),
    Page("batch, running", "/batches/{running}/"),
    Page("batch, cancelled", "/batches/{running}/cancel/", method="post"),
    Page("batch, finished", "/batches/{finished}/"),
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
EMPTY_PAGES = [Page("home", "/"), Page("audit trail", "/audit/"), Page("refused callbacks", "/callbacks/"),
               Page("batches", "/batches/")]  # fmt: skip


@pytest.fixture
def unmarked_templates_stood_in(settings):
    options = {**django_settings.TEMPLATES[0]["OPTIONS"]}
    options["loaders"] = [
        ("django.template.loaders.locmem.Loader", NOT_YET_MARKED),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    settings.TEMPLATES = [{**django_settings.TEMPLATES[0], "APP_DIRS": False, "OPTIONS": options}]


@pytest.fixture
def console(operator, superuser) -> dict[str, int]:
    """Something on every part of every page: tasks of each state in the last day and week, failure codes,
    a screenshot, batches running, finished and a bulk retry, refused callbacks, audit entries."""
    now = timezone.now()

    def task(state: str, *, vendor: str = "Tencent", code: int | None = None, result: str = "", ago=timedelta()):
        return Task.objects.create(
            vendor=vendor, mode=Mode.TIME_POINTS, file_id="1397757897438985100", definition=10, time_points=["1"],
            created_by=operator, created_at=now - ago, state=state, state_changed_at=now - ago, latest_code=code,
            result=result, attempt_count=1,
        )  # fmt: skip

    done = task(State.SUCCEEDED, result=Result.FINISHED)
    task(State.SUCCEEDED, vendor="Huawei", result=Result.PROCESSING)
    task(State.FAILED, code=41003)
    task(State.FAILED, code=1000, vendor="Huawei")
    task(State.FAILED, code=777777)  # not in the catalogue
    task(State.UNKNOWN, ago=timedelta(days=3))
    Screenshot.objects.create(task=done, position=1, url="https://example.com/1.jpg", offset_ms=1500, source="poll")
    template = ThumbnailRequest(
        vendor=Vendor.TENCENT, mode=Mode.TIME_POINTS, file_id="", definition=10, time_points=(1, 2)
    )
    running = batches.batch_create(user=operator, template=template, file_ids=["11", "12"])
    finished = batches.batch_create(
        user=operator,
        template=ThumbnailRequest(vendor=Vendor.HUAWEI, mode=Mode.INTERVAL, file_id="", interval=5),
        file_ids=["/a.mp4"],
    )
    Batch.objects.filter(pk=finished.pk).update(finished_at=now)
    retry = batches.bulk_retry_create(user=operator, filters={"state": State.FAILED}, filter_text="state=failed")
    for reason, status in ((RefusedCallback.Reason.BAD_SIGNATURE, 401), (RefusedCallback.Reason.UNKNOWN_TASK, 200)):
        RefusedCallback.objects.create(
            reason=reason, message="Refused.", http_status=status, remote_address="10.0.0.1", vendor="hw",
            zego_task_id="1500030200", body_excerpt='{"task_id": "1500030200"}',
        )  # fmt: skip
    audit_record(action=AuditEntry.Action.SIGNIN_FAILED, actor_name="nemo", summary="Sign-in failed for 'nemo'.")
    return {"running": running.pk, "finished": finished.pk, "retry": retry.pk}


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


@pytest.mark.usefixtures("unmarked_templates_stood_in", "superuser")
@pytest.mark.parametrize("shown", PAGES, ids=[p.name for p in PAGES])
def test_no_english_is_left_on_a_marked_page_in_chinese(client, console, settings, shown: Page) -> None:
    settings.AXES_FAILURE_LIMIT = 2  # so that the second wrong password shows the lockout page
    response = _visit(client, shown, console)

    html = response.content.decode()
    assert response.status_code == shown.status
    assert re.search(r"[\u4e00-\u9fff]", html), "no Chinese at all"
    assert english_left(html) == []


@pytest.mark.usefixtures("unmarked_templates_stood_in")
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
