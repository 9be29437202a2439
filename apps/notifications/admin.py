from django.contrib import admin

from apps.notifications.models import Notification, NotificationSettings, Subscription


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "type", "title", "count", "read_at", "emailed_at", "created_at")
    list_filter = ("type", ("read_at", admin.EmptyFieldListFilter), ("emailed_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "user__username")
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = ("first_created_at",)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "email_frequency", "dnd_until", "last_visit_at", "last_digest_at")
    list_filter = ("email_frequency",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "target_type", "target_id", "level", "updated_at")
    list_filter = ("target_type", "level")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
