"""Realtime pushes of the forum (API.md topics `posts`, `category:<slug>`, `post:<id>`), sent after
commit. The payload of a post or comment is shaped by the API layer (`apps.forum.api.payloads`,
registered at start-up), so this domain module imports nothing from api/. Each broadcast carries
its read rule (`audience`), so the hub delivers it only to sockets whose viewer may read the post,
on every topic."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apps.core.access import comment_audience, post_audience
from apps.core.push import broadcast

if TYPE_CHECKING:
    from apps.forum.models import Comment, Post
    from apps.forum.services.votes import VoteResult


def _unregistered(obj: Any) -> dict:
    raise RuntimeError("Forum broadcast payloads are not registered (ForumConfig.ready registers them).")


_post_payload: Callable[[Post], dict] = _unregistered
_comment_payload: Callable[[Comment], dict] = _unregistered


def set_payloads(*, post: Callable[[Post], dict], comment: Callable[[Comment], dict]) -> None:
    global _post_payload, _comment_payload
    _post_payload, _comment_payload = post, comment


def post_created(post: Post) -> None:
    data = _post_payload(post)
    audience = post_audience(post)
    broadcast("posts", "post.created", data, audience=audience)
    broadcast(f"category:{post.category.slug}", "post.created", data, audience=audience)


def post_updated(post: Post) -> None:
    broadcast(f"post:{post.pk}", "post.updated", _post_payload(post), audience=post_audience(post))


def comment_event(comment: Comment, event: str) -> None:
    data = _comment_payload(comment)
    broadcast(f"post:{comment.post_id}", event, data, audience=comment_audience(comment))


def vote_changed(*, post_id: int, target_type: str, target_id: int, result: VoteResult) -> None:
    broadcast(
        f"post:{post_id}",
        "vote.changed",
        {
            "target_type": target_type,
            "target_id": target_id,
            "score": result.score,
            "upvotes": result.upvotes,
            "downvotes": result.downvotes,
        },
    )
