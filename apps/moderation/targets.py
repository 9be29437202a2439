"""Looking up what a report or an action points at, and whether a user may see it."""

from __future__ import annotations

from dataclasses import dataclass

from apps.accounts.models import User
from apps.core import access
from apps.forum.models import Comment, ContentStatus, Post

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


def visible_to(user: User, obj: Target) -> bool:
    """What a member may report: published content they may read, a user whose profile they see
    (anything else answers like a missing target)."""
    if isinstance(obj, User):
        return access.can_see_user(user, obj)
    post = obj if isinstance(obj, Post) else obj.post
    if obj.status != ContentStatus.PUBLISHED and not user.is_moderator:
        return False
    if post.status != ContentStatus.PUBLISHED and not user.is_moderator:
        return False
    return access.can_read_comment(user, obj) if isinstance(obj, Comment) else access.can_read_post(user, obj)
