"""What gamification does when other areas' events happen (subscribed in apps.py ready()).
Receivers take only the event's fields: no forum models are read."""

from __future__ import annotations

from apps.forum.events import CommentCreated, CommentDeleted, PostCreated, PostDeleted, VoteChanged
from apps.gamification import services, tasks
from apps.market.events import MilestoneReached
from apps.wallet.events import HolderTierChanged, WalletVerified


def on_post_created(event: PostCreated) -> None:
    services.content_created(
        kind="post", object_id=event.post_id, author_id=event.author_id, category_id=event.category_id
    )


def on_comment_created(event: CommentCreated) -> None:
    services.content_created(
        kind="comment", object_id=event.comment_id, author_id=event.author_id, category_id=event.category_id
    )


def on_post_deleted(event: PostDeleted) -> None:
    services.content_removed(kind="post", object_id=event.post_id)


def on_comment_deleted(event: CommentDeleted) -> None:
    services.content_removed(kind="comment", object_id=event.comment_id)


def on_vote_changed(event: VoteChanged) -> None:
    services.vote_changed(
        target_type=event.target_type,
        target_id=event.target_id,
        author_id=event.target_author_id,
        voter_id=event.voter_id,
        new_value=event.new_value,
        category_id=event.category_id,
    )
    services.record_visit(user_id=event.voter_id)


def on_wallet_verified(event: WalletVerified) -> None:
    services.wallet_verified(user_id=event.user_id, address=event.address)


def on_holder_tier_changed(event: HolderTierChanged) -> None:
    services.holder_tier_changed(user_id=event.user_id, old_tier=event.old_tier, new_tier=event.new_tier)


def on_milestone_reached(event: MilestoneReached) -> None:
    # May touch many users: a task (runs eagerly in tests).
    tasks.award_milestone_witnesses.delay(event.milestone_id)


SUBSCRIPTIONS = [
    (PostCreated, on_post_created),
    (CommentCreated, on_comment_created),
    (PostDeleted, on_post_deleted),
    (CommentDeleted, on_comment_deleted),
    (VoteChanged, on_vote_changed),
    (WalletVerified, on_wallet_verified),
    (HolderTierChanged, on_holder_tier_changed),
    (MilestoneReached, on_milestone_reached),
]
