"""What the caller may read, as a set of category ids (the categories table is small).

- anonymous: categories with read_access=anyone and read_min_tier=none;
- signed-in users: read_access anyone/user (+moderator for moderators, +admin for admins), and a
  holder-only category only when their profile's holder_tier sits at or above read_min_tier in
  settings.HOLDER_TIERS (an unknown tier name reads as "above every tier": closed, never open);
- moderators and admins are not held back by holder tiers: they moderate those categories.
Search shows published rows only, to everyone (pending/hidden/removed/deleted never appear).
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from apps.accounts.models import Profile, Role
from apps.accounts.permissions import role_of
from apps.forum.models import Category, ReadAccess


def _tier_rank(name: str) -> int:
    names = [n for n, _ in settings.HOLDER_TIERS]
    return names.index(name) if name in names else len(names)


def readable_category_ids(viewer) -> list[int]:
    if not getattr(viewer, "is_authenticated", False):
        rows = Category.objects.filter(read_access=ReadAccess.ANYONE, read_min_tier__in=("", "none"))
        return sorted(rows.values_list("id", flat=True))
    role = role_of(viewer)
    access = [ReadAccess.ANYONE, ReadAccess.USER]
    if role in (Role.MODERATOR, Role.ADMIN):
        access.append(ReadAccess.MODERATOR)
    if role == Role.ADMIN:
        access.append(ReadAccess.ADMIN)
    rows = list(Category.objects.filter(read_access__in=access).values_list("id", "read_min_tier"))
    if role in (Role.MODERATOR, Role.ADMIN):
        return sorted(i for i, _ in rows)
    holder_tier = Profile.objects.filter(user_id=viewer.pk).values_list("holder_tier", flat=True).first()
    tier = _tier_rank(holder_tier or "none")
    return sorted(i for i, min_tier in rows if _tier_rank(min_tier or "none") <= tier)


def visibility_key(category_ids: list[int]) -> str:
    """Two callers who may read the same categories share cached results."""
    return hashlib.sha1(",".join(map(str, category_ids)).encode(), usedforsecurity=False).hexdigest()[:16]
