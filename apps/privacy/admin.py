"""Read-only records of deletions and IP scrubs (no personal data in either)."""

from django.contrib import admin

from apps.privacy.models import AccountErasure, IpScrubRun


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccountErasure)
class AccountErasureAdmin(ReadOnly):
    list_display = ["user_id", "method", "requested_at", "completed_at", "runs"]
    list_filter = ["method"]
    readonly_fields = ["user_id", "method", "counts", "requested_at", "completed_at", "runs"]


@admin.register(IpScrubRun)
class IpScrubRunAdmin(ReadOnly):
    list_display = ["ran_at", "cutoff", "counts"]
    readonly_fields = ["ran_at", "cutoff", "counts"]
