from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Thumbnail tasks"

    def ready(self) -> None:
        # Imported for their side effects: the system checks register, the audit trail's receivers connect.
        from . import checks, signals  # noqa: F401
        from .pacing import DatabasePacer
        from .zego import pacing

        # dashboard/zego never imports models: it is handed the pacer whose state is in the database, so
        # that every client made in any process of the console (web, workers, commands) shares one limit.
        pacing.install_shared(DatabasePacer())
