"""What moderation does when other apps' events happen (its SUBSCRIPTIONS, collected by apps.core at start-up)."""

from __future__ import annotations

from apps.forum.events import CommentDeleted, PostDeleted
from apps.gamification.events import VoteRingDetected
from apps.moderation import services


def on_post_deleted(event: PostDeleted) -> None:
    if not event.by_moderator:
        services.close_for_deleted_target(target_type="post", target_id=event.post_id)


def on_comment_deleted(event: CommentDeleted) -> None:
    if not event.by_moderator:
        services.close_for_deleted_target(target_type="comment", target_id=event.comment_id)


def on_vote_ring_detected(event) -> None:
    """Gamification reversed a ring's points; each member goes to the queue for a human look."""
    for member_id in event.member_ids:
        services.flag_for_review(
            target_type="user", target_id=member_id, reason="vote_ring", note=f"vote ring report #{event.report_id}"
        )


SUBSCRIPTIONS = [
    # An item its author deleted leaves the queue.
    (PostDeleted, on_post_deleted),
    (CommentDeleted, on_comment_deleted),
    (VoteRingDetected, on_vote_ring_detected),
]
