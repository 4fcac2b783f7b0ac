"""ZEGO's request signature (SignatureVersion 2.0) and the completion-callback signature.

Shared by the client, which signs, and the simulator, which checks: one implementation for both.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

SIGNATURE_VERSION = "2.0"
NONCE_RE = re.compile(r"^[0-9a-f]{16}$")


def new_nonce() -> str:
    """A fresh SignatureNonce: the hex of 8 random bytes."""
    return secrets.token_hex(8)


def now_timestamp() -> int:
    return int(time.time())


def request_signature(app_id: int, nonce: str, server_secret: str, timestamp: int) -> str:
    """md5(AppId + SignatureNonce + ServerSecret + Timestamp), 32 lowercase hex characters."""
    return hashlib.md5(f"{app_id}{nonce}{server_secret}{timestamp}".encode(), usedforsecurity=False).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def callback_signature(callback_secret: str, timestamp: str, nonce: str) -> str:
    """sha1 of CallbackSecret, timestamp and nonce, sorted as strings and concatenated."""
    joined = "".join(sorted([callback_secret, str(timestamp), str(nonce)]))
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()
