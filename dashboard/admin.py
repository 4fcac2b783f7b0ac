from django.contrib import admin

from .models import Attempt, Task


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "reason", "state", "request_id", "code", "message", "latency_ms", "created_by", "started_at"]
    readonly_fields = fields


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Read-only: tasks are made and retried through the console, which records every call."""

    list_display = ["id", "created_at", "vendor", "mode", "file_id", "state", "latest_code", "latest_request_id"]
    list_filter = ["vendor", "mode", "state", "latest_code"]
    search_fields = ["=attempts__request_id", "=attempts__vendor_task_id", "^file_id"]
    list_select_related = ["created_by"]
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
