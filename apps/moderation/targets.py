"""Looking up what a report or an action points at, and whether a user may see it."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.accounts.models import Role, User
from apps.accounts.permissions import ROLE_RANK, role_of
from apps.forum.models import Category, Comment, ContentStatus, Post, ReadAccess

Target = Post | Comment | User


@dataclass(frozen=True)
class TargetInfo:
    obj: Target
    target_type: str
    author_id: int | None
    category_id: int | None
    post_id: int | None


def load(target_type: str, target_id: int, *, for_update: bool = False) -> Target | None:
    model = {"post": Post, "comment": Comment, "user": User}.get(target_type)
    if model is None:
        return None
    qs = model.objects.all()
    if for_update:
        qs = qs.select_for_update()
    if model is Comment:
        qs = qs.select_related("post")
    try:
        return qs.get(pk=target_id)
    except (model.DoesNotExist, ValueError, TypeError, OverflowError):
        return None


def info(target_type: str, obj: Target) -> TargetInfo:
    if isinstance(obj, Post):
        return TargetInfo(obj, "post", obj.author_id, obj.category_id, obj.pk)
    if isinstance(obj, Comment):
        return TargetInfo(obj, "comment", obj.author_id, obj.post.category_id, obj.post_id)
    return TargetInfo(obj, "user", obj.pk, None, None)


def _tier_rank(tier: str) -> int:
    names = [name for name, _ in settings.HOLDER_TIERS]
    return names.index(tier) if tier in names else 0


def can_read_category(user: User, category: Category) -> bool:
    rank = ROLE_RANK.get(role_of(user), -1)
    if rank >= ROLE_RANK[Role.MODERATOR]:
        return True
    if category.read_access == ReadAccess.USER and rank < 0:
        return False
    if category.read_access in (ReadAccess.MODERATOR, ReadAccess.ADMIN):
        return False
    if category.read_min_tier and category.read_min_tier != "none":
        tier = getattr(getattr(user, "profile", None), "holder_tier", "none")
        return _tier_rank(tier) >= _tier_rank(category.read_min_tier)
    return True


def visible_to(user: User, obj: Target) -> bool:
    """What a member may report: published content in a category they may read, an active user."""
    if isinstance(obj, User):
        return obj.is_active
    post = obj if isinstance(obj, Post) else obj.post
    if obj.status != ContentStatus.PUBLISHED and not user.is_moderator:
        return False
    if post.status != ContentStatus.PUBLISHED and not user.is_moderator:
        return False
    return can_read_category(user, post.category)
