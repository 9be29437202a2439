"""WebSocket topics `category:<slug>` and `post:<id>`: whoever may read the category / the post."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from apps.core.access import can_read_category, can_read_post
from apps.forum.models import Category, Post


def _may_read_category(user, slug: str | None) -> bool:
    category = Category.objects.select_related("parent").filter(slug=slug or "").first()
    return category is not None and can_read_category(user, category)


def _may_read_post(user, arg: str | None) -> bool:
    if not arg or not arg.isdigit():
        return False
    post = Post.objects.select_related("category", "category__parent").filter(pk=int(arg)).first()
    return post is not None and can_read_post(user, post)


async def authorise_category(user, arg: str | None) -> bool:
    return await sync_to_async(_may_read_category)(user, arg)


async def authorise_post(user, arg: str | None) -> bool:
    return await sync_to_async(_may_read_post)(user, arg)


def register_topics() -> None:
    from apps.realtime import topics

    topics.register("category", takes_argument=True, authorise=authorise_category)
    topics.register("post", takes_argument=True, authorise=authorise_post)
