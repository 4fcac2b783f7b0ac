"""Settings for thumbs: every environment variable is read and checked here, and only here.

A bad value stops start-up with ImproperlyConfigured naming the variable and what it expects;
manage.py turns that into one clear line instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over .env; THUMBS_ENV_FILE= (empty) reads no file (the tests).
_env_file = os.environ.get("THUMBS_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of on/off, true/false, 1/0, yes/no.")


def _int(name: str, default: int | None, *, lo: int, hi: int, what: str) -> int | None:
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {what}.") from None
    if not lo <= value <= hi:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {what}.")
    return value


def _seconds(name: str, default: float, *, hi: float) -> float:
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number of seconds, such as 10 or 2.5.") from None
    if not 0 < value <= hi:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number of seconds above 0 and at most {hi:g}.")
    return value


def _http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.username or parts.password:
        raise ImproperlyConfigured(f"{name}: expected no user name or password in the URL.")
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name}={raw!r}: expected an http(s) URL with a host and no query, such as https://rtc-api.zego.im/."
        )
    try:
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: the port is not a number from 1 to 65535.") from None
    return raw if raw.endswith("/") else raw + "/"


DEBUG = _bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: expected a long random string (make run writes one into .env)."
        )
    SECRET_KEY = "django-insecure-thumbs-development-only"  # noqa: S105 -- DEBUG only

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set: expected a comma-separated list of host names.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- ZEGO -------------------------------------------------------------------------------------------
# Simulator mode: the console talks to the built-in simulator (manage.py zego_simulator). In DEBUG it is
# the default when no ZEGO variable is set; without DEBUG it must be asked for with ZEGO_SIMULATOR=on, so
# that a production deploy with a forgotten variable fails loudly instead of faking success.
SIMULATOR_APP_ID = 1000001
SIMULATOR_SERVER_SECRET = "5e1f0a7e5e1f0a7e5e1f0a7e5e1f0a7e"  # noqa: S105 -- the simulator's own, public
_zego_names = ("ZEGO_APP_ID", "ZEGO_SERVER_SECRET", "ZEGO_API_URL")
_zego_given = {name: env.str(name, default="").strip() for name in _zego_names}
_simulator_asked = env.str("ZEGO_SIMULATOR", default="").strip()
if _simulator_asked:
    ZEGO_SIMULATOR = _bool("ZEGO_SIMULATOR", default=False)
elif any(_zego_given.values()):
    ZEGO_SIMULATOR = False
elif DEBUG:
    ZEGO_SIMULATOR = True
else:
    raise ImproperlyConfigured(
        "No ZEGO credentials: set ZEGO_APP_ID, ZEGO_SERVER_SECRET and ZEGO_API_URL, "
        "or ZEGO_SIMULATOR=on to run against the built-in simulator."
    )

ZEGO_SIMULATOR_PORT = _int("ZEGO_SIMULATOR_PORT", 8001, lo=1, hi=65535, what="a TCP port from 1 to 65535")
if ZEGO_SIMULATOR:
    ZEGO_APP_ID = SIMULATOR_APP_ID
    ZEGO_SERVER_SECRET = SIMULATOR_SERVER_SECRET
    ZEGO_API_URL = f"http://127.0.0.1:{ZEGO_SIMULATOR_PORT}/"
else:
    _missing = [name for name, value in _zego_given.items() if not value]
    if _missing:
        raise ImproperlyConfigured(
            f"{', '.join(_missing)} not set: a real ZEGO connection needs ZEGO_APP_ID, ZEGO_SERVER_SECRET "
            "and ZEGO_API_URL (or set ZEGO_SIMULATOR=on)."
        )
    ZEGO_APP_ID = _int("ZEGO_APP_ID", None, lo=0, hi=2**32 - 1, what="the numeric AppID, a uint32")
    ZEGO_SERVER_SECRET = _zego_given["ZEGO_SERVER_SECRET"]
    if len(ZEGO_SERVER_SECRET) != 32 or any(c not in "0123456789abcdefABCDEF" for c in ZEGO_SERVER_SECRET):
        raise ImproperlyConfigured(
            "ZEGO_SERVER_SECRET: expected the 32 hexadecimal characters from the ZEGOCLOUD Admin Console."
        )
    ZEGO_API_URL = _http_url("ZEGO_API_URL", _zego_given["ZEGO_API_URL"])

ZEGO_TIMEOUT_SECONDS = _seconds("ZEGO_TIMEOUT_SECONDS", 10.0, hi=120)
ZEGO_CONNECT_TIMEOUT_SECONDS = min(ZEGO_TIMEOUT_SECONDS, 5.0)
ZEGO_RATE_LIMIT_PER_SECOND = _int(
    "ZEGO_RATE_LIMIT_PER_SECOND", 20, lo=1, hi=20, what="a whole number of calls per second from 1 to 20"
)

# --- Django -----------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "thumbs_admin.urls"
WSGI_APPLICATION = "thumbs_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.console",
            ],
        },
    },
]

try:
    DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except (environ.ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL: expected a URL such as sqlite:///path/db.sqlite3 or "
        f"postgres://user:password@host:5432/name ({exc})."
    ) from None
if DATABASES["default"]["ENGINE"] not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
    raise ImproperlyConfigured(
        "DATABASE_URL: expected a URL such as sqlite:///path/db.sqlite3 or postgres://user:password@host:5432/name "
        "(thumbs supports SQLite and PostgreSQL)."
    )
# Each request reuses its process's database connection for this many seconds instead of opening one:
# Django's default, 0, connects on every request, which added 6 to 23 ms to a 12 ms PostgreSQL history
# page in bench/ (README). The health check replaces a connection the server dropped meanwhile.
DATABASES["default"]["CONN_MAX_AGE"] = _int(
    "DATABASE_CONN_MAX_AGE", 600, lo=0, hi=86400, what="a whole number of seconds from 0 to 86400"
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the history page read while a submission writes; the timeout rides out short write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security ---------------------------------------------------------------------------------------
_img_src = [CSP.SELF, "data:", "https:"]
if ZEGO_SIMULATOR:
    _img_src.append(f"http://127.0.0.1:{ZEGO_SIMULATOR_PORT}")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": _img_src,
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = _int("DJANGO_HSTS_SECONDS", 31536000, lo=0, hi=10**9, what="a whole number of seconds")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if _bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "dashboard": {"handlers": ["console"], "level": env.str("THUMBS_LOG_LEVEL", default="INFO").upper()},
    },
}
