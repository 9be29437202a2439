from django.contrib import admin, messages

from apps.core import outbox
from apps.core.models import OutboxDelivery


class DeliveryState(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("parked", "parked"), ("pending", "pending"), ("done", "done")]

    def queryset(self, request, queryset):
        if self.value() == "parked":
            return queryset.filter(parked_at__isnull=False, done_at__isnull=True)
        if self.value() == "pending":
            return queryset.filter(parked_at__isnull=True, done_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(admin.ModelAdmin):
    """The outbox's dead letters: pairs parked after EVENTS_OUTBOX_MAX_ATTEMPTS failures."""

    list_display = ("receiver", "event", "attempts", "next_attempt_at", "done_at", "parked_at", "last_error")
    list_filter = (DeliveryState,)
    search_fields = ("receiver", "event__type")
    list_select_related = ("event",)
    readonly_fields = ("event", "receiver", "attempts", "next_attempt_at", "done_at", "parked_at", "last_error")
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected deliveries now")
    def retry(self, request, queryset) -> None:
        count = outbox.retry(queryset)
        self.message_user(request, f"{count} deliveries will be retried by the relay.", messages.SUCCESS)
