"""Settings for thumbs: every environment variable is read and checked here, and only here.

A bad value stops start-up with ImproperlyConfigured naming the variable and what it expects;
manage.py turns that into one clear line instead of a traceback.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over .env; THUMBS_ENV_FILE= (empty) reads no file (the tests).
# The default .env may be missing (the environment may say it all), but a file named on purpose must exist.
_env_file = os.environ.get("THUMBS_ENV_FILE", str(BASE_DIR / ".env"))
if "THUMBS_ENV_FILE" in os.environ and _env_file and not Path(_env_file).is_file():
    raise ImproperlyConfigured(
        f"THUMBS_ENV_FILE={_env_file!r}: no such file; name an existing file, or set it empty to read none."
    )
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
    try:
        parts = urlsplit(raw)
    except ValueError:  # such as an unclosed [ in an IPv6 host
        raise ImproperlyConfigured(
            f"{name}={raw!r}: expected an http(s) URL with a host and no query, such as https://rtc-api.zego.im/."
        ) from None
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
# --- Shared rate limit (issue 8, limiter) -------------------------------------------------------------
# Every process takes its turn from one limiter in the database (dashboard/pacing.py). A call from the
# browser or a command waits at most this long for its turn, then fails without being sent. At most 30 s,
# so that an attempt waiting its turn never looks abandoned (services.stale_after allows 60 s past the
# client's timeouts).
ZEGO_PACING_MAX_WAIT_SECONDS = _seconds("ZEGO_PACING_MAX_WAIT_SECONDS", 5.0, hi=30)

# --- ZEGO snapshot callback (POST /zego/callback) ----------------------------------------------------
# ZEGO signs each callback with a CallbackSecret of its own (issued with the callback URL by ZEGO support).
# Without one every callback is refused, and `manage.py check` warns (dashboard/checks.py). Simulator
# mode has a default, shared with `manage.py zego_simulator`, like the ServerSecret.
SIMULATOR_CALLBACK_SECRET = "sim-callback-5e1f0a7e"  # noqa: S105 -- the simulator's own, public
ZEGO_CALLBACK_SECRET = env.str("ZEGO_CALLBACK_SECRET", default="").strip()
if ZEGO_CALLBACK_SECRET and (len(ZEGO_CALLBACK_SECRET) > 256 or any(not "!" <= c <= "~" for c in ZEGO_CALLBACK_SECRET)):
    # Not echoed: it is a secret.
    raise ImproperlyConfigured(
        "ZEGO_CALLBACK_SECRET: expected the CallbackSecret from ZEGO, printable ASCII without spaces, "
        "at most 256 characters."
    )
if ZEGO_SIMULATOR and not ZEGO_CALLBACK_SECRET:
    ZEGO_CALLBACK_SECRET = SIMULATOR_CALLBACK_SECRET

# --- Work in bulk -----------------------------------------------------------------------------------
# Transient failures (Code 6, the gateway's internal error, no usable answer) are retried automatically, with
# exponential backoff and jitter, until a task has made this many attempts in all.
THUMBS_AUTO_RETRY_MAX_ATTEMPTS = _int(
    "THUMBS_AUTO_RETRY_MAX_ATTEMPTS",
    5,
    lo=1,
    hi=20,
    what="a whole number of attempts from 1 (no automatic retry) to 20",
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
    # After the session (the language a user picked is in a cookie), before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
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
            # {% when %} (times in the operator's zone) and friends, in every template without a {% load %}.
            "builtins": ["dashboard.templatetags.console"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.console",
            ],
        },
    },
]

try:
    # django-environ warns about an unknown scheme by printing the parsed URL, password included: the
    # check below says it in one line instead.
    with warnings.catch_warnings(action="ignore"):
        DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except (environ.ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL: expected a URL such as sqlite:///path/db.sqlite3 or "
        f"postgres://user:password@host:5432/name ({exc})."
    ) from None
if DATABASES["default"].get("ENGINE") not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
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

# English and Simplified Chinese, chosen from the browser's Accept-Language (zh-CN, zh-SG and plain zh
# get zh-hans) until the user picks one (i18n/setlang/, kept in a cookie). The catalogue is
# locale/zh_Hans/LC_MESSAGES/django.po, compiled to the committed django.mo (make messages).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

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

# --- Screenshots on the page (issue 8, helper "ui") -------------------------------------------------
# Huawei names its screenshots by OBS object path, not by URL: with the bucket's base URL (its public or
# CDN address) the task page links each one; without it, it lists the paths to copy. In simulator mode it
# defaults to the simulator, which serves the OBS paths it lists under /obs/.
_obs_base = env.str("THUMBS_HUAWEI_OBS_BASE_URL", default="").strip()
if _obs_base:
    THUMBS_HUAWEI_OBS_BASE_URL = _http_url("THUMBS_HUAWEI_OBS_BASE_URL", _obs_base)
else:
    THUMBS_HUAWEI_OBS_BASE_URL = f"{ZEGO_API_URL}obs/" if ZEGO_SIMULATOR else ""
# Tencent VOD's default distribution domain also answers over plain HTTP, and its screenshot URLs may say
# http: an HTTPS page upgrades them (then https: allows them), a plain-HTTP console needs the host itself.
TENCENT_VOD_IMAGE_HOSTS = ("http://*.vod2.myqcloud.com",)


def screenshot_img_src(zego_api_url: str) -> list[str]:
    """Where screenshots may load from (CSP img-src): any HTTPS host (the providers' CDNs), Tencent VOD's
    default domain, and a plain-HTTP ZEGO_API_URL's own origin: the simulator, which serves its thumbnails
    itself (ZEGO_SIMULATOR_PORT), or another stand-in reached over HTTP."""
    sources = [CSP.SELF, "data:", "https:", *TENCENT_VOD_IMAGE_HOSTS]
    parts = urlsplit(zego_api_url)
    if parts.scheme == "http":
        sources.append(f"http://{parts.netloc}")
    return sources


# --- Security ---------------------------------------------------------------------------------------
_img_src = screenshot_img_src(ZEGO_API_URL)
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
    LANGUAGE_COOKIE_SECURE = True
    if _bool("DJANGO_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Sign-in throttling, request ids and error logging ----------------------------------------------
# django-axes counts failed sign-ins per account (from any address: one account attacked from many) and
# per address (for any account: one address trying many), and refuses either once it reaches the limit,
# before the password is checked. One limit for both: an office behind one NAT address shares its count,
# hence a limit that some typing mistakes do not reach. Every attempt while locked restarts the cool-off.
LOGIN_FAILURE_LIMIT = _int(
    "THUMBS_LOGIN_FAILURE_LIMIT", 10, lo=1, hi=1000, what="a whole number of failed sign-ins from 1 to 1000"
)
LOGIN_LOCKOUT_MINUTES = _int(
    "THUMBS_LOGIN_LOCKOUT_MINUTES", 15, lo=1, hi=7 * 24 * 60, what="a whole number of minutes from 1 to 10080"
)
# Behind the TLS proxy, REMOTE_ADDR is the proxy's: the client address is the one it appends to
# X-Forwarded-For (dashboard.auth.client_ip_address).
CLIENT_IP_FROM_X_FORWARDED_FOR = not DEBUG and _bool("DJANGO_BEHIND_TLS_PROXY", default=False)
INSTALLED_APPS += ["axes"]
MIDDLEWARE = ["dashboard.errors.RequestIdMiddleware", *MIDDLEWARE, "axes.middleware.AxesMiddleware"]
# The audit trail names the signed-in user and the address for entries written by signal receivers.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "dashboard.services.audit.AuditRequestMiddleware",
)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked sign-in before any password hash
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not their combination
# Kept off: a success would also clear every count of its address, so anyone with one valid login could
# wipe the failures run up against other accounts from that address.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "dashboard.auth.client_ip_address"
AXES_CLIENT_STR_CALLABLE = "dashboard.auth.client_str"
AXES_LOCKOUT_CALLABLE = "dashboard.auth.lockout_response"
# Load balancers check /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

_log_level = env.str("THUMBS_LOG_LEVEL", default="INFO").strip().upper() or "INFO"
if _log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"THUMBS_LOG_LEVEL={env.str('THUMBS_LOG_LEVEL')!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dashboard.errors.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "dashboard.errors.ScrubbingFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "loggers": {
        "dashboard": {"handlers": ["console"], "level": _log_level},
        "zego_simulator": {"handlers": ["console"], "level": _log_level},
        # Unhandled exceptions (500s) with their traceback. Django's own handler for it prints only with
        # DEBUG on; not propagated, so that DEBUG does not print them twice.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Failed sign-ins and lockouts, named by dashboard.auth.client_str.
        "axes": {"handlers": ["console"], "level": "WARNING"},
    },
}

# --- The worker and the task results (issue 8: django.tasks, DescribeMediaTask polling) -------------
# Background work runs on Django's own tasks framework with django-tasks-db's backend: the queue is a table
# in the same database, and `manage.py db_worker` processes run it (the Procfile's worker line; start more,
# on any machine with the same DATABASE_URL, to share the work). Any other django.tasks backend that
# supports run_after can take its place here (dashboard/tasks.py says what the worker does).
INSTALLED_APPS += ["django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A task ZEGO accepted that still has no final status this long after acceptance is flagged stuck and no
# longer polled (an operator can still ask ZEGO again). Screenshots usually take seconds to a minute:
# 15 minutes is well past that, yet leaves room for a provider's queue that backs up under load. At most
# 72 hours, the time Tencent VOD keeps a task's details.
THUMBS_RESULT_STUCK_AFTER_SECONDS = _int(
    "THUMBS_RESULT_STUCK_AFTER_SECONDS", 900, lo=60, hi=72 * 3600, what="a whole number of seconds from 60 to 259200"
)
# The worker's own lines: what it starts and stops (django_tasks_db), and failed tasks with their traceback
# (django.tasks; its line for every task run and finished is left out). Both through the scrubbing formatter.
LOGGING["handlers"]["console_warnings"] = {**LOGGING["handlers"]["console"], "level": "WARNING"}
LOGGING["loggers"]["django_tasks_db"] = {"handlers": ["console"], "level": "INFO"}
# Not propagated: Django's own "django" handler would print every line again, unscrubbed, with DEBUG on.
LOGGING["loggers"]["django.tasks"] = {"handlers": ["console_warnings"], "level": "INFO", "propagate": False}
