"""Screenshots as the pages show them: an image with its time point (Tencent), or an OBS object path that
becomes a link when the bucket's base URL is configured (Huawei).

URLs and paths come from the provider (DescribeMediaTask or a callback): only an http(s) URL ever becomes
an image or a link; anything else is shown as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import Screenshot, Task

# The home page's strip of the latest screenshots.
LATEST_COUNT = 6
# The task page lists this many result checks at most (the newest); polling alone makes about fifteen.
CHECKS_SHOWN = 100


@dataclass(frozen=True)
class ScreenshotItem:
    shot: Screenshot
    image: str  # an http(s) URL to show as an image, or ""
    link: str  # where "open" goes: the image, or the Huawei object under the configured base URL, or ""
    seconds: str  # the time point in seconds ("2.5"), or "" when unknown

    @property
    def task_id(self) -> int:
        return self.shot.task_id

    @property
    def name(self) -> str:
        """What to copy: the OBS object path, or the URL."""
        return self.shot.file_name or self.shot.url

    @property
    def caption(self) -> str:
        if self.seconds:
            return _("%(seconds)s s") % {"seconds": self.seconds}
        return _("No. %(position)s") % {"position": self.shot.position}


def screenshot_items(task: Task, shots: Iterable[Screenshot]) -> list[ScreenshotItem]:
    """``task``'s screenshots for its page, in their order."""
    return [_item(shot, task) for shot in shots]


def latest_screenshots(count: int = LATEST_COUNT) -> list[ScreenshotItem]:
    """The newest screenshots that can be shown as images, newest first, each knowing its task."""
    # Newest first by id: the primary key's index, read backwards until enough match.
    web = Q(url__startswith="https://") | Q(url__startswith="http://")
    shots = Screenshot.objects.filter(web).select_related("task").order_by("-id")[:count]
    return [item for item in (_item(shot, shot.task) for shot in shots) if item.image]


def _item(shot: Screenshot, task: Task) -> ScreenshotItem:
    image = shot.url if _is_web_url(shot.url) else ""
    link = image or _obs_link(shot.file_name)
    return ScreenshotItem(shot=shot, image=image, link=link, seconds=_seconds(shot, task))


def _seconds(shot: Screenshot, task: Task) -> str:
    """The provider's offset when it gave one (the callback does); else the task's n-th time point, since
    the provider lists time-point screenshots in the order they were asked for."""
    if shot.offset_ms is not None:
        return _plain(Decimal(shot.offset_ms) / 1000)
    if task.mode == Task.Mode.TIME_POINTS and 1 <= shot.position <= len(task.time_points):
        return _plain(Decimal(task.time_points[shot.position - 1]))
    return ""


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _obs_link(file_name: str) -> str:
    base = settings.THUMBS_HUAWEI_OBS_BASE_URL
    if not (base and file_name):
        return ""
    return base + quote(file_name.lstrip("/"), safe="/")


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)
