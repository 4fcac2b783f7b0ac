"""Writes, one module per concern; each service is named ``<entity>_<action>`` and takes keyword arguments.

The names below are the public surface that views, commands and the worker call.
"""

from .callbacks import CallbackAnswer, callback_receive, callback_refuse
from .tasks import (
    ABANDONED,
    RetryNeedsConfirmation,
    RetryRefused,
    Submission,
    attempts_expire_stale,
    stale_after,
    task_retry,
    task_submit,
)

__all__ = [
    "ABANDONED",
    "CallbackAnswer",
    "RetryNeedsConfirmation",
    "RetryRefused",
    "Submission",
    "attempts_expire_stale",
    "callback_receive",
    "callback_refuse",
    "stale_after",
    "task_retry",
    "task_submit",
]
