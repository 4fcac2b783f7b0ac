"""System checks (``manage.py check``, and every start of runserver and the commands)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def callback_secret(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.ZEGO_CALLBACK_SECRET:
        return []
    return [
        Warning(
            "ZEGO_CALLBACK_SECRET is not set: POST /zego/callback refuses every snapshot callback until it is.",
            hint="Set it to the CallbackSecret ZEGO support gave with the callback URL (see .env.example), "
            "or leave the callback unconfigured and rely on polling.",
            id="thumbs.callbacks.W001",
        )
    ]
