from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Thumbnail tasks"

    def ready(self) -> None:
        # Imported for their side effects: the system checks register, the audit trail's receivers connect.
        from . import checks, signals  # noqa: F401
