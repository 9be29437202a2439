from django.contrib import admin

from apps.market.models import MarketCandle, MarketMilestone, MarketMove, MarketSnapshot, PriceAlert, SourceHealth


@admin.register(MarketMilestone)
class MarketMilestoneAdmin(admin.ModelAdmin):
    list_display = ["label", "market_cap_usd", "reached_at", "reached_price_usd", "above_since"]
    search_fields = ["label"]
    readonly_fields = [
        "above_since",
        "reached_at",
        "reached_price_usd",
        "reached_market_cap_usd",
        "reached_snapshot_id",
        "created_at",
        "updated_at",
    ]
    fields = ["label", "market_cap_usd", *readonly_fields]


@admin.register(SourceHealth)
class SourceHealthAdmin(admin.ModelAdmin):
    list_display = ["source", "state", "consecutive_failures", "backoff_until", "last_success_at", "last_error"]
    actions = ["reset"]

    @admin.action(description="Reset (close the circuit, end the back-off)")
    def reset(self, request, queryset):
        queryset.update(state="closed", consecutive_failures=0, backoff_until=None)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MarketSnapshot)
class MarketSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["taken_at", "source", "confirmed_by", "price_usd", "market_cap_usd", "volume_24h_usd"]
    list_filter = ["source"]
    date_hierarchy = "taken_at"
    show_full_result_count = False


@admin.register(MarketCandle)
class MarketCandleAdmin(ReadOnlyAdmin):
    list_display = ["interval", "bucket", "open", "high", "low", "close", "volume", "samples"]
    list_filter = ["interval"]
    show_full_result_count = False


@admin.register(MarketMove)
class MarketMoveAdmin(ReadOnlyAdmin):
    list_display = ["detected_at", "change_pct", "window_minutes", "reference_price_usd", "price_usd"]


@admin.register(PriceAlert)
class PriceAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "target_price_usd", "change_pct", "repeating", "status", "trigger_count"]
    list_filter = ["kind", "status", "repeating"]
    raw_id_fields = ["user"]
    search_fields = ["user__username"]
    readonly_fields = ["trigger_above", "trigger_below", "trigger_count", "last_triggered_at", "created_at"]
