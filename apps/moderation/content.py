"""Moderation's writes to forum rows and accounts, kept small so they can be pointed at the forum's
own services when those exist. Each returns (before, after) snapshots for the audit log.

Every write is one atomic UPDATE on the row (never read-modify-write of counters); events leave
through apps.core.events after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.events import UserSuspended
from apps.accounts.models import User
from apps.core import events, realtime
from apps.forum.events import CommentDeleted, PostDeleted
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


@transaction.atomic
def set_post_status(post: Post, status: str, *, by: User | None, reason: str = "") -> tuple[Snapshot, Snapshot]:
    post = Post.objects.select_for_update().get(pk=post.pk)
    before = post_snapshot(post)
    if post.status != status:
        now = timezone.now()
        Post.objects.filter(pk=post.pk).update(
            status=status, status_changed_at=now, status_changed_by=by, status_reason=reason[:500]
        )
        post.status = status
        if before["status"] == PUBLIC and status != PUBLIC:
            events.emit(PostDeleted(post_id=post.pk, author_id=post.author_id, by_moderator=True))
        realtime.broadcast(f"post:{post.pk}", "post.updated", {"id": post.pk, "status": status})
    return before, post_snapshot(post)


@transaction.atomic
def set_post_flags(
    post: Post, *, is_locked: bool | None = None, is_pinned: bool | None = None
) -> tuple[Snapshot, Snapshot]:
    post = Post.objects.select_for_update().get(pk=post.pk)
    before = post_snapshot(post)
    changes: dict[str, bool] = {}
    if is_locked is not None and is_locked != post.is_locked:
        changes["is_locked"] = is_locked
    if is_pinned is not None and is_pinned != post.is_pinned:
        changes["is_pinned"] = is_pinned
    if changes:
        Post.objects.filter(pk=post.pk).update(**changes)
        for key, value in changes.items():
            setattr(post, key, value)
        realtime.broadcast(f"post:{post.pk}", "post.updated", {"id": post.pk, **changes})
    return before, post_snapshot(post)


@transaction.atomic
def set_comment_status(
    comment: Comment, status: str, *, by: User | None, reason: str = ""
) -> tuple[Snapshot, Snapshot]:
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    before = comment_snapshot(comment)
    old = comment.status
    if old != status:
        Comment.objects.filter(pk=comment.pk).update(
            status=status, status_changed_at=timezone.now(), status_changed_by=by, status_reason=reason[:500]
        )
        comment.status = status
        # Post.comment_count counts published comments only.
        if old == PUBLIC and status != PUBLIC:
            Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") - 1)
            events.emit(
                CommentDeleted(
                    comment_id=comment.pk, post_id=comment.post_id, author_id=comment.author_id, by_moderator=True
                )
            )
        elif old != PUBLIC and status == PUBLIC:
            Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") + 1)
        realtime.broadcast(
            f"post:{comment.post_id}",
            "comment.updated",
            {"id": comment.pk, "post_id": comment.post_id, "status": status},
        )
    return before, comment_snapshot(comment)


@transaction.atomic
def suspend_user(user: User, *, until: datetime | None, by: User | None, reason: str = "") -> tuple[Snapshot, Snapshot]:
    """`until=None` bans (deactivates) the account. Either way every token dies at once."""
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user_snapshot(user)
    fields: dict[str, Any] = {"suspension_reason": reason[:500], "token_version": F("token_version") + 1}
    if until is None:
        fields.update(is_active=False, suspended_until=None)
    else:
        fields.update(suspended_until=until)
    User.objects.filter(pk=user.pk).update(**fields)
    user.refresh_from_db(fields=["is_active", "suspended_until", "suspension_reason", "token_version"])
    events.emit(
        UserSuspended(
            user_id=user.pk,
            by_user_id=by.pk if by else None,
            until=until.isoformat().replace("+00:00", "Z") if until else None,
            reason=reason,
        )
    )
    return before, user_snapshot(user)


@transaction.atomic
def lift_suspension(user: User) -> tuple[Snapshot, Snapshot]:
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user_snapshot(user)
    User.objects.filter(pk=user.pk).update(is_active=True, suspended_until=None, suspension_reason="")
    user.refresh_from_db(fields=["is_active", "suspended_until", "suspension_reason"])
    return before, user_snapshot(user)
