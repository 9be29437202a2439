"""The read-only audit log."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import truncatechars

from apps.moderation.admin.common import ModeratorOnly
from apps.moderation.models import AuditLogEntry


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ModeratorOnly, admin.ModelAdmin):
    permission = "audit.read"
    list_display = ["created_at", "actor", "action", "target_type", "target_id", "target_user", "reason_short"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor", "target_user"]
    search_fields = ["reason", "actor__username", "target_user__username"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    readonly_fields = [
        "created_at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target_user",
        "reviewable",
        "reason",
        "before",
        "after",
    ]
    fields = readonly_fields

    @admin.display(description="reason")
    def reason_short(self, obj: AuditLogEntry) -> str:
        return truncatechars(obj.reason, 80)
