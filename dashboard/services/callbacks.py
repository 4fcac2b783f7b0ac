"""ZEGO's snapshot callback: checked, recorded on its task once, or refused and listed for the operator.

ZEGO retries a callback that is not answered 2xx (after 2, 4, 8, 16 and 32 s). So a duplicate is answered
2xx and changes nothing, and so is a callback for a task thumbs never made (there is nothing to retry
for); everything else that is not recorded is answered 4xx, logged, and kept in the refused list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..models import Attempt, AuditEntry, CallbackReceipt, RefusedCallback, ResultCheck, Task
from ..zego import callbacks
from ..zego.callbacks import CallbackRefused, Refusal, Signed, SnapshotCallback
from ..zego.text import fit, for_log, scrub
from ..zego.types import BODY_LIMIT, VENDOR_TASK_ID_MAX, CallResult, Vendor
from .audit import audit_record, display_in_english
from .results import Shot, result_record

log = logging.getLogger("dashboard.callbacks")

KEEP_REFUSED = 1000  # the refused list keeps this many of the newest rows: a flood cannot fill the disk
CALLBACK_ACTION = "SnapshotCallback"

# Bad input is answered 400, a body over the cap 413, anything that fails authentication 403. A callback
# for a task thumbs does not know is answered 200: ZEGO would only retry it in vain.
_STATUS = {
    Refusal.NO_SECRET: 403,
    Refusal.EMPTY: 400,
    Refusal.OVERSIZED: 413,
    Refusal.NOT_JSON: 400,
    Refusal.MISSING_FIELD: 400,
    Refusal.BAD_FIELD: 400,
    Refusal.BAD_PICTURE_LIST: 400,
    Refusal.BAD_SIGNATURE: 403,
    Refusal.STALE: 403,
    Refusal.SIGNATURE_REUSED: 403,
    Refusal.UNKNOWN_TASK: 200,
}
# The provider's own word for "done": a callback comes only once the screenshots are made.
_FINISHED_STATUS = {Vendor.TENCENT: "FINISH", Vendor.HUAWEI: "SUCCEEDED"}


@dataclass(frozen=True)
class CallbackAnswer:
    """What the endpoint answers: an HTTP status and one short plain-text line."""

    status: int
    message: str


# Error reports list each frame's variables: the secret, and the body and what was read of it (which hold
# a signature), are shown masked.
@sensitive_variables("secret", "body", "data")
def callback_receive(*, body: bytes, remote_address: str, now: datetime | None = None) -> CallbackAnswer:
    """Check the callback in ``body`` and record its screenshots on the task it names, once."""
    now = now or timezone.now()
    secret = settings.ZEGO_CALLBACK_SECRET
    signed: Signed | None = None
    from_zego = False
    try:
        if not secret:
            raise CallbackRefused(Refusal.NO_SECRET, "Callbacks are refused: ZEGO_CALLBACK_SECRET is not set.")
        data = callbacks.decode_body(body)
        signed = callbacks.signed_part(data)
        callbacks.verify(signed, secret=secret, now=now.timestamp())
        from_zego = True
        return _record(callbacks.snapshot(data), signed, body=body, now=now)
    except CallbackRefused as refused:
        return callback_refuse(
            refused=refused,
            body=body,
            remote_address=remote_address,
            signature=signed.signature if signed else "",
            # Only a fresh, correctly signed callback goes into the audit trail, which keeps every entry:
            # anyone can POST junk or replay a signature, and the refused list (capped) has those.
            audit=from_zego and refused.refusal is not Refusal.SIGNATURE_REUSED,
            now=now,
        )


@sensitive_variables("body")
def _record(news: SnapshotCallback, signed: Signed, *, body: bytes, now: datetime) -> CallbackAnswer:
    # Attempts carry an index on the vendor task id; the task's own copy is the latest attempt's.
    attempt = (
        Attempt.objects.filter(vendor_task_id=news.task_id, task__vendor=news.vendor.value)
        .select_related("task")
        .order_by("-id")
        .first()
    )
    if attempt is None:
        raise CallbackRefused(
            Refusal.UNKNOWN_TASK,
            "No task with this task_id: logged, nothing recorded.",
            task_id=news.task_id,
            vendor=news.vendor.value,
        )
    task = attempt.task
    with transaction.atomic():
        try:
            with transaction.atomic():
                CallbackReceipt.objects.create(
                    task=task, received_at=now, delivery=signed.delivery_key, content=news.content_key
                )
        except IntegrityError:
            return _repeat(news, signed, task)
        check = result_record(
            task=task,
            source=ResultCheck.Source.CALLBACK,
            status=_FINISHED_STATUS[news.vendor],
            shots=[_shot(picture) for picture in news.pictures],
            call=CallResult(action=CALLBACK_ACTION, body=_excerpt(body, signed.signature, limit=BODY_LIMIT)),
            now=now,
        )
    log.info(
        "snapshot callback for task #%s recorded (check #%s, %s screenshots)", task.pk, check.pk, len(news.pictures)
    )
    return CallbackAnswer(200, f"Recorded: {len(news.pictures)} screenshots for task #{task.pk}.")


def _repeat(news: SnapshotCallback, signed: Signed, task: Task) -> CallbackAnswer:
    """A callback whose signature or news was recorded before: a retry (2xx, nothing changes), or its
    signature put on other news, which the signature cannot tell apart from a forgery."""
    earlier = CallbackReceipt.objects.filter(delivery=signed.delivery_key).first()
    if earlier is not None and (earlier.task_id != task.pk or earlier.content != news.content_key):
        raise CallbackRefused(
            Refusal.SIGNATURE_REUSED,
            "This signature was already used for another callback.",
            task_id=news.task_id,
            vendor=news.vendor.value,
        )
    log.info("snapshot callback for task #%s delivered again: already recorded, nothing changed", task.pk)
    return CallbackAnswer(200, f"Already recorded for task #{task.pk}: nothing changed.")


def _shot(picture: callbacks.Picture) -> Shot:
    # Tencent sends URLs; a Huawei location that is not a URL is an OBS object path, as DescribeMediaTask's.
    if callbacks.is_url(picture.url):
        return Shot(url=picture.url, offset_ms=picture.offset_ms)
    return Shot(file_name=picture.url, offset_ms=picture.offset_ms)


@sensitive_variables("secret", "body", "signature")
def _excerpt(body: bytes, signature: str, *, limit: int = callbacks.EXCERPT_CHARS) -> str:
    secret = settings.ZEGO_CALLBACK_SECRET
    return callbacks.excerpt(body, secret=secret, signature=signature, limit=limit)


@sensitive_variables("secret", "body", "signature")
def callback_refuse(
    *,
    refused: CallbackRefused,
    body: bytes,
    remote_address: str,
    signature: str = "",
    audit: bool = False,
    now: datetime | None = None,
) -> CallbackAnswer:
    """Keep a refused callback in the list (the newest ``KEEP_REFUSED``), log it, and say what to answer;
    with ``audit``, in the audit trail too."""
    now = now or timezone.now()
    secret = settings.ZEGO_CALLBACK_SECRET
    status = _STATUS[refused.refusal]
    # Read from the body, possibly before any check: masked like the body itself.
    task_id = fit(scrub(refused.task_id, secret, signature), VENDOR_TASK_ID_MAX)
    vendor = fit(scrub(refused.vendor, secret, signature), 16)
    row = RefusedCallback.objects.create(
        received_at=now,
        reason=refused.refusal.value,
        message=fit(refused.message, 300),
        http_status=status,
        remote_address=fit(remote_address, 64),
        vendor=vendor,
        zego_task_id=task_id,
        body_excerpt=_excerpt(body, signature),
    )
    RefusedCallback.objects.filter(pk__lte=row.pk - KEEP_REFUSED).delete()
    if audit:
        audit_record(
            action=AuditEntry.Action.CALLBACK_REFUSED,
            actor_name="ZEGO",  # the signature says so
            summary=f"Snapshot callback not recorded ({display_in_english(row, 'reason').lower()}, "
            f"answered {status}): {refused.message}",
            details={"reason": row.reason, "answered": status, "task_id": task_id, "vendor": vendor},
        )
    log.warning(
        "snapshot callback not recorded (%s), answered %s: from %s, task_id %s: %s",
        refused.refusal.value,
        status,
        remote_address or "-",
        for_log(task_id or "-"),
        refused.message,
    )
    return CallbackAnswer(status, refused.message)
