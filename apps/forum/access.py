"""Who may read and post where. Categories carry a role (read_access/post_access) and a minimum
holder tier (read_min_tier/post_min_tier, names of settings.HOLDER_TIERS compared by position).
A subcategory also obeys its parent's read rules. Moderators and admins read everything."""

from __future__ import annotations

from django.conf import settings

from apps.accounts.permissions import user_can
from apps.forum.models import Category, ContentStatus, PostAccess, ReadAccess

ROLE_RANK = {"user": 0, "moderator": 1, "admin": 2}


def tier_rank(name: str | None) -> int:
    for position, (tier, _minimum) in enumerate(settings.HOLDER_TIERS):
        if tier == name:
            return position
    return 0


def user_tier_rank(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    profile = getattr(user, "profile", None)
    return tier_rank(getattr(profile, "holder_tier", None))


def is_moderator(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user_can(user, "content.moderate")


def _role_rank(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return -1
    if user.is_superuser:
        return ROLE_RANK["admin"]
    return ROLE_RANK.get(user.role, 0)


def _reads(user, category: Category) -> bool:
    access = category.read_access
    if access != ReadAccess.ANYONE and _role_rank(user) < ROLE_RANK[access]:
        return False
    return tier_rank(category.read_min_tier) <= user_tier_rank(user) or _role_rank(user) >= ROLE_RANK["moderator"]


def can_read_category(user, category: Category, parent: Category | None = None) -> bool:
    if not _reads(user, category):
        return False
    if category.parent_id:
        parent = parent or category.parent
        return _reads(user, parent)
    return True


def can_post_in_category(user, category: Category) -> bool:
    if not user_can(user, "content.create") or not can_read_category(user, category):
        return False
    if _role_rank(user) >= ROLE_RANK["moderator"]:
        return True
    if category.is_archived:
        return False
    if _role_rank(user) < ROLE_RANK[category.post_access or PostAccess.USER]:
        return False
    return tier_rank(category.post_min_tier) <= user_tier_rank(user)


def unreadable_category_ids(user) -> list[int]:
    """Ids of the categories `user` may not read (usually none): feeds exclude them, which keeps
    the feed query on its ranking index instead of an IN list."""
    from apps.forum.reference import categories as category_tree  # per-process cache: no query

    by_id = category_tree().by_id
    return [c.id for c in by_id.values() if not can_read_category(user, c, by_id.get(c.parent_id))]


def can_see_content(user, *, status: str, author_id: int) -> bool:
    """Published content and placeholders are visible; pending/hidden only to author and moderators."""
    if status in (ContentStatus.PUBLISHED, ContentStatus.DELETED, ContentStatus.REMOVED):
        return True
    if getattr(user, "is_authenticated", False) and user.id == author_id:
        return True
    return is_moderator(user)
