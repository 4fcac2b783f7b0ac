"""``manage.py db_worker``: django-tasks-db's worker, which first makes sure the periodic tick runs.

The same command, options and behaviour as django-tasks-db's (this app comes first in INSTALLED_APPS, so
its command of the same name is the one Django runs). Before taking tasks it starts a tick chain when none
is running (services.worker_tick_ensure): a first start, or a chain whose worker was killed at the wrong
moment, carries on with the next worker that starts.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from dashboard import services


class Command(DatabaseWorkerCommand):
    help = DatabaseWorkerCommand.help + "; thumbs: first starts the periodic tick if none is running"

    def handle(self, *args: Any, **options: Any) -> None:
        services.worker_tick_ensure()
        super().handle(*args, **options)
