"""Post writes: create, edit, delete, and moderation's status and flag changes, with exact counters."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core.access import can_post_in_category, is_moderator
from apps.core.events import emit
from apps.core.exceptions import Conflict, PermissionDeniedError
from apps.forum import broadcasts, hooks, ranking
from apps.forum.content_rules import clean_body, clean_title, post_slug
from apps.forum.events import PostChanged, PostCreated, PostDeleted, PostEdited
from apps.forum.models import PLACEHOLDER_STATUSES, Category, ContentStatus, Post, PostRevision, PostTag, Tag
from apps.forum.rendering import render
from apps.forum.services.checks import (
    check_status_change,
    check_visible_post,
    deletion_status,
    emit_mentions,
    lock_post,
    require_contributor,
    require_editable,
    resolve_tags,
)


def _set_post_tags(post: Post, old: Sequence[Tag], new: Sequence[Tag], *, counted: bool) -> None:
    old_ids = {t.id for t in old}
    new_ids = {t.id for t in new}
    removed, added = old_ids - new_ids, new_ids - old_ids
    if removed:
        PostTag.objects.filter(post=post, tag_id__in=removed).delete()
        if counted:
            Tag.objects.filter(id__in=removed).update(post_count=F("post_count") - 1)
    if added:
        PostTag.objects.bulk_create([PostTag(post=post, tag_id=i) for i in added])
        if counted:
            Tag.objects.filter(id__in=added).update(post_count=F("post_count") + 1)


@transaction.atomic
def post_create(
    *, author: User, category: Category, title: str, body: str, tags: Sequence[str] = (), is_nsfw: bool = False
) -> Post:
    require_contributor(author)
    if not can_post_in_category(author, category):
        raise PermissionDeniedError("You may not post in this category.")
    title = clean_title(title)
    body = clean_body(body, maximum=settings.FORUM_POST_BODY_MAX_LENGTH)
    tag_objs = resolve_tags(actor=author, raw=tags)
    verdict = hooks.content_gate().check_post(author, title, body)
    verdict.raise_if_blocked()
    published = verdict.status == ContentStatus.PUBLISHED
    rendered = render(body)
    now = timezone.now()
    post = Post.objects.create(
        author=author,
        category=category,
        title=title,
        slug=post_slug(title),
        body=body,
        body_html=rendered.html,
        excerpt=rendered.excerpt,
        tag_slugs=[t.slug for t in tag_objs],
        is_nsfw=is_nsfw,
        status=verdict.status,
        created_at=now,
        last_activity_at=now,
        hot_rank=ranking.hot(0, now, now),
    )
    # Counters count published posts only; a post held for approval is counted when approved.
    _set_post_tags(post, [], tag_objs, counted=published)
    if published:
        Category.objects.filter(pk=category.pk).update(post_count=F("post_count") + 1)
    PostRevision.objects.create(
        post=post, number=1, editor=author, title=title, body=body, tag_slugs=post.tag_slugs, category=category
    )
    hooks.content_gate().after_create(verdict, "post", post.pk)
    hooks.content_saved("post", post)
    if published:
        _announce_post(post, mentions=rendered.mentions)
    return post


def _announce_post(post: Post, *, mentions: Sequence[str]) -> None:
    """What a post going public tells the rest of the platform (at creation, or on approval)."""
    emit_mentions(author=post.author, usernames=mentions, post_id=post.id)
    emit(PostCreated(post_id=post.id, author_id=post.author_id, category_id=post.category_id))
    broadcasts.post_created(post)


@transaction.atomic
def post_update(
    *,
    post_id: int,
    editor: User,
    title: str | None = None,
    body: str | None = None,
    tags: Sequence[str] | None = None,
    category: Category | None = None,
    is_nsfw: bool | None = None,
    expected_revision: int | None = None,
    reason: str = "",
) -> Post:
    post = lock_post(post_id)
    check_visible_post(editor, post)
    require_editable(editor, post, noun="post", thread_locked=post.is_locked)
    if expected_revision is not None and expected_revision != post.revision_count:
        raise Conflict(
            f"The post changed since revision {expected_revision} (now {post.revision_count}); reload and retry.",
            details={"revision": [f"Current revision is {post.revision_count}."]},
        )
    new_title = clean_title(title) if title is not None else post.title
    new_body = clean_body(body, maximum=settings.FORUM_POST_BODY_MAX_LENGTH) if body is not None else post.body
    old_tags = list(Tag.objects.filter(slug__in=post.tag_slugs))
    old_tags.sort(key=lambda t: post.tag_slugs.index(t.slug))
    new_tags = resolve_tags(actor=editor, raw=tags) if tags is not None else old_tags
    new_category = category or post.category
    if new_category.pk != post.category_id and not can_post_in_category(editor, new_category):
        raise PermissionDeniedError("You may not post in that category.")
    new_slugs = [t.slug for t in new_tags]
    flag_changed = is_nsfw is not None and is_nsfw != post.is_nsfw
    if flag_changed:  # a flag, not content: no revision of its own
        post.is_nsfw = is_nsfw
        post.save(update_fields=["is_nsfw", "updated_at"])
    if (new_title, new_body, new_slugs, new_category.pk) == (post.title, post.body, post.tag_slugs, post.category_id):
        if flag_changed:
            emit(PostChanged(post_id=post.id))
            broadcasts.post_updated(post)
        return post  # nothing else changed: no revision
    verdict = None
    if (new_title, new_body) != (post.title, post.body):  # the edited text passes the creation gate
        verdict = hooks.content_gate().check_post_edit(editor, new_title, new_body)
        verdict.raise_if_blocked()
    published = post.status == ContentStatus.PUBLISHED
    old_mentions = {m.lower() for m in render(post.body).mentions}
    rendered = render(new_body)
    _set_post_tags(post, old_tags, new_tags, counted=published)
    if new_category.pk != post.category_id and published:
        Category.objects.filter(pk=post.category_id).update(
            post_count=F("post_count") - 1, comment_count=F("comment_count") - post.comment_count
        )
        Category.objects.filter(pk=new_category.pk).update(
            post_count=F("post_count") + 1, comment_count=F("comment_count") + post.comment_count
        )
    now = timezone.now()
    post.title, post.body, post.body_html, post.excerpt = new_title, new_body, rendered.html, rendered.excerpt
    post.slug = post_slug(new_title)
    post.tag_slugs, post.category = new_slugs, new_category
    post.edited_at = now
    post.revision_count = F("revision_count") + 1
    post.save(
        update_fields=[
            "title", "slug", "body", "body_html", "excerpt", "tag_slugs", "category", "edited_at",
            "revision_count", "updated_at",
        ]
    )  # fmt: skip
    post.refresh_from_db(fields=["revision_count"])
    PostRevision.objects.create(
        post=post,
        number=post.revision_count,
        editor=editor,
        title=new_title,
        body=new_body,
        tag_slugs=new_slugs,
        category=new_category,
        reason=(reason or "")[:300],
        created_at=now,
    )
    new_mentions = [m for m in rendered.mentions if m.lower() not in old_mentions]
    emit_mentions(author=editor, usernames=new_mentions, post_id=post.id)
    if verdict is not None:
        hooks.content_gate().after_create(verdict, "post", post.pk)
    hooks.content_saved("post", post)
    emit(PostEdited(post_id=post.id, editor_id=editor.pk))
    broadcasts.post_updated(post)
    return post


def _move_post_status(post: Post, new_status: str, *, actor: User | None, reason: str) -> None:
    was_published = post.status == ContentStatus.PUBLISHED
    now_published = new_status == ContentStatus.PUBLISHED
    if was_published != now_published:
        delta = 1 if now_published else -1
        Category.objects.filter(pk=post.category_id).update(
            post_count=F("post_count") + delta, comment_count=F("comment_count") + delta * post.comment_count
        )
        Tag.objects.filter(slug__in=post.tag_slugs).update(post_count=F("post_count") + delta)
    post.status = new_status
    post.status_changed_at = timezone.now()
    post.status_changed_by = actor
    post.status_reason = (reason or "")[:500]
    post.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_reason", "updated_at"])


@transaction.atomic
def post_delete(*, post_id: int, actor: User, reason: str = "") -> Post:
    """The author's delete (status `deleted`) or a moderator's removal (`removed`); the thread stays
    with a placeholder. Deleting twice is a no-op."""
    post = lock_post(post_id)
    check_visible_post(actor, post)
    new_status = deletion_status(actor, author_id=post.author_id, what="posts")
    if post.status in PLACEHOLDER_STATUSES:
        return post
    _move_post_status(post, new_status, actor=actor, reason=reason)
    emit(PostDeleted(post_id=post.id, author_id=post.author_id, by_moderator=new_status == ContentStatus.REMOVED))
    broadcasts.post_updated(post)
    return post


@transaction.atomic
def post_set_status(*, post_id: int, actor: User | None, status: str, reason: str = "", system: bool = False) -> Post:
    """Moderation: hide, remove, mark pending or restore (published) a post, keeping counters exact.
    `system=True` (no actor) is the moderation app acting on its own, e.g. auto-hide past a report score."""
    check_status_change(actor, status, system=system)
    post = lock_post(post_id)
    if post.status == status:
        return post
    previous = post.status
    _move_post_status(post, status, actor=actor, reason=reason)
    emit(PostChanged(post_id=post.id))
    if status in PLACEHOLDER_STATUSES and previous not in PLACEHOLDER_STATUSES:
        emit(PostDeleted(post_id=post.id, author_id=post.author_id, by_moderator=True))
    if previous == ContentStatus.PENDING and status == ContentStatus.PUBLISHED:
        _announce_post(post, mentions=render(post.body).mentions)  # approved: it goes public now
    else:
        broadcasts.post_updated(post)
    return post


@transaction.atomic
def post_set_flags(
    *,
    post_id: int,
    actor: User | None,
    is_pinned: bool | None = None,
    is_locked: bool | None = None,
    system: bool = False,
) -> Post:
    if not system and not is_moderator(actor):
        raise PermissionDeniedError("Only moderators can pin or lock posts.")
    post = lock_post(post_id)
    fields = []
    if is_pinned is not None and post.is_pinned != is_pinned:
        post.is_pinned, fields = is_pinned, [*fields, "is_pinned"]
    if is_locked is not None and post.is_locked != is_locked:
        post.is_locked, fields = is_locked, [*fields, "is_locked"]
    if fields:
        post.save(update_fields=[*fields, "updated_at"])
        emit(PostChanged(post_id=post.id))
        broadcasts.post_updated(post)
    return post
