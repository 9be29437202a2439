from django.contrib import admin

from apps.realtime.models import PresenceEntry


@admin.register(PresenceEntry)
class PresenceEntryAdmin(admin.ModelAdmin):
    """Who is in which room (only used without Redis; with Redis presence lives there)."""

    list_display = ("room", "user_id", "socket_id", "expires_at")
    list_filter = ("room",)
    search_fields = ("room",)
