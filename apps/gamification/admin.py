from django.contrib import admin

from apps.gamification.models import (
    Achievement,
    Activity,
    Level,
    PointTransaction,
    UserAchievement,
    VoteRingReport,
)


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "points", "daily_cap", "counts_toward_daily_cap", "is_active"]
    list_editable = ["points", "daily_cap", "is_active"]


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "min_points", "perks"]


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "tier", "criteria_type", "bonus_points", "secret", "is_active"]
    list_filter = ["tier", "criteria_type", "secret", "is_active"]
    search_fields = ["code", "name"]


@admin.register(PointTransaction)
class PointTransactionAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only (corrections are reversals made by services)."""

    list_display = ["id", "user", "activity", "kind", "amount", "source_type", "source_id", "created_at"]
    list_filter = ["kind", "activity"]
    search_fields = ["user__username", "idempotency_key"]
    raw_id_fields = ["user", "reverses"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UserAchievement)
class UserAchievementAdmin(admin.ModelAdmin):
    list_display = ["user", "achievement", "unlocked_at"]
    raw_id_fields = ["user"]


@admin.register(VoteRingReport)
class VoteRingReportAdmin(admin.ModelAdmin):
    list_display = ["id", "members", "reversed_transactions", "reversed_points", "status", "created_at"]
    list_filter = ["status"]
    list_editable = ["status"]
