"""The .env file that ``manage.py setup`` writes and keeps in step with the ports make run is given.

This module imports nothing from Django: manage.py calls ``prepare()`` before the settings load, because
the settings read .env at import and refuse to load without DJANGO_SECRET_KEY (or DJANGO_DEBUG=on).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
EXAMPLE = BASE_DIR / ".env.example"

# make run's ports, as read by the setup command (PORT) and the settings (ZEGO_SIMULATOR_PORT).
PORT_DEFAULTS = {"PORT": 8000, "ZEGO_SIMULATOR_PORT": 8001}


def path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The file the settings read (the same rule as settings.py): THUMBS_ENV_FILE, else .env next to
    manage.py; None when THUMBS_ENV_FILE is set empty."""
    raw = environ.get("THUMBS_ENV_FILE", str(BASE_DIR / ".env"))
    return Path(raw) if raw else None


def port(name: str, raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ValueError(f"{name}={raw!r}: expected a TCP port from 1 to 65535.")
    return int(value)


def prepare(environ: Mapping[str, str] = os.environ, *, example: Path = EXAMPLE) -> list[str]:
    """Write .env from .env.example the first time, with DJANGO_DEBUG=on and a new secret key.

    Returns what was done (one line, or none); raises ValueError when .env.example is missing.
    """
    target = path(environ)
    if target is None or target.exists():
        return []
    if not example.exists():
        raise ValueError(f"{example} is missing: cannot write {target}.")
    text = example.read_text()
    text = _set(text, "DJANGO_DEBUG", "on")
    text = _set(text, "DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    # Created 0600 from the start: the file holds the secret key.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    return [
        f"wrote {target.name} from {example.name} with DJANGO_DEBUG=on and a new random DJANGO_SECRET_KEY "
        "(edit it to change settings)."
    ]


def record_ports(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Write into .env a port that the environment sets and .env does not (make run's PORT=N, say).

    A command run later in another shell (``thumbnails submit``) reads .env, not make run's environment,
    and must reach the same simulator. After the settings have loaded, the environment also holds what
    .env set, so only a value given from outside can differ. Returns what was recorded, one line each.
    """
    target = path(environ)
    if target is None or not target.exists():
        return []
    done = []
    text = target.read_text()
    for name in PORT_DEFAULTS:
        raw = environ.get(name, "").strip()
        if raw and port(name, raw) != _port_in(text, name):
            text = _set(text, name, str(port(name, raw)))
            target.write_text(text)  # in place: the file keeps its mode
            done.append(f"recorded {name}={port(name, raw)} in {target.name}, so later runs and commands use it.")
    return done


def _port_in(text: str, name: str) -> int:
    """The port .env sets for NAME (the default when it sets none); a bad value counts as none."""
    match = re.search(rf"^\s*(?:export\s+)?{name}\s*=\s*['\"]?(\d+)['\"]?\s*(?:#.*)?$", text, re.MULTILINE)
    return int(match.group(1)) if match else PORT_DEFAULTS[name]


def _set(text: str, name: str, value: str) -> str:
    """NAME=value in place of its line, else of its commented-out example line, else at the end."""
    line = f"{name}={value}"
    for pattern in (rf"^\s*(?:export\s+)?{name}\s*=.*$", rf"^#\s*{name}\s*=.*$"):
        text, found = re.subn(pattern, lambda _: line, text, count=1, flags=re.MULTILINE)
        if found:
            return text
    return text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
