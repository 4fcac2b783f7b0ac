"""Return codes, per ZEGO API family.

ZEGO reuses small numbers with different meanings across API families (in an older global list 7 meant
"rate limited"; for MediaThumbnails it means "authentication failed"), so each family has its own table.
Every family also shares the gateway codes, which are answered before any business logic runs.

Meanings and actions are translated lazily: a catalogue entry reads in the language of whoever is shown it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class RetryClass(StrEnum):
    NONE = "none"  # success: nothing to retry
    TRANSIENT = "transient"  # retry automatically, with backoff
    MANUAL = "manual"  # an operator may retry after a look
    PERMANENT = "permanent"  # fix the input or the configuration first

    @property
    def label(self) -> str:
        return {
            "none": _("No retry needed"),
            "transient": _("Transient: safe to retry"),
            "manual": _("Retry after a look"),
            "permanent": _("Fix first: a retry will fail the same way"),
        }[self.value]


@dataclass(frozen=True)
class CodeInfo:
    code: int
    meaning: str | Promise
    action: str | Promise
    retry: RetryClass
    known: bool = True


def _table(*rows: tuple[int, Promise, Promise, RetryClass]) -> dict[int, CodeInfo]:
    return {code: CodeInfo(code, meaning, action, retry) for code, meaning, action, retry in rows}


T, M, P = RetryClass.TRANSIENT, RetryClass.MANUAL, RetryClass.PERMANENT
# "Request too frequent": the same number for every family; the client slows its pacer down on it.
TOO_FREQUENT = 6
_CHECK_CONFIG = _("Check ZEGO_APP_ID and ZEGO_SERVER_SECRET against the ZEGOCLOUD Admin Console.")

GATEWAY = _table(
    (100000001, _("AppId format error."), _CHECK_CONFIG, P),
    (100000002, _("Timestamp empty."), _("A thumbs bug: report it with the RequestId."), P),
    (100000003, _("Timestamp badly formatted (must be Unix seconds)."), _("A thumbs bug: report it."), P),
    (
        100000004,
        _("Signature expired: clock skew over 10 minutes, or an old signature reused."),
        _("Check this server's clock (NTP), then retry: a retry signs afresh."),
        M,
    ),
    (100000005, _("Signature wrong: wrong ServerSecret, or values signed differ from values sent."), _CHECK_CONFIG, P),
    (100000006, _("Action empty."), _("A thumbs bug: report it."), P),
    (100000007, _("Action unsupported."), _("Check ZEGO_API_URL points at ZEGO's server API."), P),
    (100000008, _("SignatureNonce empty."), _("A thumbs bug: report it."), P),
    (100000009, _("Signature empty."), _("A thumbs bug: report it."), P),
    (100000010, _("ServerSecret not found for this AppId."), _CHECK_CONFIG, P),
    (100000011, _("App configuration not found."), _("Check ZEGO_APP_ID; contact ZEGOCLOUD support."), P),
    (100000013, _("SignatureVersion empty."), _("A thumbs bug: report it."), P),
    (100000014, _("SignatureVersion unsupported (only 2.0)."), _("A thumbs bug: report it."), P),
    (100000015, _("ZEGO gateway internal error."), _("Retry shortly; ZEGO's side had a hiccup."), T),
    (100000016, _("App not set up for this environment."), _("Contact ZEGOCLOUD support with the AppId."), P),
    (100000017, _("Service not enabled for this app."), _("Ask ZEGOCLOUD support to enable the service."), P),
)

MEDIA_THUMBNAILS = GATEWAY | _table(
    (2, _("Input parameter error."), _("Correct the field named in the message, then resubmit."), P),
    (3, _("Related permissions not activated."), _("Contact ZEGOCLOUD Technical Support."), P),
    (4, _("CDN type mismatch."), _("Check the vendor matches where the recording is stored."), P),
    (5, _("Configuration error."), _("Contact ZEGOCLOUD Technical Support."), P),
    (TOO_FREQUENT, _("Request too frequent (over 20 calls/s for this AppID)."), _("Retry in a moment."), T),
    (7, _("Authentication failed."), _CHECK_CONFIG, P),
    (
        1000,
        _("Request failed (often a wrong File ID: ZEGO does not check that it exists)."),
        _("Check the File ID; if it is right, retry, and contact ZEGOCLOUD support with the RequestId."),
        M,
    ),
    (41003, _("File does not exist."), _("Confirm the file format and File ID, then resubmit."), P),
)

# DescribeMediaTask's page lists no codes of its own; these mirror MediaThumbnails (inferred).
DESCRIBE_MEDIA_TASK = GATEWAY | _table(
    (2, _("Input parameter error."), _("Check the TaskId and vendor."), P),
    (TOO_FREQUENT, _("Request too frequent (over 20 calls/s for this AppID)."), _("Retry in a moment."), T),
    (7, _("Authentication failed."), _CHECK_CONFIG, P),
    (1000, _("Request failed."), _("Retry; if it persists contact ZEGOCLOUD support."), M),
)

CATALOGUES: dict[str, dict[int, CodeInfo]] = {
    "MediaThumbnails": MEDIA_THUMBNAILS,
    "DescribeMediaTask": DESCRIBE_MEDIA_TASK,
}

SUCCESS = CodeInfo(0, _("Request successful."), "-", RetryClass.NONE)


def lookup(action: str, code: int) -> CodeInfo:
    """What ``code`` means for ``action``; an unlisted code still gets an entry, marked unknown."""
    if code == 0:
        return SUCCESS
    info = CATALOGUES.get(action, GATEWAY).get(code)
    if info is not None:
        return info
    return CodeInfo(
        code,
        format_lazy(_("Unknown code {code}: not in thumbs' catalogue for {action}."), code=code, action=action),
        _("Read the Message; contact ZEGOCLOUD support with the RequestId if unclear."),
        RetryClass.MANUAL,
        known=False,
    )
