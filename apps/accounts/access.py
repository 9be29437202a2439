"""Roles and permissions, evaluated at request time.

`user_can(user, "forum.post")` is the one question every endpoint asks. A permission names the
lowest role that holds it; other sources (holder tier, level) can be added to `user_can` later
without touching the endpoints.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from rest_framework.permissions import BasePermission

from apps.accounts.models import Role

ROLE_RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}

# permission -> lowest role that has it
PERMISSIONS: dict[str, str] = {
    "content.create": Role.USER,  # post, comment, vote (needs a verified email under mandatory)
    "content.moderate": Role.MODERATOR,  # pin, lock, hide, remove, review reports
    "users.suspend": Role.MODERATOR,
    "users.assign_role": Role.ADMIN,
    "audit.read": Role.MODERATOR,
    "users.view_private": Role.ADMIN,  # email, settings, sessions of other users
    "users.edit_any": Role.ADMIN,  # edit another user's profile
}

CONTRIBUTION_PERMISSIONS = {"content.create"}


def role_of(user) -> str:
    if not getattr(user, "is_authenticated", False):
        return ""
    if user.is_superuser:
        return Role.ADMIN
    return user.role


# Other standing (holder tier, level...) can grant a permission the role alone does not:
# `register_grant(fn)` with fn(user, permission) -> bool, asked at request time. A grant never
# lifts a suspension nor the email-verification rule for contributions.
Grant = Callable[[object, str], bool]
_grants: list[Grant] = []


def register_permission(permission: str, lowest_role: str, *, contribution: bool = False) -> None:
    """Another app adds its own permission (e.g. "market.create_alert" for users)."""
    PERMISSIONS[permission] = lowest_role
    if contribution:
        CONTRIBUTION_PERMISSIONS.add(permission)


def register_grant(grant: Grant) -> None:
    if grant not in _grants:
        _grants.append(grant)


def user_can(user, permission: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.in_good_standing:
        return False
    needed = PERMISSIONS[permission]
    if ROLE_RANK.get(role_of(user), -1) < ROLE_RANK[needed] and not any(g(user, permission) for g in _grants):
        return False
    if permission in CONTRIBUTION_PERMISSIONS and settings.EMAIL_VERIFICATION == "mandatory":
        return (
            user.email_verified or ROLE_RANK[role_of(user)] >= ROLE_RANK[Role.MODERATOR] or _has_verified_wallet(user)
        )
    return True


def _has_verified_wallet(user) -> bool:
    # A wallet is one more way in: a wallet-only account has no email to verify. The wallet app
    # answers either through a `has_verified_wallet` attribute or as an identity source.
    if getattr(user, "has_verified_wallet", False):
        return True
    from apps.accounts import identity

    return any(i.kind == "wallet" and i.verified for i in identity.identities_of(user))


def require(permission: str) -> type[BasePermission]:
    """DRF permission class: `permission_classes = [require("content.create")]`."""

    class _Require(BasePermission):
        message = "You do not have permission to do this."

        def has_permission(self, request, view) -> bool:
            return user_can(request.user, permission)

    _Require.__name__ = f"Require[{permission}]"
    return _Require
