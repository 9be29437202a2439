"""Moderation's writes to forum rows and accounts, each a thin wrapper over the owning app's service
(the forum's status and flag services, accounts' standing service). Each returns (before, after)
snapshots for the audit log.

Every write is one atomic UPDATE on the row (never read-modify-write of counters); events leave
through apps.core.events after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.forum import services as forum_services
from apps.forum.models import Comment, ContentStatus, Post

Snapshot = dict[str, Any]
PUBLIC = ContentStatus.PUBLISHED


def post_snapshot(post: Post) -> Snapshot:
    return {"status": post.status, "is_locked": post.is_locked, "is_pinned": post.is_pinned}


def comment_snapshot(comment: Comment) -> Snapshot:
    return {"status": comment.status}


def user_snapshot(user: User) -> Snapshot:
    return {
        "is_active": user.is_active,
        "suspended_until": user.suspended_until.isoformat() if user.suspended_until else None,
        "suspension_reason": user.suspension_reason,
    }


# Content state changes go through the forum's own services, which keep every counter (post,
# category, thread) exact and emit the forum's events; moderation adds the audit trail around them.


@transaction.atomic
def set_post_status(post: Post, status: str, *, by: User | None, reason: str = "") -> tuple[Snapshot, Snapshot]:
    before = post_snapshot(Post.objects.select_for_update().get(pk=post.pk))
    after = forum_services.post_set_status(
        post_id=post.pk, actor=by, status=status, reason=reason[:500], system=by is None or not by.is_moderator
    )
    return before, post_snapshot(after)


@transaction.atomic
def set_post_flags(
    post: Post, *, is_locked: bool | None = None, is_pinned: bool | None = None
) -> tuple[Snapshot, Snapshot]:
    before = post_snapshot(Post.objects.select_for_update().get(pk=post.pk))
    after = forum_services.post_set_flags(
        post_id=post.pk, actor=None, is_locked=is_locked, is_pinned=is_pinned, system=True
    )
    return before, post_snapshot(after)


@transaction.atomic
def set_comment_status(
    comment: Comment, status: str, *, by: User | None, reason: str = ""
) -> tuple[Snapshot, Snapshot]:
    before = comment_snapshot(Comment.objects.select_for_update().get(pk=comment.pk))
    after = forum_services.comment_set_status(
        comment_id=comment.pk, actor=by, status=status, reason=reason[:500], system=by is None or not by.is_moderator
    )
    return before, comment_snapshot(after)


# Suspensions and bans are the account's standing, owned by accounts: moderation calls its one
# service (which audits, kills every token and emits UserSuspended / UserReinstated).


@transaction.atomic
def suspend_user(user: User, *, until: datetime | None, by: User | None, reason: str = "") -> tuple[Snapshot, Snapshot]:
    """`until=None` bans the account (a permanent suspension). Either way every token dies at once."""
    before = user_snapshot(User.objects.select_for_update().get(pk=user.pk))
    after = account_services.user_suspend(user=user, by=by, until=until, reason=reason)
    return before, user_snapshot(after)


@transaction.atomic
def lift_suspension(user: User, *, by: User | None = None, reason: str = "") -> tuple[Snapshot, Snapshot]:
    before = user_snapshot(User.objects.select_for_update().get(pk=user.pk))
    after = account_services.user_unsuspend(user=user, by=by, reason=reason)
    return before, user_snapshot(after)
