from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Attempt, AuditEntry, Task


class ReadOnlyMixin:
    """The history is the record: nobody adds, changes or deletes it here, superusers included.
    Retention, if ever, is a command with its own audit entry."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "reason", "state", "request_id", "code", "message", "latency_ms", "created_by", "started_at"]
    readonly_fields = fields


@admin.register(Task)
class TaskAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Read-only: tasks are made and retried through the console, which records every call."""

    list_display = ["id", "created_at", "vendor", "mode", "file_id", "state", "latest_code", "latest_request_id"]
    list_filter = ["vendor", "mode", "state", "latest_code"]
    search_fields = ["=attempts__request_id", "=attempts__vendor_task_id", "^file_id"]
    list_select_related = ["created_by"]
    inlines = [AttemptInline]
    actions = None  # no "Delete selected"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail, read-only like the history (the console's /audit/ page shows the same)."""

    list_display = ["at", "actor_name", "action", "summary", "task", "remote_addr"]
    list_filter = ["action"]
    search_fields = ["=actor_name", "summary"]
    actions = None
