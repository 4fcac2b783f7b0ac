"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live_server.

`playwright install` cannot download here, and pytest-playwright has no option for a browser path, so the
launch fixture is overridden to use /usr/bin/chromium. A missing Chromium fails the run: CI must never
skip the browser tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from playwright.sync_api import BrowserContext, ConsoleMessage, Page

# Playwright's sync API runs an event loop in the main thread; Django's ORM then refuses to run in
# live_server/django_db tests ("SynchronousOnlyOperation ... async context") without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
# Without --disable-background-networking and friends Chromium floods the closed network with refused
# connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# How long an expectation waits for the page (Playwright's default is 5 s; the simulator answers in ms).
EXPECT_TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}, and it is missing. Install it with "
            "`sudo apt-get update && sudo apt-get install -y chromium` (make test does this when it can). "
            "Browser tests are never skipped.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, live_server) -> dict:
    # page.goto("/tasks/") then resolves against the live server.
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture(autouse=True)
def _screenshots_from_the_test_simulator(settings, simulator) -> None:
    """The settings derive where screenshots load from (CSP img-src) and the Huawei bucket's address from
    ZEGO_SIMULATOR_PORT; the tests' simulator listens on a free port instead: the same rule, for its URL."""
    from thumbs_admin.settings import screenshot_img_src

    settings.SECURE_CSP = {**settings.SECURE_CSP, "img-src": screenshot_img_src(simulator.url)}
    settings.THUMBS_HUAWEI_OBS_BASE_URL = f"{simulator.url}obs/"


@pytest.fixture
def csp_violations() -> Iterator[list[str]]:
    """Every console message about the Content Security Policy, from every page of every context the test
    opens; a test that leaves any fails at teardown (the app runs a strict CSP with htmx)."""
    seen: list[str] = []
    yield seen
    if seen:
        pytest.fail("Content Security Policy violations in the browser console:\n" + "\n".join(seen))


@pytest.fixture
def new_context(new_context: Callable[..., BrowserContext], csp_violations: list[str]):
    """pytest-playwright's factory (also behind `context` and `page`), with a CSP watch on each context."""

    def _new_context(**kwargs) -> BrowserContext:
        context = new_context(**kwargs)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                csp_violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

        context.on("console", on_console)
        return context

    return _new_context


@pytest.fixture
def sign_in(live_server) -> Callable[[BrowserContext | Page, AbstractBaseUser], None]:
    """sign_in(page_or_context, user): a session made by the test client, handed to the browser as its
    cookie (quicker than the login form, which test_console.py drives once on its own)."""

    def _sign_in(target: BrowserContext | Page, user: AbstractBaseUser) -> None:
        context = target.context if isinstance(target, Page) else target
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url, "httpOnly": True}])

    return _sign_in
