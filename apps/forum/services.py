"""Every forum write. Keyword-only, typed, atomic; counters move by atomic UPDATEs; side effects
(domain events, realtime broadcasts) leave after commit through apps.core.events / realtime."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.accounts.permissions import user_can
from apps.core.access import (
    can_comment_in_category,
    can_post_in_category,
    can_read_category,
    can_read_post,
    can_see_content,
    is_moderator,
)
from apps.core.events import emit
from apps.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDeniedError, ValidationFailed
from apps.forum import broadcasts, hooks, ranking
from apps.forum.events import (
    CommentCreated,
    CommentDeleted,
    PostChanged,
    PostCreated,
    PostDeleted,
    PostEdited,
    UserMentioned,
    VoteChanged,
)
from apps.forum.models import (
    PLACEHOLDER_STATUSES,
    Category,
    Comment,
    ContentStatus,
    Draft,
    Post,
    PostRevision,
    PostTag,
    Tag,
    Vote,
)
from apps.forum.rendering import render

MAX_MENTIONS = 20
_TAG_JUNK = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


class ContentGone(ApplicationError):
    status, code, message = 400, "bad_request", "This content was deleted."


# --- validation helpers -------------------------------------------------------------------------


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    lo, hi = settings.FORUM_TITLE_MIN_LENGTH, settings.FORUM_TITLE_MAX_LENGTH
    if not title:
        raise ValidationFailed("Title is required.", details={"title": ["This field is required."]})
    if len(title) < lo or len(title) > hi:
        msg = f"Title must be {lo} to {hi} characters."
        raise ValidationFailed(msg, details={"title": [msg]})
    return title


def _clean_body(body: str | None, *, maximum: int, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "")
    if not body.strip():
        raise ValidationFailed("Body is required.", details={field: ["This field is required."]})
    if len(body) > maximum:
        msg = f"Body must be at most {maximum} characters."
        raise ValidationFailed(msg, details={field: [msg]})
    return body


def normalise_tag(raw: str) -> str:
    """'  Diamond Hands! ' -> 'diamond-hands'. Accents are folded, anything else becomes a dash."""
    text = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode().lower().strip()
    text = text.replace("_", "-").replace(" ", "-")
    text = _DASHES.sub("-", _TAG_JUNK.sub("-", text)).strip("-")
    return text


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


def post_slug(title: str) -> str:
    """The URL slug of a title; a title of only emoji or punctuation still gets one."""
    return slugify(title)[:120] or "post"


def category_for_posting(*, user, slug: str | None) -> Category:
    """An unknown category, or one the user may not even read, is a 400 (no existence leak)."""
    category = Category.objects.select_related("parent").filter(slug=slug or "").first()
    if category is None or not can_read_category(user, category):
        raise ValidationFailed("Unknown category.", details={"category": ["Unknown category."]})
    if not can_post_in_category(user, category):
        raise PermissionDeniedError("You may not post in this category.")
    return category


def _require_contributor(user) -> None:
    if not user_can(user, "content.create"):
        raise PermissionDeniedError(
            "You may not post, comment or vote (verify your email, or your account is suspended)."
        )


def _emit_mentions(*, author, usernames: Sequence[str], post_id: int, comment_id: int | None = None) -> None:
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


# --- posts --------------------------------------------------------------------------------------


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
    _require_contributor(author)
    if not can_post_in_category(author, category):
        raise PermissionDeniedError("You may not post in this category.")
    title = _clean_title(title)
    body = _clean_body(body, maximum=settings.FORUM_POST_BODY_MAX_LENGTH)
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
    _emit_mentions(author=post.author, usernames=mentions, post_id=post.id)
    emit(PostCreated(post_id=post.id, author_id=post.author_id, category_id=post.category_id))
    broadcasts.post_created(post)


def _lock_post(post_id: int) -> Post:
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("category", "category__parent")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise NotFound("Post not found.")
    return post


def _check_visible_post(user, post: Post) -> None:
    if not can_read_post(user, post):
        raise NotFound("Post not found.")


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
    post = _lock_post(post_id)
    _check_visible_post(editor, post)
    moderator = is_moderator(editor)
    if post.author_id != editor.pk and not moderator:
        raise PermissionDeniedError("You can only edit your own posts.")
    if not moderator:
        _require_contributor(editor)
    if post.status in PLACEHOLDER_STATUSES:
        raise ContentGone("A deleted post cannot be edited.")
    if post.is_locked and not moderator:
        raise PermissionDeniedError("This thread is locked.")
    if expected_revision is not None and expected_revision != post.revision_count:
        raise Conflict(
            f"The post changed since revision {expected_revision} (now {post.revision_count}); reload and retry.",
            details={"revision": [f"Current revision is {post.revision_count}."]},
        )
    new_title = _clean_title(title) if title is not None else post.title
    new_body = _clean_body(body, maximum=settings.FORUM_POST_BODY_MAX_LENGTH) if body is not None else post.body
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
    _emit_mentions(author=editor, usernames=new_mentions, post_id=post.id)
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


def _deletion_status(actor: User, *, author_id: int, what: str) -> str:
    """An author deletes (`deleted`), a moderator removes (`removed`); nobody else may."""
    if author_id == actor.pk:
        return ContentStatus.DELETED
    if is_moderator(actor):
        return ContentStatus.REMOVED
    raise PermissionDeniedError(f"You can only delete your own {what}.")


@transaction.atomic
def post_delete(*, post_id: int, actor: User, reason: str = "") -> Post:
    """The author's delete (status `deleted`) or a moderator's removal (`removed`); the thread stays
    with a placeholder. Deleting twice is a no-op."""
    post = _lock_post(post_id)
    _check_visible_post(actor, post)
    new_status = _deletion_status(actor, author_id=post.author_id, what="posts")
    if post.status in PLACEHOLDER_STATUSES:
        return post
    _move_post_status(post, new_status, actor=actor, reason=reason)
    emit(PostDeleted(post_id=post.id, author_id=post.author_id, by_moderator=new_status == ContentStatus.REMOVED))
    broadcasts.post_updated(post)
    return post


def _check_status_change(actor: User | None, status: str, *, system: bool) -> None:
    """Only moderators (or moderation itself, `system`) move content between statuses."""
    if not system and not is_moderator(actor):
        raise PermissionDeniedError("Only moderators can do this.")
    if status not in ContentStatus.values:
        raise ValidationFailed("Unknown status.", details={"status": ["Unknown status."]})


@transaction.atomic
def post_set_status(*, post_id: int, actor: User | None, status: str, reason: str = "", system: bool = False) -> Post:
    """Moderation: hide, remove, mark pending or restore (published) a post, keeping counters exact.
    `system=True` (no actor) is the moderation app acting on its own, e.g. auto-hide past a report score."""
    _check_status_change(actor, status, system=system)
    post = _lock_post(post_id)
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
    post = _lock_post(post_id)
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


# --- comments -----------------------------------------------------------------------------------


def _next_comment_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('comments', 'id'))")
        return cursor.fetchone()[0]


def comment_path(parent_path: str, comment_id: int) -> str:
    return f"{parent_path}{comment_id:010d}."


@transaction.atomic
def comment_create(*, author: User, post_id: int, body: str, parent_id: int | None = None) -> Comment:
    post = Post.objects.select_related("category", "category__parent").filter(pk=post_id).first()
    if post is None:
        raise NotFound("Post not found.")
    _check_visible_post(author, post)
    _require_contributor(author)
    moderator = is_moderator(author)
    if post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot comment on a deleted or hidden post.")
    if post.is_locked and not moderator:
        raise PermissionDeniedError("This thread is locked.")
    if not can_comment_in_category(author, post.category):
        raise PermissionDeniedError("You may not comment in this category.")
    body = _clean_body(body, maximum=settings.FORUM_COMMENT_BODY_MAX_LENGTH)
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
    _emit_mentions(author=author, usernames=rendered.mentions, post_id=post.pk, comment_id=comment.pk)
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


def _lock_comment(comment_id: int) -> Comment:
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("post", "post__category", "post__category__parent")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("Comment not found.")
    return comment


def _check_visible_comment(user, comment: Comment) -> None:
    _check_visible_post(user, comment.post)
    if not can_see_content(user, status=comment.status, author_id=comment.author_id):
        raise NotFound("Comment not found.")


@transaction.atomic
def comment_update(*, comment_id: int, editor: User, body: str) -> Comment:
    comment = _lock_comment(comment_id)
    _check_visible_comment(editor, comment)
    moderator = is_moderator(editor)
    if comment.author_id != editor.pk and not moderator:
        raise PermissionDeniedError("You can only edit your own comments.")
    if not moderator:
        _require_contributor(editor)
    if comment.status in PLACEHOLDER_STATUSES:
        raise ContentGone("A deleted comment cannot be edited.")
    if comment.post.is_locked and not moderator:
        raise PermissionDeniedError("This thread is locked.")
    body = _clean_body(body, maximum=settings.FORUM_COMMENT_BODY_MAX_LENGTH)
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
    _emit_mentions(
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
    comment = _lock_comment(comment_id)
    _check_visible_comment(actor, comment)
    new_status = _deletion_status(actor, author_id=comment.author_id, what="comments")
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
    _check_status_change(actor, status, system=system)
    comment = _lock_comment(comment_id)
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


# --- votes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    score: int
    upvotes: int
    downvotes: int
    my_vote: int


def _vote_deltas(old: int, new: int) -> tuple[int, int]:
    return int(new == 1) - int(old == 1), int(new == -1) - int(old == -1)


def _validate_vote_value(value) -> int:
    if isinstance(value, bool) or value not in (-1, 0, 1):
        raise ValidationFailed("value must be 1, -1 or 0.", details={"value": ["Must be 1, -1 or 0."]})
    return int(value)


def _write_vote(*, user: User, post_id: int, comment_id: int | None, new: int) -> int:
    """Insert/update/delete the user's vote row; returns the old value. The caller holds the row
    lock of the voted item, so two votes of one user cannot interleave."""
    existing = Vote.objects.filter(user=user, post_id=post_id, comment_id=comment_id).only("id", "value").first()
    old = existing.value if existing else 0
    if new == old:
        return old
    now = timezone.now()
    if new == 0:
        Vote.objects.filter(pk=existing.pk).delete()
    elif existing is None:
        Vote.objects.create(
            user=user, post_id=post_id, comment_id=comment_id, value=new, created_at=now, updated_at=now
        )
    else:
        Vote.objects.filter(pk=existing.pk).update(value=new, updated_at=now)
    return old


_POST_VOTE_SQL = f"""
UPDATE posts SET
    upvotes = upvotes + %(du)s,
    downvotes = downvotes + %(dd)s,
    score = score + %(du)s - %(dd)s,
    hot_rank = {{hot}},
    controversy = {ranking.controversy_sql("upvotes + %(du)s", "downvotes + %(dd)s")}
WHERE id = %(id)s
RETURNING score, upvotes, downvotes
"""  # noqa: S608 (constant formulas; values are query parameters)

_COMMENT_VOTE_SQL = f"""
UPDATE comments SET
    upvotes = upvotes + %(du)s,
    downvotes = downvotes + %(dd)s,
    score = score + %(du)s - %(dd)s,
    best_rank = {ranking.wilson_sql("upvotes + %(du)s", "downvotes + %(dd)s")}
WHERE id = %(id)s
RETURNING score, upvotes, downvotes
"""  # noqa: S608 (constant formulas; values are query parameters)


def _run_counter_update(sql: str, params: dict) -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@transaction.atomic
def vote_post(*, user: User, post_id: int, value: int) -> VoteResult:
    """One short transaction: lock the post row, upsert/delete the vote, move the counters and
    rankings in one UPDATE. Concurrent voters queue on the row lock, so counters stay exact."""
    value = _validate_vote_value(value)
    _require_contributor(user)
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("category", "category__parent")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise NotFound("Post not found.")
    _check_visible_post(user, post)
    if post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot vote on deleted or hidden content.")
    if post.author_id == user.pk:
        raise PermissionDeniedError("You cannot vote on your own post.")
    old = _write_vote(user=user, post_id=post.pk, comment_id=None, new=value)
    du, dd = _vote_deltas(old, value)
    sql = _POST_VOTE_SQL.replace("{hot}", ranking.hot_sql("score + %(du)s - %(dd)s"))
    score, up, down = _run_counter_update(sql, {"du": du, "dd": dd, "id": post.pk})
    result = VoteResult(score=score, upvotes=up, downvotes=down, my_vote=value)
    if old != value:
        _announce_vote(
            "post", post.pk, post.author_id, user, old, result, post_id=post.pk, category_id=post.category_id
        )
    return result


@transaction.atomic
def vote_comment(*, user: User, comment_id: int, value: int) -> VoteResult:
    value = _validate_vote_value(value)
    _require_contributor(user)
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("post", "post__category", "post__category__parent")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("Comment not found.")
    _check_visible_comment(user, comment)
    if comment.status != ContentStatus.PUBLISHED or comment.post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot vote on deleted or hidden content.")
    if comment.author_id == user.pk:
        raise PermissionDeniedError("You cannot vote on your own comment.")
    old = _write_vote(user=user, post_id=comment.post_id, comment_id=comment.pk, new=value)
    du, dd = _vote_deltas(old, value)
    score, up, down = _run_counter_update(_COMMENT_VOTE_SQL, {"du": du, "dd": dd, "id": comment.pk})
    result = VoteResult(score=score, upvotes=up, downvotes=down, my_vote=value)
    if old != value:
        _announce_vote(
            "comment",
            comment.pk,
            comment.author_id,
            user,
            old,
            result,
            post_id=comment.post_id,
            category_id=comment.post.category_id,
        )
    return result


def _announce_vote(
    target_type: str,
    target_id: int,
    target_author_id: int,
    voter: User,
    old: int,
    result: VoteResult,
    *,
    post_id: int,
    category_id: int,
) -> None:
    emit(
        VoteChanged(
            target_type=target_type,
            target_id=target_id,
            target_author_id=target_author_id,
            voter_id=voter.pk,
            old_value=old,
            new_value=result.my_vote,
            post_id=post_id,
            category_id=category_id,
        )
    )
    broadcasts.vote_changed(post_id=post_id, target_type=target_type, target_id=target_id, result=result)


# --- drafts -------------------------------------------------------------------------------------


def _draft_fields(*, user, title, body, category_slug, tags) -> dict:
    fields: dict = {}
    if title is not None:
        title = " ".join(str(title).split())
        if len(title) > settings.FORUM_TITLE_MAX_LENGTH:
            msg = f"Title must be at most {settings.FORUM_TITLE_MAX_LENGTH} characters."
            raise ValidationFailed(msg, details={"title": [msg]})
        fields["title"] = title
    if body is not None:
        if len(body) > settings.FORUM_POST_BODY_MAX_LENGTH:
            msg = f"Body must be at most {settings.FORUM_POST_BODY_MAX_LENGTH} characters."
            raise ValidationFailed(msg, details={"body": [msg]})
        fields["body"] = body.replace("\x00", "")
    if category_slug is not None:
        if category_slug == "":
            fields["category"] = None
        else:
            category = Category.objects.select_related("parent").filter(slug=category_slug).first()
            if category is None or not can_read_category(user, category):
                raise ValidationFailed("Unknown category.", details={"category": ["Unknown category."]})
            fields["category"] = category
    if tags is not None:
        slugs = []
        for t in tags:
            slug = normalise_tag(t) if isinstance(t, str) else ""
            if slug and slug not in slugs:
                slugs.append(slug[: settings.FORUM_TAG_MAX_LENGTH])
        fields["tag_slugs"] = slugs[: settings.FORUM_MAX_TAGS_PER_POST]
    return fields


@transaction.atomic
def draft_create(
    *,
    author: User,
    title: str = "",
    body: str = "",
    category_slug: str | None = None,
    tags: Sequence[str] | None = None,
    post_id: int | None = None,
) -> Draft:
    if not getattr(author, "is_authenticated", False):
        raise PermissionDeniedError()
    User.objects.select_for_update().filter(pk=author.pk).only("id").first()  # serialise the count check
    if Draft.objects.filter(author=author).count() >= settings.FORUM_MAX_DRAFTS_PER_USER:
        raise ValidationFailed(f"At most {settings.FORUM_MAX_DRAFTS_PER_USER} drafts; publish or discard some.")
    post = None
    if post_id is not None:
        post = Post.objects.filter(pk=post_id, author=author).exclude(status__in=PLACEHOLDER_STATUSES).first()
        if post is None:
            raise ValidationFailed("Unknown post.", details={"post_id": ["Not one of your posts."]})
    fields = _draft_fields(user=author, title=title, body=body, category_slug=category_slug, tags=tags)
    now = timezone.now()
    return Draft.objects.create(author=author, post=post, created_at=now, updated_at=now, **fields)


@transaction.atomic
def draft_update(
    *,
    draft_id: int,
    author: User,
    title: str | None = None,
    body: str | None = None,
    category_slug: str | None = None,
    tags: Sequence[str] | None = None,
    expected_version: int | None = None,
) -> Draft:
    """Autosave. With `expected_version`, a save from a stale tab is a 409 instead of a silent overwrite."""
    draft = Draft.objects.select_for_update().filter(pk=draft_id, author=author).first()
    if draft is None:
        raise NotFound("Draft not found.")
    if expected_version is not None and expected_version != draft.version:
        raise Conflict(
            "The draft was saved elsewhere; reload it.", details={"version": [f"Current version is {draft.version}."]}
        )
    fields = _draft_fields(user=author, title=title, body=body, category_slug=category_slug, tags=tags)
    for name, value in fields.items():
        setattr(draft, name, value)
    draft.version += 1
    draft.updated_at = timezone.now()
    draft.save()
    return draft


@transaction.atomic
def draft_discard(*, draft_id: int, author: User) -> None:
    deleted, _ = Draft.objects.filter(pk=draft_id, author=author).delete()
    if not deleted:
        raise NotFound("Draft not found.")


@transaction.atomic
def draft_publish(*, draft_id: int, author: User) -> Post:
    """A new-post draft becomes a post; an edit draft updates its post. Either way the draft goes."""
    draft = (
        Draft.objects.select_for_update(of=("self",))
        .select_related("category", "category__parent")
        .filter(pk=draft_id, author=author)
        .first()
    )
    if draft is None:
        raise NotFound("Draft not found.")
    if draft.post_id:
        post = post_update(
            post_id=draft.post_id,
            editor=author,
            title=draft.title,
            body=draft.body,
            tags=draft.tag_slugs,
            category=draft.category,
        )
    else:
        if draft.category is None:
            raise ValidationFailed("Choose a category first.", details={"category": ["This field is required."]})
        category = category_for_posting(user=author, slug=draft.category.slug)
        post = post_create(author=author, category=category, title=draft.title, body=draft.body, tags=draft.tag_slugs)
    draft.delete()
    return post
