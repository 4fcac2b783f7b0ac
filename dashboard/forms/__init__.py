"""The console's forms: one per screenshot mode (tasks), the searches, batches and an operator's settings."""

from .batches import BATCH_FORMS, SHOWN_PROBLEMS, UPLOAD_MAX_BYTES, BatchFormMixin
from .preferences import PreferenceForm
from .search import AuditSearchForm, HistorySearchForm
from .tasks import (
    DEFINITION_MAX,
    FORMS,
    HUAWEI_FILE_ID_MAX,
    HUAWEI_MAX_TIME_POINTS,
    MAX_TIME_POINT_SECONDS,
    TENCENT_FILE_ID_MAX,
    TENCENT_MAX_TIME_POINTS,
    IntervalForm,
    TaskForm,
    TimePointsForm,
    file_id_problem,
    parse_time_points,
)

__all__ = [
    "BATCH_FORMS",
    "DEFINITION_MAX",
    "FORMS",
    "HUAWEI_FILE_ID_MAX",
    "HUAWEI_MAX_TIME_POINTS",
    "MAX_TIME_POINT_SECONDS",
    "SHOWN_PROBLEMS",
    "TENCENT_FILE_ID_MAX",
    "TENCENT_MAX_TIME_POINTS",
    "UPLOAD_MAX_BYTES",
    "AuditSearchForm",
    "BatchFormMixin",
    "HistorySearchForm",
    "IntervalForm",
    "PreferenceForm",
    "TaskForm",
    "TimePointsForm",
    "file_id_problem",
    "parse_time_points",
]
