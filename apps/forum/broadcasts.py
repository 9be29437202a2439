"""Realtime pushes of the forum (API.md topics `posts`, `category:<slug>`, `post:<id>`), sent after
commit. Payloads come from the REST serializers, rendered for an anonymous viewer (my_vote 0),
since one broadcast reaches every subscriber."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.core.realtime import broadcast

if TYPE_CHECKING:
    from apps.forum.models import Comment, Post
    from apps.forum.services import VoteResult


def _post_data(post: Post) -> dict:
    from apps.forum.api.serializers import PostSerializer

    return dict(PostSerializer(post, context={"viewer": None}).data)


def post_created(post: Post) -> None:
    data = _post_data(post)
    broadcast("posts", "post.created", data)
    broadcast(f"category:{post.category.slug}", "post.created", data)


def post_updated(post: Post) -> None:
    broadcast(f"post:{post.pk}", "post.updated", _post_data(post))


def comment_event(comment: Comment, event: str) -> None:
    from apps.forum.api.serializers import CommentSerializer

    data = dict(CommentSerializer(comment, context={"viewer": None}).data)
    broadcast(f"post:{comment.post_id}", event, data)


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
