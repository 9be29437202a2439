"""Reads for the moderation API and admin: the queue (with its targets loaded in bulk) and the log."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from apps.accounts.models import User
from apps.core import access
from apps.forum.models import Comment, Post
from apps.moderation.models import AuditLogEntry, Report, Reviewable


def reviewable_queue(
    *,
    viewer,
    status: str | None = "pending",
    reason: str | None = None,
    category: str | None = None,
    target_type: str | None = None,
) -> QuerySet[Reviewable]:
    qs = Reviewable.objects.select_related("target_user__profile", "claimed_by", "category").prefetch_related(
        Prefetch("reports", queryset=Report.objects.select_related("reporter").order_by("-weight", "id"))
    )
    # Staff review what they may read: a moderator does not see reports about admin-only content.
    qs = qs.filter(access.readable_filter(viewer, "category_id"))
    if status:
        qs = qs.filter(status=status)
    if reason:
        qs = qs.filter(reasons__contains=[reason])
    if category:
        qs = qs.filter(category__slug=category)
    if target_type:
        qs = qs.filter(target_type=target_type)
    return qs


def attach_targets(reviewables: Iterable[Reviewable]) -> list[Reviewable]:
    """Set `.target` on each reviewable (the post, comment or user, or None if gone): one query
    per target type, whatever the page size."""
    rows = list(reviewables)
    ids: dict[str, set[int]] = {"post": set(), "comment": set(), "user": set()}
    for row in rows:
        ids[row.target_type].add(row.target_id)
    found: dict[str, dict[int, object]] = {"post": {}, "comment": {}, "user": {}}
    if ids["post"]:
        found["post"] = Post.objects.select_related("category").in_bulk(ids["post"])
    if ids["comment"]:
        found["comment"] = Comment.objects.select_related("post").in_bulk(ids["comment"])
    if ids["user"]:
        found["user"] = User.objects.in_bulk(ids["user"])
    for row in rows:
        row.target = found[row.target_type].get(row.target_id)
    return rows


def audit_log(
    *,
    viewer,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    target_user_id: int | None = None,
    action: str | None = None,
) -> QuerySet[AuditLogEntry]:
    qs = AuditLogEntry.objects.select_related("actor", "target_user")
    hidden = access.unreadable_category_ids(viewer)
    if hidden:  # actions on content the viewer may not read (admin-only, for a moderator)
        posts = Post.objects.filter(category_id__in=hidden).values("id")
        comments = Comment.objects.filter(post__category_id__in=hidden).values("id")
        qs = qs.exclude(Q(target_type="post", target_id__in=posts) | Q(target_type="comment", target_id__in=comments))
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if target_user_id:
        qs = qs.filter(target_user_id=target_user_id)
    if action:
        qs = qs.filter(action=action)
    return qs
