from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Thumbnail tasks"

    def ready(self) -> None:
        from . import signals  # noqa: F401 -- connects the audit trail's receivers
