"""The FileIds that make the simulator fail on purpose, one path an operator can meet each.

Data only, so the console's home page (in simulator mode) and the README's table read the same list.
They are digits, so each works for both vendors; any other FileId succeeds.
"""

from __future__ import annotations

from typing import Final


def gettext_noop(message: str) -> str:
    """Marks a description for the console's translation catalogue (makemessages looks for this name) without
    importing Django, which the simulator never loads; the home page translates it when it shows it."""
    return message


FLAKY_FILE_ID: Final = "99901000"
MISSING_FILE_ID: Final = "999041003"
THROTTLED_FILE_ID: Final = "99906"
SLOW_FILE_ID: Final = "9990408"
HTTP_500_FILE_ID: Final = "9990500"
NOT_JSON_FILE_ID: Final = "9990200"
FAILING_TASK_FILE_ID: Final = "9990999"
NEVER_FINISHING_FILE_ID: Final = "9990777"

SCRIPTED_FILE_IDS: Final[dict[str, str]] = {
    FLAKY_FILE_ID: gettext_noop("Code 1000 (Request failed) on the 1st, 3rd, 5th... call; success on each retry"),
    MISSING_FILE_ID: gettext_noop("always Code 41003 (File does not exist)"),
    THROTTLED_FILE_ID: gettext_noop("always Code 6 (Request too frequent)"),
    SLOW_FILE_ID: gettext_noop("success, but only after the slow delay (15 s by default): past the client's timeout"),
    HTTP_500_FILE_ID: gettext_noop("HTTP 500 with an HTML error page"),
    NOT_JSON_FILE_ID: gettext_noop("HTTP 200 with a body that is not JSON"),
    FAILING_TASK_FILE_ID: gettext_noop("success, then DescribeMediaTask reports the task failed (FAIL / FAILED)"),
    NEVER_FINISHING_FILE_ID: gettext_noop(
        "success, then DescribeMediaTask reports PROCESSING for ever (the task ends stuck)"
    ),
}
