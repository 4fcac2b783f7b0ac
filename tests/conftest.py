"""Shared fixtures: a few personas, and the built-in ZEGO simulator on a free port (a real socket)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User

from dashboard.simulator import ZegoSimulator
from dashboard.zego import client as zego_client

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
def _zego_at_simulator(settings, simulator):
    settings.ZEGO_API_URL = simulator.url
    simulator.reset_scripts()
    zego_client._limiters.clear()


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
