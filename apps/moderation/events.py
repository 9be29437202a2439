"""Domain events moderation emits (contract for notifications, gamification, realtime, search).
Ids and short strings only."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class ContentModerated(DomainEvent):
    """A moderator (or the system, `moderator_id` None) acted on a post, comment or user.
    Notifications tells `author_id` (the affected user) what happened and why."""

    target_type: str  # "post" | "comment" | "user"
    target_id: int
    author_id: int | None
    action: str  # an AuditAction value: hide, remove, restore, lock, pin, warn, suspend, ban, auto_hide...
    reason: str = ""
    moderator_id: int | None = None
    post_id: int | None = None  # the thread, for posts and comments


@dataclass(frozen=True)
class ReportCreated(DomainEvent):
    report_id: int
    reviewable_id: int
    reporter_id: int
    target_type: str
    target_id: int
    reason: str


@dataclass(frozen=True)
class ReviewableResolved(DomainEvent):
    """Reporters can be told how their flags were judged (`status`: approved/rejected/ignored)."""

    reviewable_id: int
    status: str
    action: str
    moderator_id: int | None
    reporter_ids: tuple[int, ...] = ()
