"""Checks every forum write shares: who may contribute, which tags and category a post may carry,
who may see the item being written (and its row lock), and the mentions a body announces."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db.models.functions import Lower

from apps.accounts.access import user_can
from apps.accounts.models import User
from apps.core.access import can_post_in_category, can_read_category, can_read_post, can_see_content, is_moderator
from apps.core.events import emit
from apps.core.exceptions import NotFound, PermissionDeniedError, ValidationFailed
from apps.forum.content_rules import ContentGone, normalise_tag
from apps.forum.events import UserMentioned
from apps.forum.models import PLACEHOLDER_STATUSES, Category, Comment, ContentStatus, Post, Tag

MAX_MENTIONS = 20


def resolve_tags(*, actor, raw: Sequence[str] | None) -> list[Tag]:
    """Normalise, deduplicate (order kept), check the maximum and that each tag exists (moderators,
    or everyone when FORUM_ALLOW_NEW_TAGS, create missing ones)."""
    raw = list(raw or [])
    slugs: list[str] = []
    for item in raw:
        slug = normalise_tag(item) if isinstance(item, str) else ""
        if not slug or len(slug) > settings.FORUM_TAG_MAX_LENGTH:
            msg = f"Invalid tag {str(item)[:50]!r}: 1 to {settings.FORUM_TAG_MAX_LENGTH} letters, digits or dashes."
            raise ValidationFailed(msg, details={"tags": [msg]})
        if slug not in slugs:
            slugs.append(slug)
    if len(slugs) > settings.FORUM_MAX_TAGS_PER_POST:
        msg = f"At most {settings.FORUM_MAX_TAGS_PER_POST} tags per post."
        raise ValidationFailed(msg, details={"tags": [msg]})
    if not slugs:
        return []
    found = {t.slug: t for t in Tag.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        if not (settings.FORUM_ALLOW_NEW_TAGS or is_moderator(actor)):
            msg = f"Unknown tag(s): {', '.join(missing)}."
            raise ValidationFailed(msg, details={"tags": [msg]})
        Tag.objects.bulk_create([Tag(slug=s, name=s) for s in missing], ignore_conflicts=True)
        found = {t.slug: t for t in Tag.objects.filter(slug__in=slugs)}
    return [found[s] for s in slugs]


def category_for_posting(*, user, slug: str | None) -> Category:
    """An unknown category, or one the user may not even read, is a 400 (no existence leak)."""
    category = Category.objects.select_related("parent").filter(slug=slug or "").first()
    if category is None or not can_read_category(user, category):
        raise ValidationFailed("Unknown category.", details={"category": ["Unknown category."]})
    if not can_post_in_category(user, category):
        raise PermissionDeniedError("You may not post in this category.")
    return category


def require_contributor(user) -> None:
    if not user_can(user, "content.create"):
        raise PermissionDeniedError(
            "You may not post, comment or vote (verify your email, or your account is suspended)."
        )


def require_editable(editor, item: Post | Comment, *, noun: str, thread_locked: bool) -> None:
    """Who may edit a post or a comment: its author (a contributor in good standing) or a moderator;
    never a deleted one, and in a locked thread only a moderator."""
    moderator = is_moderator(editor)
    if item.author_id != editor.pk and not moderator:
        raise PermissionDeniedError(f"You can only edit your own {noun}s.")
    if not moderator:
        require_contributor(editor)
    if item.status in PLACEHOLDER_STATUSES:
        raise ContentGone(f"A deleted {noun} cannot be edited.")
    if thread_locked and not moderator:
        raise PermissionDeniedError("This thread is locked.")


def emit_mentions(*, author, usernames: Sequence[str], post_id: int, comment_id: int | None = None) -> None:
    wanted = {u.lower() for u in list(usernames)[:MAX_MENTIONS]}
    if not wanted:
        return
    ids = (
        User.objects.annotate(lname=Lower("username"))
        .filter(lname__in=wanted, is_active=True)
        .exclude(pk=author.pk)
        .values_list("id", flat=True)
    )
    for user_id in ids:
        emit(UserMentioned(mentioned_user_id=user_id, author_id=author.pk, post_id=post_id, comment_id=comment_id))


def check_visible_post(user, post: Post) -> None:
    if not can_read_post(user, post):
        raise NotFound("Post not found.")


def check_visible_comment(user, comment: Comment) -> None:
    check_visible_post(user, comment.post)
    if not can_see_content(user, status=comment.status, author_id=comment.author_id):
        raise NotFound("Comment not found.")


def deletion_status(actor: User, *, author_id: int, what: str) -> str:
    """An author deletes (`deleted`), a moderator removes (`removed`); nobody else may."""
    if author_id == actor.pk:
        return ContentStatus.DELETED
    if is_moderator(actor):
        return ContentStatus.REMOVED
    raise PermissionDeniedError(f"You can only delete your own {what}.")


def check_status_change(actor: User | None, status: str, *, system: bool) -> None:
    """Only moderators (or moderation itself, `system`) move content between statuses."""
    if not system and not is_moderator(actor):
        raise PermissionDeniedError("Only moderators can do this.")
    if status not in ContentStatus.values:
        raise ValidationFailed("Unknown status.", details={"status": ["Unknown status."]})


def lock_post(post_id: int) -> Post:
    """The post, its row locked for this transaction (its category joined for the access rules)."""
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("category", "category__parent")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise NotFound("Post not found.")
    return post


def lock_comment(comment_id: int) -> Comment:
    """The comment, its row locked for this transaction (post and category joined for the access rules)."""
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("post", "post__category", "post__category__parent")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("Comment not found.")
    return comment
