"""Writes, one module per concern; each service is named ``<entity>_<action>`` and takes keyword arguments.

The names below are the public surface that views, commands and the worker call.
"""

from .batches import batch_send_turn
from .callbacks import CallbackAnswer, callback_receive, callback_refuse
from .results import ResultAskRefused, Shot, result_ask, result_poll, result_record
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
from .worker import worker_tick, worker_tick_ensure

__all__ = [
    "ABANDONED",
    "CallbackAnswer",
    "ResultAskRefused",
    "RetryNeedsConfirmation",
    "RetryRefused",
    "Shot",
    "Submission",
    "attempts_expire_stale",
    "batch_send_turn",
    "callback_receive",
    "callback_refuse",
    "result_ask",
    "result_poll",
    "result_record",
    "stale_after",
    "task_retry",
    "task_submit",
    "worker_tick",
    "worker_tick_ensure",
]
