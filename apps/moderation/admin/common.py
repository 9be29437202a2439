"""What every moderation admin page shares: access by role, not by Django model permissions."""

from __future__ import annotations

from django.http import HttpRequest

from apps.accounts.access import user_can


class ModeratorOnly:
    """Admin access by role (user_can), not by Django model permissions."""

    permission = "content.moderate"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_can(request.user, self.permission)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_can(request.user, self.permission)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
