"""Who may hear about a forum category or thread.

Notifications never tell anyone about a category or thread they may not read: not when they
subscribe to it, and not later when something happens there (access can shrink after subscribing:
a category turned staff-only, a post hidden by moderation, a holder tier lost). The forum's own
rules decide; like the receivers' other look-ups they are reached lazily, so this app still works
where the forum is not installed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from apps.notifications.models import TargetType


def _forum():
    try:
        from apps.core import access
        from apps.forum.models import Category, Post
    except ImportError:  # the forum is not part of this deployment
        return None
    return access, Category, Post


def can_subscribe(user, target_type: str, target_id: int) -> bool:
    """Whether `user` may watch/track/mute this category or thread. A target that does not exist
    answers like one the user may not read, so ids cannot be probed."""
    forum = _forum()
    if forum is None or target_type == TargetType.USER:
        return True
    access, Category, Post = forum
    if target_type == TargetType.CATEGORY:
        category = Category.objects.select_related("parent").filter(pk=target_id).first()
        return category is not None and access.can_read_category(user, category)
    post = Post.objects.select_related("category", "category__parent").filter(pk=target_id).first()
    return post is not None and _reads_post(access, user, post)


def notice_post(post_id: int):
    """The post as `readers_of_post` needs it (its category and status, not its text), or None
    (unknown, or no forum here)."""
    forum = _forum()
    if forum is None:
        return None
    _access, _Category, Post = forum
    return (
        Post.objects.select_related("category", "category__parent")
        .defer("body", "body_html", "excerpt", "search_vector")
        .filter(pk=post_id)
        .first()
    )


def readers_of_post(user_ids: Iterable[int], post_id: int, *, post=None) -> set[int]:
    """The users among `user_ids` who may read the post now (`post`: it from `notice_post`, when the
    caller has it already). An unknown post (deleted since, or no forum here) filters nobody: its
    notification carries nothing of it."""
    user_ids = set(user_ids)
    forum = _forum()
    if forum is None or not user_ids:
        return user_ids
    access, _Category, _Post = forum
    post = post or notice_post(post_id)
    if post is None:
        return user_ids
    users = get_user_model().objects.select_related("profile").filter(pk__in=user_ids, is_active=True)
    return {user.pk for user in users if _reads_post(access, user, post)}


def _reads_post(access, user, post) -> bool:
    return access.can_read_post(user, post)
