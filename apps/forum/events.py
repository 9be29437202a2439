"""Domain events the forum emits (contract for gamification, notifications, realtime, search).
Ids only: receivers load what they need, so a payload never goes stale."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class PostCreated(DomainEvent):
    post_id: int
    author_id: int
    category_id: int


@dataclass(frozen=True)
class PostEdited(DomainEvent):
    post_id: int
    editor_id: int


@dataclass(frozen=True)
class PostDeleted(DomainEvent):
    post_id: int
    author_id: int
    by_moderator: bool = False


@dataclass(frozen=True)
class PostChanged(DomainEvent):
    """A moderator changed a post's status (hidden, pending, restored…) or its pinned/locked flags."""

    post_id: int


@dataclass(frozen=True)
class CommentCreated(DomainEvent):
    comment_id: int
    post_id: int
    author_id: int
    category_id: int
    parent_id: int | None = None  # the comment replied to, if any


@dataclass(frozen=True)
class CommentDeleted(DomainEvent):
    comment_id: int
    post_id: int
    author_id: int
    by_moderator: bool = False


@dataclass(frozen=True)
class VoteChanged(DomainEvent):
    """A user's vote on a post or comment went from `old_value` to `new_value` (-1, 0, 1)."""

    target_type: str  # "post" | "comment"
    target_id: int
    target_author_id: int
    voter_id: int
    old_value: int
    new_value: int
    post_id: int  # the thread the target belongs to
    category_id: int


@dataclass(frozen=True)
class UserMentioned(DomainEvent):
    mentioned_user_id: int
    author_id: int
    post_id: int
    comment_id: int | None = None
