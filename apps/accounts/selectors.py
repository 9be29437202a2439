"""Reads of the accounts area."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import AccountAuditLog, AuthSession, ProfileVisibility, User
from apps.accounts.permissions import user_can
from apps.core.exceptions import NotFound


def is_owner_or_admin(viewer, user: User) -> bool:
    return bool(getattr(viewer, "is_authenticated", False)) and (
        viewer.pk == user.pk or user_can(viewer, "users.view_private")
    )


def can_see_profile(viewer, user: User) -> bool:
    if is_owner_or_admin(viewer, user):
        return True
    if not user.is_active:
        return False
    visibility = user.profile.visibility
    if visibility == ProfileVisibility.EVERYONE:
        return True
    if visibility == ProfileVisibility.MEMBERS:
        return bool(getattr(viewer, "is_authenticated", False))
    return False


def user_get(*, user_id, viewer) -> User:
    """The user if the viewer may see their profile; otherwise 404 (never leak existence)."""
    try:
        user = User.objects.select_related("profile").get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not can_see_profile(viewer, user):
        raise NotFound()
    return user


def user_get_any(*, user_id) -> User:
    try:
        return User.objects.select_related("profile").get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def session_list(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-last_used_at", "-created_at"
    )


def audit_list(*, target: User) -> QuerySet[AccountAuditLog]:
    return AccountAuditLog.objects.filter(target=target).select_related("actor__profile")
