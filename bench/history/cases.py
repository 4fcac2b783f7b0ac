"""What is asked of the history page, and the answer each question must get (plain reference queries)."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

from django.db.models import Q

from dashboard.models import Attempt, Task
from dashboard.selectors import PAGE_SIZE

from .fill import LEGACY_SHARE, TENCENT_PREFIX

ROW_ID = re.compile(r'<tr id="task-(\d+)">')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


class Getter(Protocol):
    def get(self, url: str) -> tuple[int, str, float]: ...  # status, body, milliseconds


@dataclass
class Case:
    name: str
    label: str
    params: dict[str, str]  # the history page's query string
    admin_params: dict[str, str] | None  # None: not compared with the admin
    expected: list[int]  # ids the history page must list, newest first
    note: str = ""
    admin_expect_id: int | None = None
    results: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "/tasks/" + ("?" + urlencode(self.params) if self.params else "")

    @property
    def admin_url(self) -> str:
        return "/admin/dashboard/task/" + ("?" + urlencode(self.admin_params) if self.admin_params else "")


def page_ids(body: str) -> list[int]:
    return [int(x) for x in ROW_ID.findall(body)]


def reference_search(q: str, limit: int = PAGE_SIZE) -> list[int]:
    """What a search for q must list: exact attempt ids, or File ID prefix; plain queries, no tricks."""
    by_attempt = set(Attempt.objects.filter(Q(request_id=q) | Q(vendor_task_id=q)).values_list("task_id", flat=True))
    by_file = list(Task.objects.filter(file_id__startswith=q).order_by("-id").values_list("id", flat=True)[:limit])
    return sorted(by_attempt | set(by_file), reverse=True)[:limit]


def newest(offset: int = 0) -> list[int]:
    return list(Task.objects.order_by("-id").values_list("id", flat=True)[offset : offset + PAGE_SIZE])


def search(name: str, label: str, q: str, note: str) -> Case:
    count = Task.objects.filter(file_id__startswith=q).count()
    return Case(name, label, {"q": q}, {"q": q}, reference_search(q), note=f"{q!r}: {count:,} tasks{note}")


def build_cases(client: Getter, *, tasks: int, page: int) -> list[Case]:
    mid = tasks // 2 or 1
    vendor, state, code = "Huawei", "failed", 41003
    filtered = Task.objects.filter(vendor=vendor, state=state, latest_code=code).order_by("-id")

    # An earlier attempt's RequestId (not the task's latest): only the attempts table knows it.
    probe = Attempt.objects.filter(task_id__gte=mid).order_by("task_id", "number").first()
    huawei = (
        Task.objects.filter(id__gte=mid, vendor="Huawei", file_id__startswith="/record/").order_by("id").first()
        or Task.objects.filter(vendor="Huawei").order_by("id").first()
    )
    folder, _, name = huawei.file_id.rpartition("/")
    tencent = Task.objects.filter(id__gte=mid, vendor="Tencent").order_by("id").first()

    # The deep page: follow the "Older" links from the first page, as a user (or htmx) would.
    url, pages = "/tasks/", 1
    while pages < page:
        status, body, _ = client.get(url)
        if status != 200:
            raise SystemExit(f"bench: {url} answered {status}")
        found = NEXT.search(body)
        if not found:
            break
        url, pages = "/tasks/" + html.unescape(found.group(1)), pages + 1
    cursor = re.search(r"before=(\d+)", url).group(1) if pages > 1 else None
    deep_offset = (pages - 1) * PAGE_SIZE
    admin_page = max(1, math.ceil((deep_offset + PAGE_SIZE) / 100) if pages < page else page)

    return [
        Case("first_page", "First page", {}, {}, newest()),
        Case(
            "filter",
            f"Filter {vendor} + {state} + {code}",
            {"vendor": vendor, "state": state, "code": str(code)},
            {"vendor__exact": vendor, "state__exact": state, "latest_code": str(code)},
            list(filtered.values_list("id", flat=True)[:PAGE_SIZE]),
        ),
        Case(
            "request_id",
            "Exact RequestId",
            {"q": probe.request_id},
            {"q": probe.request_id},
            [probe.task_id],
            note=f"attempt 1 of task {probe.task_id}",
            admin_expect_id=probe.task_id,
        ),
        search("prefix_handful", "File ID prefix, a handful", f"{folder}/{name[:6]}", ", one stream's month"),
        search("prefix_broad", "File ID prefix, broad", "/record/", ""),
        Case(
            "page_200",
            f"Page {pages} by cursor",
            {"before": cursor} if cursor else {},
            {"p": str(admin_page)} if admin_page > 1 else {},
            newest(deep_offset),
            note=f"history rows {deep_offset + 1}-{deep_offset + PAGE_SIZE}; admin page {admin_page} "
            f"(100 rows a page, rows {(admin_page - 1) * 100 + 1}-{admin_page * 100})",
        ),
        search(
            "prefix_threshold",
            "File ID prefix, just dense",
            tencent.file_id[: len(TENCENT_PREFIX) + 2],
            ", evenly spread",
        ),
        search("prefix_old_dense", "File ID prefix, dense but old", "/vod/", f", all in the oldest {LEGACY_SHARE:.0%}"),
    ]
