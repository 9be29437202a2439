"""Comment writes: threaded create (materialised paths), edit, delete and moderation's status changes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core.access import can_comment_in_category, is_moderator
from apps.core.events import emit
from apps.core.exceptions import NotFound, PermissionDeniedError, ValidationFailed
from apps.forum import broadcasts, hooks
from apps.forum.content_rules import ContentGone, clean_body
from apps.forum.events import CommentCreated, CommentDeleted
from apps.forum.models import PLACEHOLDER_STATUSES, Category, Comment, ContentStatus, Post
from apps.forum.rendering import render
from apps.forum.services.checks import (
    check_status_change,
    check_visible_comment,
    check_visible_post,
    deletion_status,
    emit_mentions,
    lock_comment,
    require_contributor,
    require_editable,
)


def _next_comment_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('comments', 'id'))")
        return cursor.fetchone()[0]


def comment_path(parent_path: str, comment_id: int) -> str:
    return f"{parent_path}{comment_id:010d}."


@transaction.atomic
def comment_create(*, author: User, post_id: int, body: str, parent_id: int | None = None) -> Comment:
    post = (
        Post.objects.select_related("category", "category__parent")
        .defer("body", "body_html", "excerpt", "search_vector")  # a comment needs the post's rules, not its text
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise NotFound("Post not found.")
    check_visible_post(author, post)
    require_contributor(author)
    moderator = is_moderator(author)
    if post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot comment on a deleted or hidden post.")
    if post.is_locked and not moderator:
        raise PermissionDeniedError("This thread is locked.")
    if not can_comment_in_category(author, post.category):
        raise PermissionDeniedError("You may not comment in this category.")
    body = clean_body(body, maximum=settings.FORUM_COMMENT_BODY_MAX_LENGTH)
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id, post_id=post.pk).only("id", "path", "depth", "status").first()
        if parent is None:
            raise ValidationFailed("Unknown parent comment.", details={"parent_id": ["Not a comment of this post."]})
        if parent.status != ContentStatus.PUBLISHED:
            raise ContentGone("You cannot reply to a deleted comment.")
        if parent.depth + 1 > settings.FORUM_COMMENT_MAX_DEPTH:
            msg = f"Replies nest at most {settings.FORUM_COMMENT_MAX_DEPTH} levels deep."
            raise ValidationFailed(msg, details={"parent_id": [msg]})
    verdict = hooks.content_gate().check_comment(author, body)
    verdict.raise_if_blocked()
    rendered = render(body)
    now = timezone.now()
    comment_id = _next_comment_id()
    comment = Comment.objects.create(
        id=comment_id,
        post=post,
        parent=parent,
        author=author,
        depth=parent.depth + 1 if parent else 0,
        path=comment_path(parent.path if parent else "", comment_id),
        body=body,
        body_html=rendered.html,
        status=verdict.status,
        created_at=now,
    )
    if parent is not None:
        Comment.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
    hooks.content_gate().after_create(verdict, "comment", comment.pk)
    hooks.content_saved("comment", comment)
    if verdict.status != ContentStatus.PUBLISHED:
        return comment  # held for approval: counted and announced when a moderator approves it
    Post.objects.filter(pk=post.pk).update(
        comment_count=F("comment_count") + 1, last_activity_at=now, last_comment_at=now
    )
    Category.objects.filter(pk=post.category_id).update(comment_count=F("comment_count") + 1)
    emit_mentions(author=author, usernames=rendered.mentions, post_id=post.pk, comment_id=comment.pk)
    emit(
        CommentCreated(
            comment_id=comment.pk,
            post_id=post.pk,
            author_id=author.pk,
            category_id=post.category_id,
            parent_id=parent.pk if parent else None,
        )
    )
    broadcasts.comment_event(comment, "comment.created")
    return comment


@transaction.atomic
def comment_update(*, comment_id: int, editor: User, body: str) -> Comment:
    comment = lock_comment(comment_id)
    check_visible_comment(editor, comment)
    require_editable(editor, comment, noun="comment", thread_locked=comment.post.is_locked)
    body = clean_body(body, maximum=settings.FORUM_COMMENT_BODY_MAX_LENGTH)
    if body == comment.body:
        return comment
    verdict = hooks.content_gate().check_comment_edit(editor, body)  # the creation gate, again
    verdict.raise_if_blocked()
    old_mentions = {m.lower() for m in render(comment.body).mentions}
    rendered = render(body)
    comment.body, comment.body_html, comment.edited_at = body, rendered.html, timezone.now()
    comment.save(update_fields=["body", "body_html", "edited_at", "updated_at"])
    hooks.content_gate().after_create(verdict, "comment", comment.pk)
    hooks.content_saved("comment", comment)
    emit_mentions(
        author=editor,
        usernames=[m for m in rendered.mentions if m.lower() not in old_mentions],
        post_id=comment.post_id,
        comment_id=comment.pk,
    )
    broadcasts.comment_event(comment, "comment.updated")
    return comment


def _move_comment_status(comment: Comment, new_status: str, *, actor: User | None, reason: str) -> None:
    was_published = comment.status == ContentStatus.PUBLISHED
    now_published = new_status == ContentStatus.PUBLISHED
    if was_published != now_published:
        delta = 1 if now_published else -1
        Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") + delta)
        Category.objects.filter(pk=comment.post.category_id).update(comment_count=F("comment_count") + delta)
    comment.status = new_status
    comment.status_changed_at = timezone.now()
    comment.status_changed_by = actor
    comment.status_reason = (reason or "")[:500]
    comment.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_reason", "updated_at"])


@transaction.atomic
def comment_delete(*, comment_id: int, actor: User, reason: str = "") -> Comment:
    comment = lock_comment(comment_id)
    check_visible_comment(actor, comment)
    new_status = deletion_status(actor, author_id=comment.author_id, what="comments")
    if comment.status in PLACEHOLDER_STATUSES:
        return comment
    _move_comment_status(comment, new_status, actor=actor, reason=reason)
    emit(
        CommentDeleted(
            comment_id=comment.pk,
            post_id=comment.post_id,
            author_id=comment.author_id,
            by_moderator=new_status == ContentStatus.REMOVED,
        )
    )
    broadcasts.comment_event(comment, "comment.deleted")
    return comment


@transaction.atomic
def comment_set_status(
    *, comment_id: int, actor: User | None, status: str, reason: str = "", system: bool = False
) -> Comment:
    """Moderation: hide, remove or restore a comment, keeping counters exact (`system`: see post_set_status)."""
    check_status_change(actor, status, system=system)
    comment = lock_comment(comment_id)
    if comment.status == status:
        return comment
    previous = comment.status
    _move_comment_status(comment, status, actor=actor, reason=reason)
    if status in PLACEHOLDER_STATUSES and previous not in PLACEHOLDER_STATUSES:
        emit(
            CommentDeleted(
                comment_id=comment.pk, post_id=comment.post_id, author_id=comment.author_id, by_moderator=True
            )
        )
    if previous == ContentStatus.PENDING and status == ContentStatus.PUBLISHED:
        # Approved: it goes public now, as a new comment.
        emit(
            CommentCreated(
                comment_id=comment.pk,
                post_id=comment.post_id,
                author_id=comment.author_id,
                category_id=comment.post.category_id,
                parent_id=comment.parent_id,
            )
        )
        broadcasts.comment_event(comment, "comment.created")
    else:
        broadcasts.comment_event(comment, "comment.updated")
    return comment
