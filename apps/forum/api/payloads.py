"""The JSON a forum broadcast carries: the REST representation, rendered for an anonymous viewer
(my_vote 0), since one broadcast reaches every subscriber. The API layer owns the shape; it plugs
these into the domain's broadcasts at start-up, so the domain never imports the API."""

from __future__ import annotations

from apps.forum import broadcasts
from apps.forum.api.serializers import CommentSerializer, PostSerializer
from apps.forum.models import Comment, Post


def post_payload(post: Post) -> dict:
    return dict(PostSerializer(post, context={"viewer": None}).data)


def comment_payload(comment: Comment) -> dict:
    return dict(CommentSerializer(comment, context={"viewer": None}).data)


def register() -> None:
    broadcasts.set_payloads(post=post_payload, comment=comment_payload)
