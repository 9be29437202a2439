"""Forum: posts, comments, votes, drafts, revisions.

Deletion semantics: posts and comments stay (threads keep their shape and replies their context)
but are handed to the shared "deleted user" account, so they no longer point at the person nor
at each other. Revisions the user wrote follow their posts. Drafts are private: deleted. Votes
stay, attached to the anonymous tombstone row: totals and the points other people earned from
them do not move (Stack Overflow's rule, not Lemmy's), and no one can see who cast them."""

from __future__ import annotations

from apps.core.access import readable_posts_filter
from apps.forum.models import Comment, Draft, Post, PostRevision, Vote
from apps.privacy.shaping import deleted, rows

SECTION = "forum"
MODELS = ["forum.Post", "forum.Comment", "forum.PostRevision", "forum.Draft", "forum.Vote"]


def export(user) -> dict:
    return {
        "posts": rows(
            Post.objects.filter(author=user).order_by("created_at", "id"),
            "id",
            "title",
            "body",
            "category__slug",
            "tag_slugs",
            "status",
            "score",
            "upvotes",
            "downvotes",
            "comment_count",
            "created_at",
            "edited_at",
        ),  # fmt: skip
        "comments": rows(
            Comment.objects.filter(author=user).order_by("created_at", "id"),
            "id",
            "post_id",
            "parent_id",
            "body",
            "status",
            "score",
            "created_at",
            "edited_at",
        ),  # fmt: skip
        "votes": rows(
            # What the owner may still read: a vote does not reveal a post closed to them since.
            Vote.objects.filter(user=user).filter(readable_posts_filter(user, "post__")).order_by("created_at", "id"),
            "post_id",
            "comment_id",
            "value",
            "created_at",
            "updated_at",
        ),  # fmt: skip
        "drafts": rows(
            Draft.objects.filter(author=user).order_by("created_at", "id"),
            "id",
            "post_id",
            "category__slug",
            "title",
            "body",
            "tag_slugs",
            "created_at",
            "updated_at",
        ),  # fmt: skip
        "revisions": rows(
            PostRevision.objects.filter(editor=user).order_by("created_at", "id"),
            "post_id",
            "number",
            "title",
            "body",
            "tag_slugs",
            "reason",
            "created_at",
        ),  # fmt: skip
    }


def erase(user) -> dict:
    return {
        "drafts": deleted(Draft.objects.filter(author=user)),
        "votes_kept": Vote.objects.filter(user=user).count(),
    }


def detach(user, ghost) -> dict:
    # update(), not save(): edited_at/updated_at stay as they were, no edit events fire.
    return {
        "posts": Post.objects.filter(author=user).update(author=ghost),
        "comments": Comment.objects.filter(author=user).update(author=ghost),
        "revisions": PostRevision.objects.filter(editor=user).update(editor=ghost),
    }
