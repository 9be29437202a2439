"""Watched words: moderators add and remove them through the services (audited, cache cleared)."""

from __future__ import annotations

from django.contrib import admin

from apps.accounts.access import user_can
from apps.moderation import services
from apps.moderation.models import WatchedWord


@admin.register(WatchedWord)
class WatchedWordAdmin(admin.ModelAdmin):
    list_display = ["word", "action", "created_by", "created_at"]
    list_filter = ["action"]
    search_fields = ["word"]
    fields = ["word", "action"]

    def has_module_permission(self, request):
        return user_can(request.user, "content.moderate")

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, "content.moderate")

    def has_add_permission(self, request):
        return user_can(request.user, "content.moderate")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return user_can(request.user, "content.moderate")

    def save_model(self, request, obj, form, change):
        saved = services.watched_word_add(actor=request.user, word=obj.word, action=obj.action)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.watched_word_remove(actor=request.user, word_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.watched_word_remove(actor=request.user, word_id=obj.pk)
