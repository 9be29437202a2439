"""Holder tiers as permissions, for holder-only features in other apps:

permission_classes = [IsAuthenticated, holder_at_least("holder")]
if tiers.at_least(user.profile.holder_tier, category.min_tier): ...
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.wallet import tiers


def user_tier(user) -> str:
    if not getattr(user, "is_authenticated", False):
        return tiers.lowest()
    profile = getattr(user, "profile", None)
    return getattr(profile, "holder_tier", None) or tiers.lowest()


def user_has_tier(user, required: str) -> bool:
    return tiers.at_least(user_tier(user), required)


def holder_at_least(required: str) -> type[BasePermission]:
    if required not in tiers.names():
        raise ValueError(f"unknown holder tier {required!r}")

    class _HolderAtLeast(BasePermission):
        message = f"This is for {required} tier holders and above. Link a wallet that holds the token."

        def has_permission(self, request, view) -> bool:
            return user_has_tier(request.user, required)

    _HolderAtLeast.__name__ = f"HolderAtLeast[{required}]"
    return _HolderAtLeast
