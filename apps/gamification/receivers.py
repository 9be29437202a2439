"""What gamification does when events happen (subscribed in apps.py ready()): other areas'
events, and its own (a level-up may unlock level achievements; a leaderboard read that found a
Redis board missing queues its rebuild). Receivers take only the event's fields: no forum models
are read."""

from __future__ import annotations

import logging

from django.core.cache import cache

from apps.core.events import DomainEvent
from apps.forum.events import CommentCreated, CommentDeleted, PostCreated, PostDeleted, VoteChanged
from apps.gamification import services, tasks
from apps.gamification.events import BoardNotReady, LevelUp
from apps.market.events import MilestoneReached
from apps.wallet.events import HolderTierChanged, WalletVerified

logger = logging.getLogger(__name__)

# Event achievements: an achievement whose criteria is {"event": NAME} unlocks for the event's
# `user_id` when an event of the listed type happens. A new one is its row in
# fixtures/gamification_achievements.json plus one line here.
ACHIEVEMENT_TRIGGERS: dict[type[DomainEvent], str] = {
    WalletVerified: "wallet_verified",
}


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
    services.record_visit(user_id=event.voter_id, category_id=event.category_id)


def on_wallet_verified(event: WalletVerified) -> None:
    services.wallet_verified(user_id=event.user_id, address=event.address)


def on_holder_tier_changed(event: HolderTierChanged) -> None:
    services.holder_tier_changed(user_id=event.user_id, old_tier=event.old_tier, new_tier=event.new_tier)


def on_achievement_trigger(event: DomainEvent) -> None:
    services.unlock_event_achievements(user_id=event.user_id, event=ACHIEVEMENT_TRIGGERS[type(event)])


def on_level_up(event: LevelUp) -> None:
    services.check_achievements(user_id=event.user_id, category_id=event.category_id)  # level achievements


def on_board_not_ready(event: BoardNotReady) -> None:
    try:  # one rebuild per board a minute, however many reads miss it meanwhile
        if cache.add(f"gamification:rebuild:{event.period}:{event.start}:{event.category_id}", 1, timeout=60):
            tasks.rebuild_redis_board.delay(event.period, event.start, event.category_id)
    except Exception:
        logger.warning("could not queue a leaderboard rebuild", exc_info=True)


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
    (LevelUp, on_level_up),
    (BoardNotReady, on_board_not_ready),
    *[(event_type, on_achievement_trigger) for event_type in ACHIEVEMENT_TRIGGERS],
]
