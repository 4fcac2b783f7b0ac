"""Text that comes from outside (ZEGO's replies): scrubbed of secrets, fitted to its column, safe to log."""

from __future__ import annotations

import re

REDACTED = "[redacted]"


def _char_pattern(char: str) -> str:
    """One character, literal in either case, or as a JSON ``\\uXXXX`` or URL ``%XX`` escape of either."""
    forms = {char.lower(), char.upper()}
    options = [re.escape(f) for f in sorted(forms)]
    for f in sorted(forms):
        code = ord(f)
        options.append(rf"\\u{code:04x}" if code > 0xFF else rf"\\u00{code:02x}")
        if code < 0x80:
            options.append(rf"%{code:02x}")
    return "(?:" + "|".join(options) + ")"


def secret_pattern(secret: str) -> re.Pattern[str]:
    """Matches ``secret`` however a server echoes it: upper- or lower-case, JSON- or URL-escaped, mixed."""
    return re.compile("".join(_char_pattern(c) for c in secret), re.IGNORECASE)


def scrub(text: str, *secrets: str) -> str:
    """Every echo of each secret in ``text`` replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = secret_pattern(secret).sub(REDACTED, text)
    return text


def fit(value: str, limit: int | None = None) -> str:
    """A value that any database column of ``limit`` characters accepts: NUL removed, then cut."""
    value = value.replace("\x00", "")
    return value if limit is None else value[:limit]


def for_log(value: object, limit: int = 120) -> str:
    """A value from outside, made safe for one log line: control characters escaped, then cut."""
    text = str(value).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"
