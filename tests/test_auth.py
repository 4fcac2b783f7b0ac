"""Password guessing is throttled per account and per address (django-axes), and an administrator unlocks."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.test import Client, RequestFactory

from dashboard.auth import client_ip_address
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Sign-in locked for now"
WRONG = "enter a correct username and password"


def sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1", **extra: str):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


@pytest.fixture
def limit_3(settings):
    # Each wrong password costs a real hash (about 0.3 s here): the configured limit is tested once, below.
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every username that ModelBackend, the backend that hashes passwords, was asked about."""
    seen: list[str] = []
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        seen.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return seen


def test_the_right_password_is_refused_after_the_configured_number_of_wrong_ones(client, operator, caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.auth")
    limit = django_settings.AXES_FAILURE_LIMIT
    assert limit == 10  # the default of THUMBS_LOGIN_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = sign_in(client, operator.username, "not-the-password")
        assert response.status_code == 200 and WRONG in response.content.decode()
    assert sign_in(client, operator.username, "still-not-it").status_code == 429

    response = sign_in(client, operator.username, PASSWORD)

    html = response.content.decode()
    assert response.status_code == 429 and not signed_in(client)
    assert LOCKED in html and "Try again in 15 minutes" in html and "administrator" in html
    locks = [r.getMessage() for r in caplog.records if r.name == "dashboard.auth"]
    assert locks and all("login locked out: account='olga' address=127.0.0.1" in m for m in locks)


def test_a_few_wrong_passwords_do_not_stop_the_right_one(client, operator, limit_3):
    for _ in range(limit_3 - 1):
        sign_in(client, operator.username, "typo")
    response = sign_in(client, operator.username, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_one_address_trying_many_accounts_is_locked_for_every_account(client, operator, limit_3):
    for n in range(limit_3):
        sign_in(client, f"guess{n}", "password1", address="203.0.113.7")

    response = sign_in(client, operator.username, PASSWORD, address="203.0.113.7")
    assert response.status_code == 429 and LOCKED in response.content.decode() and not signed_in(client)
    # The account itself is not locked: from elsewhere, its owner signs in.
    assert sign_in(Client(), operator.username, PASSWORD, address="198.51.100.9").status_code == 302


def test_one_account_attacked_from_many_addresses_is_locked_from_every_address(client, operator, limit_3):
    for n in range(limit_3):
        sign_in(Client(), operator.username, "password1", address=f"203.0.113.{n + 1}")

    response = sign_in(client, operator.username, PASSWORD, address="198.51.100.9")
    assert response.status_code == 429 and not signed_in(client)


def test_a_locked_sign_in_costs_no_password_check(client, operator, limit_3, password_checks):
    for _ in range(limit_3):
        sign_in(client, operator.username, "wrong")
    assert len(password_checks) == limit_3  # each failure up to the limit was a real check

    assert sign_in(client, operator.username, PASSWORD).status_code == 429
    assert sign_in(client, "someone-else", "anything").status_code == 429
    assert len(password_checks) == limit_3


def test_a_superuser_unlocks_an_account_in_the_admin(client, operator, superuser, limit_3):
    for _ in range(limit_3):
        sign_in(Client(), operator.username, "wrong")
    admin = Client()
    admin.force_login(superuser)
    assert "Access attempts" in admin.get("/admin/").content.decode()
    listing = admin.get("/admin/axes/accessattempt/", {"q": operator.username}).content.decode()
    assert "Locked Out" in listing
    ids = list(AccessAttempt.objects.filter(username=operator.username).values_list("pk", flat=True))

    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )

    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert sign_in(client, operator.username, PASSWORD).status_code == 302 and signed_in(client)


def test_axes_reset_username_unlocks_an_account(client, operator, limit_3):
    for _ in range(limit_3):
        sign_in(Client(), operator.username, "wrong")
    assert sign_in(client, operator.username, PASSWORD).status_code == 429

    call_command("axes_reset_username", operator.username, stdout=None)

    assert sign_in(client, operator.username, PASSWORD).status_code == 302 and signed_in(client)


def test_a_forged_user_name_cannot_forge_a_log_line(client, limit_3, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(limit_3):
        sign_in(client, "x\n2026-01-01 WARNING dashboard FORGED", "wrong")
    lines = "\n".join(r.getMessage() for r in caplog.records if r.name in {"dashboard.auth", "axes.handlers.database"})
    assert "login locked out: account='x\\n2026-01-01 WARNING dashboard FORGED'" in lines
    assert "\n2026-01-01" not in lines


@pytest.mark.parametrize(
    ("behind_proxy", "meta", "expected"),
    [
        (False, {"REMOTE_ADDR": "203.0.113.7"}, "203.0.113.7"),
        # Without the proxy, the header is the client's own word: ignored.
        (False, {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}, "203.0.113.7"),
        # Behind it, the entry the proxy appended, not the ones the client sent before it.
        (True, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.1"}, "198.51.100.1"),
        (True, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": " 2001:DB8::1 "}, "2001:db8::1"),
        (True, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-address"}, "127.0.0.1"),
        (True, {"REMOTE_ADDR": "127.0.0.1"}, "127.0.0.1"),
        (False, {"REMOTE_ADDR": ""}, None),
    ],
)
def test_the_client_address_comes_from_the_proxy_only_behind_it(settings, behind_proxy, meta, expected):
    settings.CLIENT_IP_FROM_X_FORWARDED_FOR = behind_proxy
    request = RequestFactory().post("/login/", **meta)
    assert client_ip_address(request) == expected


def test_behind_the_proxy_forged_forwarded_addresses_do_not_dodge_the_address_lock(client, operator, settings, limit_3):
    settings.CLIENT_IP_FROM_X_FORWARDED_FOR = True
    for n in range(limit_3):
        sign_in(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.7")

    locked = sign_in(client, operator.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.7")
    other = sign_in(Client(), operator.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert locked.status_code == 429 and other.status_code == 302
