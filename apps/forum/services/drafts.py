"""Drafts: autosaved new posts and edits, published through the post services."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.access import can_read_category
from apps.core.exceptions import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from apps.forum.content_rules import normalise_tag
from apps.forum.models import PLACEHOLDER_STATUSES, Category, Draft, Post
from apps.forum.services.checks import category_for_posting
from apps.forum.services.posts import post_create, post_update


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
