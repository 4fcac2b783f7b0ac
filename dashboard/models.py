"""Tasks (what an operator asked ZEGO for) and their attempts (every call made for it).

The history is append-only in spirit: an attempt row is written before its call and then completed with
the outcome; the task carries a copy of its latest outcome so that the history page is one indexed query.
Neither the ServerSecret nor a Signature is ever stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .zego.callbacks import Refusal
from .zego.codes import CodeInfo, RetryClass, lookup
from .zego.types import (
    MEDIA_THUMBNAILS,
    REQUEST_ID_MAX,
    VENDOR_REQUEST_ID_MAX,
    VENDOR_TASK_ID_MAX,
    FailureKind,
    Mode,
    Outcome,
    ThumbnailRequest,
)
from .zego.types import Vendor as ZegoVendor


class State(models.TextChoices):
    """Whether ZEGO accepted a request: a call's ``Outcome``, plus *sending* while it is in flight.

    Accepted, not "succeeded": what the provider then made of it is the task's ``Result``, and a page must
    never call a provider failure a success."""

    QUEUED = "queued", _("Queued")  # a batch item not sent yet
    SENDING = "sending", _("Sending")
    SUCCEEDED = Outcome.SUCCEEDED.value, _("Accepted by ZEGO")
    FAILED = Outcome.FAILED.value, _("Failed")
    UNKNOWN = Outcome.UNKNOWN.value, _("Unknown")
    CANCELLED = "cancelled", _("Cancelled")  # a batch item whose batch was cancelled before it was sent

    @classmethod
    def of(cls, outcome: Outcome) -> State:
        return cls(outcome.value)


RETRYABLE_STATES = (State.FAILED, State.UNKNOWN)


def _shown_state(state: str, since: datetime) -> State:
    """A "sending" row older than services.stale_after() is shown unknown before the sweep marks it so
    (thumbnails sweep, the Procfile's sweep line): pages read, they do not write."""
    from .services import stale_after  # services builds on these models

    if state == State.SENDING and since < timezone.now() - stale_after():
        return State.UNKNOWN
    return State(state)


class Result(models.TextChoices):
    """What the provider (Tencent VOD or Huawei) made of a task ZEGO accepted; blank until ZEGO accepts."""

    WAITING = "waiting", _("Waiting")
    PROCESSING = "processing", _("Processing")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Provider failed")
    STUCK = "stuck", _("Stuck")

    @classmethod
    def of_status(cls, status: str) -> Result | None:
        """The result for a provider's own status word (DescribeMediaTask), or None for one it never sends."""
        return _RESULT_OF_STATUS.get(status.upper())


_RESULT_OF_STATUS = {
    "WAITING": Result.WAITING,
    "PROCESSING": Result.PROCESSING,
    "FINISH": Result.FINISHED,
    "SUCCEEDED": Result.FINISHED,
    "FAIL": Result.FAILED,
    "FAILED": Result.FAILED,
    "CANCELED": Result.FAILED,
    "NO_TASK": Result.FAILED,
}
FINAL_RESULTS = (Result.FINISHED, Result.FAILED)
PENDING_RESULTS = (Result.WAITING, Result.PROCESSING)


def _shown_result(result: str, accepted_at: datetime) -> Result | None:
    """A result still pending past services.stuck_after() is shown stuck before the worker flags it (it
    may not be running): pages read, they do not write."""
    from .services.results import stuck_after  # services builds on these models

    if not result:
        return None
    if result in PENDING_RESULTS and accepted_at < timezone.now() - stuck_after():
        return Result.STUCK
    return Result(result)


def auto_retry_decision(*, failed_code: int | None, attempts: int, limit: int) -> tuple[bool, str]:
    """Whether automatic retry tries again after an outcome that was not a success, and the line that says so
    or says why not, in the active language. ``failed_code``: the non-zero Code ZEGO answered, None when there
    was no usable answer."""
    if failed_code is not None:
        retry = lookup(MEDIA_THUMBNAILS, failed_code).retry
        if retry is RetryClass.PERMANENT:
            return False, gettext("No automatic retry: Code %(code)s is permanent; fix the input first.") % {
                "code": failed_code
            }
        if retry is not RetryClass.TRANSIENT:
            return False, gettext("No automatic retry: Code %(code)s is left to an operator (check, then Retry).") % {
                "code": failed_code
            }
    if attempts >= limit:
        return False, ngettext(
            "No automatic retry: %(n)s attempt made, the most allowed (THUMBS_AUTO_RETRY_MAX_ATTEMPTS).",
            "No automatic retry: %(n)s attempts made, the most allowed (THUMBS_AUTO_RETRY_MAX_ATTEMPTS).",
            attempts,
        ) % {"n": attempts}
    return True, gettext("Automatic retry %(n)s of %(limit)s planned.") % {"n": attempts + 1, "limit": limit}


def failure_label(kind: str) -> str:
    """What a failed call's ``transport_error`` means, in the reader's language (its ``transport_detail`` is the
    English record)."""
    from .services.tasks import ABANDONED  # services builds on these models

    if not kind:
        return ""
    if kind == ABANDONED:
        return gettext("No outcome recorded: the sending process stopped")
    try:
        return str(FailureKind(kind).label)
    except ValueError:
        return kind


class Task(models.Model):
    class Vendor(models.TextChoices):
        TENCENT = ZegoVendor.TENCENT.value, _("Tencent")
        HUAWEI = ZegoVendor.HUAWEI.value, _("Huawei")

    class Mode(models.TextChoices):
        TIME_POINTS = Mode.TIME_POINTS.value, _("Time points")
        INTERVAL = Mode.INTERVAL.value, _("Interval")

    vendor = models.CharField(max_length=16, choices=Vendor.choices)
    mode = models.CharField(max_length=32, choices=Mode.choices)
    file_id = models.CharField(_("File ID"), max_length=1024, db_index=True)  # PostgreSQL adds a LIKE index too
    definition = models.PositiveBigIntegerField(null=True, blank=True)
    time_points = models.JSONField(default=list, blank=True, help_text=_("Seconds, as exact decimal strings."))
    interval = models.PositiveSmallIntegerField(null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    resubmitted_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resubmissions"
    )
    # One-time token of the form that made this task (double-submit protection), unique per submitter.
    submission_token = models.UUIDField(null=True, blank=True, editable=False)

    state = models.CharField(max_length=16, choices=State.choices, default=State.SENDING)
    state_changed_at = models.DateTimeField(default=timezone.now)
    latest_code = models.IntegerField(_("code"), null=True, blank=True)
    latest_message = models.TextField(blank=True)
    latest_request_id = models.CharField(_("RequestId"), max_length=REQUEST_ID_MAX, blank=True)
    vendor_task_id = models.CharField(_("vendor task id"), max_length=VENDOR_TASK_ID_MAX, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)

    # What the provider made of it (DescribeMediaTask polling, "ask ZEGO again", the snapshot callback).
    result = models.CharField(max_length=16, choices=Result.choices, blank=True)
    result_status = models.CharField(_("provider status"), max_length=32, blank=True)  # FINISH, SUCCEEDED...
    result_message = models.TextField(_("provider message"), blank=True)
    result_checked_at = models.DateTimeField(null=True, blank=True)
    result_checks = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)  # null: nothing to ask (final, stuck, not accepted)
    screenshot_count = models.PositiveIntegerField(default=0)

    # Automatic retry of a transient failure: when the next one is due, or why there will be none.
    next_retry_at = models.DateTimeField(null=True, blank=True)
    retry_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "submission_token"], name="task_submission_token_per_user")
        ]
        permissions = [
            ("submit_task", _("Can submit screenshot tasks")),
            ("retry_task", _("Can retry screenshot tasks")),
        ]
        # Every list index ends in id: the history page is a newest-first keyset over id.
        indexes = [
            models.Index(fields=["vendor", "state", "latest_code", "-id"], name="task_vendor_state_code"),
            models.Index(fields=["state", "-id"], name="task_state"),
            models.Index(fields=["latest_code", "-id"], name="task_code"),
            models.Index(fields=["mode", "-id"], name="task_mode"),
            models.Index(fields=["created_by", "-id"], name="task_created_by"),
            models.Index(fields=["created_at"], name="task_created_at"),
            # The overview (selectors_overview) reads these alone, never the table: the windows by state,
            # vendor and result; the failed part of each bar and the top failure codes.
            models.Index(fields=["created_at", "state", "vendor", "result"], name="task_overview"),
            models.Index(fields=["state", "created_at", "latest_code"], name="task_state_created"),
            models.Index(fields=["state", "state_changed_at"], name="task_state_changed"),
            models.Index(fields=["result", "-id"], name="task_result"),
            models.Index(fields=["next_check_at"], name="task_next_check", condition=Q(next_check_at__isnull=False)),
            models.Index(fields=["next_retry_at"], name="task_next_retry", condition=Q(next_retry_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.vendor} {self.get_mode_display()} {self.file_id}"

    def to_request(self) -> ThumbnailRequest:
        return ThumbnailRequest(
            vendor=ZegoVendor(self.vendor),
            mode=Mode(self.mode),
            file_id=self.file_id,
            definition=self.definition,
            time_points=tuple(Decimal(t) for t in self.time_points),
            interval=self.interval,
        )

    @property
    def code_info(self) -> CodeInfo | None:
        return None if self.latest_code is None else lookup(MEDIA_THUMBNAILS, self.latest_code)

    @property
    def display_state(self) -> State:
        return _shown_state(self.state, self.state_changed_at)

    @property
    def can_retry(self) -> bool:
        # task_retry accepts a stale "sending" task too: offer it wherever the page shows one as unknown.
        return self.display_state in RETRYABLE_STATES

    @property
    def retry_needs_confirmation(self) -> bool:
        info = self.code_info
        return self.state == State.FAILED and info is not None and info.retry is RetryClass.PERMANENT

    @property
    def retry_plan(self) -> str:
        """The automatic retry plan recorded with the latest outcome, in the reader's language. ``retry_note`` is
        the record, in English like every record; this says the same from the outcome it was made from."""
        if not self.retry_note or self.state not in RETRYABLE_STATES:
            return ""
        limit = settings.THUMBS_AUTO_RETRY_MAX_ATTEMPTS
        if self.next_retry_at is not None:  # planned, even if the limit was lowered since
            limit = max(limit, self.attempt_count + 1)
        failed_code = self.latest_code if self.state == State.FAILED else None
        return auto_retry_decision(failed_code=failed_code, attempts=self.attempt_count, limit=limit)[1]

    @property
    def display_result(self) -> Result | None:
        return _shown_result(self.result, self.state_changed_at)

    @property
    def can_ask(self) -> bool:
        """ZEGO accepted it, so DescribeMediaTask can be asked about its vendor task."""
        return self.state == State.SUCCEEDED and bool(self.vendor_task_id)

    @property
    def time_points_display(self) -> str:
        return ", ".join(self.time_points)


class Attempt(models.Model):
    class Reason(models.TextChoices):
        SUBMIT = "submit", _("Submit")
        RETRY = "retry", _("Retry")
        BATCH = "batch", _("Batch")
        BULK_RETRY = "bulk_retry", _("Bulk retry")
        AUTO = "auto", _("Automatic retry")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENDING)

    nonce = models.CharField(_("SignatureNonce"), max_length=16)
    timestamp = models.BigIntegerField(_("Timestamp"))
    request_id = models.CharField(_("RequestId"), max_length=REQUEST_ID_MAX, blank=True)
    vendor_task_id = models.CharField(max_length=VENDOR_TASK_ID_MAX, blank=True)
    vendor_request_id = models.CharField(max_length=VENDOR_REQUEST_ID_MAX, blank=True)
    code = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    transport_error = models.CharField(max_length=32, blank=True)
    transport_detail = models.TextField(blank=True)
    may_have_reached = models.BooleanField(null=True, blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["task", "number"]
        constraints = [models.UniqueConstraint(fields=["task", "number"], name="attempt_task_number")]
        indexes = [
            models.Index(fields=["request_id"], name="attempt_request_id"),
            models.Index(fields=["vendor_task_id"], name="attempt_vendor_task_id"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of task #{self.task_id}"

    @property
    def code_info(self) -> CodeInfo | None:
        return None if self.code is None else lookup(MEDIA_THUMBNAILS, self.code)

    @property
    def display_state(self) -> State:
        return _shown_state(self.state, self.started_at)

    @property
    def failure_label(self) -> str:
        return failure_label(self.transport_error)


class ResultCheck(models.Model):
    """One answer about a task's result: a DescribeMediaTask call (polled or asked for) or a callback."""

    class Source(models.TextChoices):
        POLL = "poll", _("Polled")
        ASK = "ask", _("Asked by an operator")
        CALLBACK = "callback", _("Callback")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checks")
    source = models.CharField(max_length=16, choices=Source.choices)
    at = models.DateTimeField(default=timezone.now)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("provider status"), max_length=32, blank=True)
    message = models.TextField(blank=True)
    code = models.IntegerField(null=True, blank=True)
    request_id = models.CharField(_("RequestId"), max_length=REQUEST_ID_MAX, blank=True)
    transport_error = models.CharField(max_length=32, blank=True)
    transport_detail = models.TextField(blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["task", "at", "id"]
        indexes = [models.Index(fields=["task", "-at"], name="resultcheck_task_at")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} check of task #{self.task_id}: {self.status or self.transport_error}"

    @property
    def failure_label(self) -> str:
        return failure_label(self.transport_error)


class Screenshot(models.Model):
    """One screenshot a provider made: a URL (Tencent) or an OBS object path (Huawei)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="screenshots")
    position = models.PositiveIntegerField()
    url = models.CharField(max_length=2048, blank=True)
    file_name = models.CharField(max_length=1024, blank=True)
    offset_ms = models.BigIntegerField(null=True, blank=True)  # the time point, when the provider says it
    source = models.CharField(max_length=16, choices=ResultCheck.Source.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # No unique index over the locations: a 2 KB URL is past PostgreSQL's index row limit. The service
        # that records screenshots skips ones the task already has.
        ordering = ["task", "position", "id"]

    def __str__(self) -> str:
        return f"screenshot {self.position} of task #{self.task_id}"


class RefusedCallback(models.Model):
    """A snapshot callback that was not recorded on a task, for the operator's list (newest kept)."""

    class Reason(models.TextChoices):
        NO_SECRET = Refusal.NO_SECRET.value, _("No callback secret set")
        EMPTY = Refusal.EMPTY.value, _("Empty body")
        OVERSIZED = Refusal.OVERSIZED.value, _("Body too large")
        NOT_JSON = Refusal.NOT_JSON.value, _("Body not JSON")
        MISSING_FIELD = Refusal.MISSING_FIELD.value, _("Field missing")
        BAD_FIELD = Refusal.BAD_FIELD.value, _("Field invalid")
        BAD_PICTURE_LIST = Refusal.BAD_PICTURE_LIST.value, _("Bad snapshot_pic_list")
        BAD_SIGNATURE = Refusal.BAD_SIGNATURE.value, _("Bad signature")
        STALE = Refusal.STALE.value, _("Timestamp too far off")
        SIGNATURE_REUSED = Refusal.SIGNATURE_REUSED.value, _("Signature reused")
        UNKNOWN_TASK = Refusal.UNKNOWN_TASK.value, _("Unknown task")

    received_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    message = models.CharField(max_length=300, blank=True)  # what the sender was told
    http_status = models.PositiveSmallIntegerField(_("answered"))
    remote_address = models.CharField(max_length=64, blank=True)
    vendor = models.CharField(max_length=16, blank=True)  # as sent: tencent or hw
    zego_task_id = models.CharField(_("ZEGO task id"), max_length=VENDOR_TASK_ID_MAX, blank=True)
    body_excerpt = models.TextField(blank=True)  # masked: never the callback secret or a signature

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"refused callback #{self.pk}: {self.get_reason_display()}"

    @property
    def answered_ok(self) -> bool:
        return 200 <= self.http_status < 300


class CallbackReceipt(models.Model):
    """A snapshot callback recorded on a task: what makes a second delivery of it change nothing.

    Holds digests only: ``delivery`` names the signature (each is accepted once, since it does not cover the
    body), ``content`` what the callback said (a re-signed retry of the same news is a duplicate too).
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    delivery = models.CharField(max_length=64, unique=True)
    content = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "content"], name="callbackreceipt_task_content")]

    def __str__(self) -> str:
        return f"callback receipt for task #{self.task_id}"


class AuditEntry(models.Model):
    """Who did what, when: append-only. Nothing in the console or the admin changes or deletes an entry."""

    class Action(models.TextChoices):
        TASK_SUBMIT = "task_submit", _("Submitted a task")
        TASK_RESUBMIT = "task_resubmit", _("Edited and resubmitted a task")
        TASK_RETRY = "task_retry", _("Retried a task")
        RESULT_ASK = "result_ask", _("Asked ZEGO again")
        BATCH_SUBMIT = "batch_submit", _("Submitted a batch")
        BULK_RETRY = "bulk_retry", _("Started a bulk retry")
        BATCH_CANCEL = "batch_cancel", _("Cancelled a batch")
        CALLBACK_REFUSED = "callback_refused", _("Refused a callback")
        SIGNIN_FAILED = "signin_failed", _("Sign-in failed")
        SIGNIN_LOCKED = "signin_locked", _("Sign-in locked out")
        USER_CREATED = "user_created", _("User created")
        USER_CHANGED = "user_changed", _("User changed")
        ROLE_ADDED = "role_added", _("Role added")
        ROLE_REMOVED = "role_removed", _("Role removed")

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32, choices=Action.choices)
    # The account that acted; its name is kept too (an unknown name for a failed sign-in, "system" for the
    # worker), so the entry reads the same whatever happens to the account later.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries")
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["action", "-id"], name="audit_action"),
            models.Index(fields=["actor_name", "-id"], name="audit_actor"),
            models.Index(fields=["task", "-id"], name="audit_task"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'}: {self.summary}"

    @property
    def by_system(self) -> bool:
        """Nobody acted (the worker, a command): the page names the actor in the reader's language. A failed
        sign-in keeps the name typed, even "system"."""
        signin = (self.Action.SIGNIN_FAILED, self.Action.SIGNIN_LOCKED)
        return self.actor_id is None and self.actor_name == "system" and self.action not in signin


class Batch(models.Model):
    """Many tasks sent by the workers at ZEGO's pace: a batch submission, or a bulk retry of a frozen set."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Batch submission")
        RETRY = "retry", _("Bulk retry")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # A submission's shared parameters (vendor, mode, definition, time points, interval); a bulk retry's
    # frozen filter (the history query string) and whether permanent codes were included.
    parameters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many of its items' attempts ended so, kept as they end (services/tasks.py): the batch page counts
    # its thousands of finished items without reading them. The few items sending, cancelled or skipped are
    # counted from the items' index. Not positive-only: a miscount must never stop an outcome being stored.
    succeeded_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    unknown_count = models.IntegerField(default=0)
    # The form's one-time token: the same batch form posted twice makes one batch.
    submission_token = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "submission_token"], name="batch_submission_token_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.total} tasks)"


class BatchItem(models.Model):
    """One task of a batch. Its attempt is written (state sending) in the same transaction that claims the
    item, before the call: an item is never sent unrecorded, nor claimed twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Skipped")  # a bulk retry's task that was no longer retryable when its turn came

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="batch_items")
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempt = models.ForeignKey(Attempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Its attempt's state, written with it (services/tasks.py): each outcome moves one item, once, and the
    # batch's counts with it; the items sending are counted from the index.
    state = models.CharField(max_length=16, choices=State.choices, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "task"], name="batchitem_batch_task")]
        indexes = [
            models.Index(fields=["batch", "status", "position"], name="batchitem_next"),
            models.Index(fields=["task", "batch"], name="batchitem_task"),
            models.Index(fields=["batch", "status", "state"], name="batchitem_progress"),
            models.Index(fields=["batch", "sent_at"], name="batchitem_sent"),
        ]

    def __str__(self) -> str:
        return f"item {self.position} of batch #{self.batch_id}"


class WorkerTick(models.Model):
    """The worker's periodic work (dashboard/tasks.py ``tick``): when it is next due, when it last ran.

    One row per job ("tick", and "tidy" for what the tick does hourly). A tick claims its turn with a
    conditional UPDATE of ``due_at``, so that of two tick chains (two workers started at once) only one
    goes on; a ``due_at`` long past means that no chain is running.
    """

    name = models.CharField(max_length=32, primary_key=True)
    due_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"worker {self.name}, next due {self.due_at:%Y-%m-%d %H:%M:%S}"


class PacingSlot(models.Model):
    """The shared rate limit toward ZEGO: one row per (AppID, API action), holding the next free send time.

    Every process (web, workers, commands) claims its turn here through ``dashboard.pacing.DatabasePacer``,
    so that all of them together stay under ZEGO's 20 calls/s. Times are Unix seconds on the database's
    clock (PostgreSQL) or this machine's (SQLite).
    """

    app_id = models.BigIntegerField(_("AppID"))
    action = models.CharField(max_length=64)
    next_free = models.FloatField(default=0.0)
    slow_until = models.FloatField(default=0.0)  # after a Code 6: go slower until then

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app_id", "action"], name="pacingslot_app_action")]

    def __str__(self) -> str:
        return f"pacing of {self.action} for AppID {self.app_id}"


class Preference(models.Model):
    """What one operator chose for their own pages. A blank time zone follows the browser's."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"preferences of {self.user}"
