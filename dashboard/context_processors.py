from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from .models import Result, State, Task


def console(request: HttpRequest) -> dict[str, object]:
    return {
        "simulator_mode": settings.ZEGO_SIMULATOR,
        "zego_api_url": settings.ZEGO_API_URL,
        # Templates compare with these enums, never with string literals.
        "State": State,
        "Result": Result,
        "Mode": Task.Mode,
        "Vendor": Task.Vendor,
    }
