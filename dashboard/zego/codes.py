"""Return codes, per ZEGO API family.

ZEGO reuses small numbers with different meanings across API families (in an older global list 7 meant
"rate limited"; for MediaThumbnails it means "authentication failed"), so each family has its own table.
Every family also shares the gateway codes, which are answered before any business logic runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RetryClass(StrEnum):
    NONE = "none"  # success: nothing to retry
    TRANSIENT = "transient"  # retry automatically, with backoff
    MANUAL = "manual"  # an operator may retry after a look
    PERMANENT = "permanent"  # fix the input or the configuration first

    @property
    def label(self) -> str:
        return {
            "none": "No retry needed",
            "transient": "Transient: safe to retry",
            "manual": "Retry after a look",
            "permanent": "Fix first: a retry will fail the same way",
        }[self.value]


@dataclass(frozen=True)
class CodeInfo:
    code: int
    meaning: str
    action: str
    retry: RetryClass
    known: bool = True


def _table(*rows: tuple[int, str, str, RetryClass]) -> dict[int, CodeInfo]:
    return {code: CodeInfo(code, meaning, action, retry) for code, meaning, action, retry in rows}


T, M, P = RetryClass.TRANSIENT, RetryClass.MANUAL, RetryClass.PERMANENT
# "Request too frequent": the same number for every family; the client slows its pacer down on it.
TOO_FREQUENT = 6
_CHECK_CONFIG = "Check ZEGO_APP_ID and ZEGO_SERVER_SECRET against the ZEGOCLOUD Admin Console."

GATEWAY = _table(
    (100000001, "AppId format error.", _CHECK_CONFIG, P),
    (100000002, "Timestamp empty.", "A thumbs bug: report it with the RequestId.", P),
    (100000003, "Timestamp badly formatted (must be Unix seconds).", "A thumbs bug: report it.", P),
    (
        100000004,
        "Signature expired: clock skew over 10 minutes, or an old signature reused.",
        "Check this server's clock (NTP), then retry: a retry signs afresh.",
        M,
    ),
    (100000005, "Signature wrong: wrong ServerSecret, or values signed differ from values sent.", _CHECK_CONFIG, P),
    (100000006, "Action empty.", "A thumbs bug: report it.", P),
    (100000007, "Action unsupported.", "Check ZEGO_API_URL points at ZEGO's server API.", P),
    (100000008, "SignatureNonce empty.", "A thumbs bug: report it.", P),
    (100000009, "Signature empty.", "A thumbs bug: report it.", P),
    (100000010, "ServerSecret not found for this AppId.", _CHECK_CONFIG, P),
    (100000011, "App configuration not found.", "Check ZEGO_APP_ID; contact ZEGOCLOUD support.", P),
    (100000013, "SignatureVersion empty.", "A thumbs bug: report it.", P),
    (100000014, "SignatureVersion unsupported (only 2.0).", "A thumbs bug: report it.", P),
    (100000015, "ZEGO gateway internal error.", "Retry shortly; ZEGO's side had a hiccup.", T),
    (100000016, "App not set up for this environment.", "Contact ZEGOCLOUD support with the AppId.", P),
    (100000017, "Service not enabled for this app.", "Ask ZEGOCLOUD support to enable the service.", P),
)

MEDIA_THUMBNAILS = GATEWAY | _table(
    (2, "Input parameter error.", "Correct the field named in the message, then resubmit.", P),
    (3, "Related permissions not activated.", "Contact ZEGOCLOUD Technical Support.", P),
    (4, "CDN type mismatch.", "Check the vendor matches where the recording is stored.", P),
    (5, "Configuration error.", "Contact ZEGOCLOUD Technical Support.", P),
    (TOO_FREQUENT, "Request too frequent (over 20 calls/s for this AppID).", "Retry in a moment.", T),
    (7, "Authentication failed.", _CHECK_CONFIG, P),
    (
        1000,
        "Request failed (often a wrong File ID: ZEGO does not check that it exists).",
        "Check the File ID; if it is right, retry, and contact ZEGOCLOUD support with the RequestId.",
        M,
    ),
    (41003, "File does not exist.", "Confirm the file format and File ID, then resubmit.", P),
)

# DescribeMediaTask's page lists no codes of its own; these mirror MediaThumbnails (inferred).
DESCRIBE_MEDIA_TASK = GATEWAY | _table(
    (2, "Input parameter error.", "Check the TaskId and vendor.", P),
    (TOO_FREQUENT, "Request too frequent (over 20 calls/s for this AppID).", "Retry in a moment.", T),
    (7, "Authentication failed.", _CHECK_CONFIG, P),
    (1000, "Request failed.", "Retry; if it persists contact ZEGOCLOUD support.", M),
)

CATALOGUES: dict[str, dict[int, CodeInfo]] = {
    "MediaThumbnails": MEDIA_THUMBNAILS,
    "DescribeMediaTask": DESCRIBE_MEDIA_TASK,
}

SUCCESS = CodeInfo(0, "Request successful.", "-", RetryClass.NONE)


def lookup(action: str, code: int) -> CodeInfo:
    """What ``code`` means for ``action``; an unlisted code still gets an entry, marked unknown."""
    if code == 0:
        return SUCCESS
    info = CATALOGUES.get(action, GATEWAY).get(code)
    if info is not None:
        return info
    return CodeInfo(
        code,
        f"Unknown code {code}: not in thumbs' catalogue for {action}.",
        "Read the Message; contact ZEGOCLOUD support with the RequestId if unclear.",
        RetryClass.MANUAL,
        known=False,
    )
