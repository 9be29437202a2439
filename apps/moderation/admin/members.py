"""The member page (moderation history, warn/suspend/ban) and the history inline on the accounts
User page."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html_join

from apps.accounts.access import user_can
from apps.accounts.admin import ReadOnlyInline, register_user_inline
from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.moderation import services
from apps.moderation.admin.common import ModeratorOnly
from apps.moderation.models import AuditLogEntry, ModeratedUser, Reviewable


class UserModerationHistoryInline(ReadOnlyInline):
    """Every moderation action that fell on a member, on the accounts User page and the members page."""

    model = AuditLogEntry
    fk_name = "target_user"
    fields = ["created_at", "actor", "action", "target_type", "target_id", "reason"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "moderation history"

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, "audit.read")


def _user_bulk(action: str, label: str, hours: int | None = None):
    def run(modeladmin, request, queryset):
        for member in queryset:
            try:
                services.moderate(
                    actor=request.user,
                    action=action,
                    target_type="user",
                    target_id=member.pk,
                    reason=f"{label} from the admin",
                    duration=timedelta(hours=hours) if hours else None,
                )
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{member.username}: {exc.message}", messages.WARNING)
            else:
                modeladmin.message_user(request, f"{member.username}: {label} done.", messages.SUCCESS)

    run.__name__ = f"user_{action}_{hours or 0}"
    run.short_description = label
    return run


@admin.register(ModeratedUser)
class ModeratedUserAdmin(ModeratorOnly, admin.ModelAdmin):
    permission = "users.suspend"
    list_display = ["username", "role", "is_active", "suspended_until", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "email"]
    ordering = ["-id"]
    fields = ["username", "role", "is_active", "suspended_until", "suspension_reason", "date_joined", "reports_summary"]
    readonly_fields = fields
    inlines = [UserModerationHistoryInline]
    actions = [
        _user_bulk("warn", "Warn"),
        _user_bulk("suspend", "Suspend for 24 hours", 24),
        _user_bulk("suspend", "Suspend for 7 days", 24 * 7),
        _user_bulk("ban", "Ban"),
        _user_bulk("unsuspend", "Lift suspension/ban"),
    ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="reports against this member's content")
    def reports_summary(self, obj: User) -> str:
        rows = (
            Reviewable.objects.filter(target_user=obj)
            .order_by("-id")
            .values_list("id", "target_type", "target_id", "status", "score")[:20]
        )
        if not rows:
            return "none"
        return format_html_join(
            "",
            '<div><a href="{}">#{}</a> {} {}: {} (score {:.1f})</div>',
            (
                (reverse("admin:moderation_reviewable_change", args=[rid]), rid, ttype, tid, status, score)
                for rid, ttype, tid, status, score in rows
            ),
        )


register_user_inline(UserModerationHistoryInline)
