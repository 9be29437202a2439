"""Realtime pushes of the forum (API.md topics `posts`, `category:<slug>`, `post:<id>`), sent after
commit. Payloads come from the REST serializers, rendered for an anonymous viewer (my_vote 0),
since one broadcast reaches every subscriber; each carries its read rule (`audience`), so the hub
delivers it only to sockets whose viewer may read the post, on every topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.core.access import comment_audience, post_audience
from apps.core.realtime import broadcast

if TYPE_CHECKING:
    from apps.forum.models import Comment, Post
    from apps.forum.services import VoteResult


def _post_data(post: Post) -> dict:
    from apps.forum.api.serializers import PostSerializer

    return dict(PostSerializer(post, context={"viewer": None}).data)


def post_created(post: Post) -> None:
    data = _post_data(post)
    audience = post_audience(post)
    broadcast("posts", "post.created", data, audience=audience)
    broadcast(f"category:{post.category.slug}", "post.created", data, audience=audience)


def post_updated(post: Post) -> None:
    broadcast(f"post:{post.pk}", "post.updated", _post_data(post), audience=post_audience(post))


def comment_event(comment: Comment, event: str) -> None:
    from apps.forum.api.serializers import CommentSerializer

    data = dict(CommentSerializer(comment, context={"viewer": None}).data)
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
