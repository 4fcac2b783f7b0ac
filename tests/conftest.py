"""Shared fixtures: a few personas, and the built-in ZEGO simulator on a free port (a real socket)."""

from __future__ import annotations

import importlib
import select
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.utils import timezone, translation

from dashboard import services
from dashboard.models import Attempt, State, Task
from dashboard.zego.pacing import process_pacer
from zego_simulator import ZegoSimulator

PASSWORD = "correct-horse-battery-staple"
_roles_migration = importlib.import_module("dashboard.migrations.0002_roles")


@pytest.fixture(scope="session")
def simulator():
    # slow_seconds is above the tests' client timeout (ZEGO_TIMEOUT_SECONDS=2 in pyproject.toml).
    sim = ZegoSimulator(
        django_settings.SIMULATOR_APP_ID, django_settings.SIMULATOR_SERVER_SECRET, slow_seconds=3, quiet=True
    ).start()
    yield sim
    sim.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()  # the overview is cached for a few seconds: no test sees another's


@pytest.fixture(autouse=True)
def _default_language():
    yield
    translation.deactivate()  # LocaleMiddleware leaves a request's language active in the thread


@pytest.fixture(autouse=True)
def _zego_at_simulator(settings, simulator):
    settings.ZEGO_API_URL = simulator.url
    simulator.reset_scripts()
    process_pacer.reset()


class FakeClock:
    """Seconds that move only when a test says so, or when slept on; starts at the current Unix second
    (the simulator checks timestamps against it). Guards against code that sleeps without progress."""

    def __init__(self, max_sleeps: int = 10_000) -> None:
        self.now = float(int(time.time()))
        self.sleeps: list[float] = []
        self.max_sleeps = max_sleeps

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        assert len(self.sleeps) <= self.max_sleeps, "slept again and again without making progress"
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def _user(username: str, *, group: str | None = None, superuser: bool = False) -> User:
    # The roles come from a data migration, which a transactional test's closing flush empties:
    # make sure they are there (the migration's own code, idempotent).
    _roles_migration.create_roles(django_apps, None)
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator(db) -> User:
    return _user("olga", group="operator")


@pytest.fixture
def viewer(db) -> User:
    return _user("victor", group="viewer")


@pytest.fixture
def superuser(db) -> User:
    return _user("ada", superuser=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def stale_sending_task(operator) -> Task:
    """A task whose sender died mid-call: still "sending", past the time the client could still answer."""
    long_ago = timezone.now() - services.stale_after() - timedelta(seconds=1)
    task = Task.objects.create(
        vendor="Tencent",
        mode=Task.Mode.TIME_POINTS,
        file_id="1397757897438985100",
        definition=10,
        time_points=["1"],
        created_by=operator,
        state=State.SENDING,
        state_changed_at=long_ago,
        attempt_count=1,
    )
    Attempt.objects.create(
        task=task, number=1, reason="submit", created_by=operator, nonce="0" * 16, timestamp=1, started_at=long_ago
    )
    return task


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's next line of output, or "" when it says nothing within timeout seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""
