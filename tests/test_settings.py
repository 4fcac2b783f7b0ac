"""Start-up configuration, checked the way an operator meets it: by running manage.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = {
    "ZEGO_APP_ID": "1234567890",
    "ZEGO_SERVER_SECRET": "9193cc662a4c0ec135ec71fb57194b38",
    "ZEGO_API_URL": "https://rtc-api.zego.im/",
}
PRODUCTION = {
    "DJANGO_DEBUG": "off",
    "DJANGO_SECRET_KEY": "x7#k2" * 12,
    "DJANGO_ALLOWED_HOSTS": "thumbs.example.com",
    "ZEGO_CALLBACK_SECRET": "callback-secret-from-zego",
    **REAL,
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ZEGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "THUMBS_ENV_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def setting(name: str, **env: str) -> str:
    result = manage("shell", "-c", f"from django.conf import settings; print(settings.{name})", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "names", "expects"),
    [
        ({"ZEGO_APP_ID": "12ab"}, "ZEGO_APP_ID", "uint32"),
        ({"ZEGO_APP_ID": "4294967296"}, "ZEGO_APP_ID", "uint32"),
        ({"ZEGO_TIMEOUT_SECONDS": "soon"}, "ZEGO_TIMEOUT_SECONDS", "number of seconds"),
        ({"ZEGO_TIMEOUT_SECONDS": "0"}, "ZEGO_TIMEOUT_SECONDS", "above 0"),
        ({"ZEGO_API_URL": "rtc-api.zego.im"}, "ZEGO_API_URL", "http(s) URL"),
        ({"ZEGO_API_URL": "https://rtc-api.zego.im:99999/"}, "ZEGO_API_URL", "port"),
        ({"ZEGO_SERVER_SECRET": "short"}, "ZEGO_SERVER_SECRET", "32 hexadecimal"),
        ({"ZEGO_CALLBACK_SECRET": "two words"}, "ZEGO_CALLBACK_SECRET", "printable ASCII"),
        ({"ZEGO_CALLBACK_SECRET": "x" * 257}, "ZEGO_CALLBACK_SECRET", "at most 256"),
        ({"ZEGO_RATE_LIMIT_PER_SECOND": "50"}, "ZEGO_RATE_LIMIT_PER_SECOND", "1 to 20"),
        ({"ZEGO_PACING_MAX_WAIT_SECONDS": "60"}, "ZEGO_PACING_MAX_WAIT_SECONDS", "at most 30"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG", "on/off"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL", "expected a URL"),
        ({"ZEGO_API_URL": "http://[::1/"}, "ZEGO_API_URL", "http(s) URL"),
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL", "expected a URL"),
        ({"THUMBS_LOG_LEVEL": "bogus"}, "THUMBS_LOG_LEVEL", "DEBUG, INFO, WARNING"),
        ({"THUMBS_LOGIN_FAILURE_LIMIT": "0"}, "THUMBS_LOGIN_FAILURE_LIMIT", "from 1 to 1000"),
        ({"THUMBS_LOGIN_LOCKOUT_MINUTES": "soon"}, "THUMBS_LOGIN_LOCKOUT_MINUTES", "number of minutes"),
        ({"THUMBS_RESULT_STUCK_AFTER_SECONDS": "15m"}, "THUMBS_RESULT_STUCK_AFTER_SECONDS", "from 60 to 259200"),
        ({"THUMBS_RESULT_STUCK_AFTER_SECONDS": "30"}, "THUMBS_RESULT_STUCK_AFTER_SECONDS", "from 60 to 259200"),
        ({"DATABASE_CONN_MAX_AGE": "forever"}, "DATABASE_CONN_MAX_AGE", "whole number of seconds"),
        ({"DATABASE_CONN_MAX_AGE": "-1"}, "DATABASE_CONN_MAX_AGE", "from 0 to 86400"),
    ],
)
def test_it_stops_on_a_bad_value_naming_the_variable(env, names, expects):
    result = manage("check", **(PRODUCTION | env))
    assert result.returncode != 0
    assert "configuration error" in result.stderr and names in result.stderr and expects in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_database_url_with_a_wrong_scheme_does_not_print_its_password():
    result = manage("check", **(PRODUCTION | {"DATABASE_URL": "postgress://thumbs:hunter2@db/thumbs"}))
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr


def test_it_stops_when_the_named_env_file_does_not_exist(tmp_path):
    missing = tmp_path / "thumbs.env"
    result = manage("check", **(PRODUCTION | {"THUMBS_ENV_FILE": str(missing)}))
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"thumbs: configuration error: THUMBS_ENV_FILE='{missing}': no such file; "
        "name an existing file, or set it empty to read none."
    )


def test_it_reads_the_named_env_file(tmp_path):
    env_file = tmp_path / "thumbs.env"
    env_file.write_text("THUMBS_LOGIN_FAILURE_LIMIT=4\n")
    assert setting("AXES_FAILURE_LIMIT", **(PRODUCTION | {"THUMBS_ENV_FILE": str(env_file)})) == "4"


def test_the_stuck_threshold_defaults_to_15_minutes_and_can_be_set():
    assert setting("THUMBS_RESULT_STUCK_AFTER_SECONDS", **PRODUCTION) == "900"
    assert (
        setting("THUMBS_RESULT_STUCK_AFTER_SECONDS", **(PRODUCTION | {"THUMBS_RESULT_STUCK_AFTER_SECONDS": "3600"}))
        == "3600"
    )


def test_it_never_falls_into_simulator_mode_without_debug():
    result = manage("check", DJANGO_DEBUG="off", DJANGO_SECRET_KEY="k" * 50, DJANGO_ALLOWED_HOSTS="x")
    assert result.returncode != 0 and "ZEGO_SIMULATOR=on" in result.stderr


def test_it_names_the_missing_zego_variable():
    env = PRODUCTION | {"ZEGO_SERVER_SECRET": ""}
    result = manage("check", **env)
    assert result.returncode != 0 and "ZEGO_SERVER_SECRET not set" in result.stderr


def test_it_runs_the_simulator_in_debug_without_credentials():
    assert setting("ZEGO_SIMULATOR", DJANGO_DEBUG="on") == "True"
    assert setting("ZEGO_API_URL", DJANGO_DEBUG="on", ZEGO_SIMULATOR_PORT="8123") == "http://127.0.0.1:8123/"


def test_it_uses_real_zego_when_credentials_are_given():
    assert setting("ZEGO_SIMULATOR", **PRODUCTION) == "False"
    assert setting("ZEGO_API_URL", **PRODUCTION) == "https://rtc-api.zego.im/"


def test_a_bad_callback_secret_is_not_echoed():
    result = manage("check", **(PRODUCTION | {"ZEGO_CALLBACK_SECRET": "hunter2 ünïcode"}))
    assert result.returncode != 0 and "ZEGO_CALLBACK_SECRET" in result.stderr and "hunter2" not in result.stderr


def test_check_warns_that_callbacks_are_refused_without_a_callback_secret():
    without = manage("check", **(PRODUCTION | {"ZEGO_CALLBACK_SECRET": ""}))
    assert without.returncode == 0
    assert "ZEGO_CALLBACK_SECRET is not set: POST /zego/callback refuses every snapshot callback" in without.stderr
    assert "ZEGO_CALLBACK_SECRET" not in manage("check", **PRODUCTION).stderr
    # Simulator mode has a default, shared with the simulator.
    assert setting("ZEGO_CALLBACK_SECRET", DJANGO_DEBUG="on") == setting("SIMULATOR_CALLBACK_SECRET", DJANGO_DEBUG="on")


def test_database_connections_are_kept_between_requests_unless_told_otherwise():
    assert setting("DATABASES['default']['CONN_MAX_AGE']", **PRODUCTION) == "600"
    assert setting("DATABASES['default']['CONN_HEALTH_CHECKS']", **PRODUCTION) == "True"
    assert setting("DATABASES['default']['CONN_MAX_AGE']", **PRODUCTION, DATABASE_CONN_MAX_AGE="0") == "0"


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_the_health_check_answers_over_plain_http_when_the_rest_redirects_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # production's default (the tests turn it off)
    assert client.get("/login/").status_code == 301
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
