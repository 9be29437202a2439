"""What gamification does when events happen (subscribed in apps.py ready()): other areas'
events, and its own (a level-up may unlock level achievements; a leaderboard read that found a
Redis board missing queues its rebuild). Receivers take only the event's fields: no forum models
are read. One model signal: a category that turns public or restricted queues the rebuild of the
boards (connect_model_signals)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

from apps.core import access
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


def on_category_saving(sender, instance, raw: bool = False, **kwargs) -> None:
    """Remember whether an existing category was public before this save (its read rule may change)."""
    if raw or instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).first()
    instance._was_public = None if before is None else access.is_public(before)


def on_category_saved(sender, instance, created: bool = False, raw: bool = False, **kwargs) -> None:
    """A category turned public or restricted: the global board and the public standings count
    other points now (apps.core.access.counts_publicly), so they are rebuilt from the ledger."""
    was_public = getattr(instance, "_was_public", None)
    if raw or created or was_public is None or access.is_public(instance) == was_public:
        return
    transaction.on_commit(tasks.rebuild_leaderboards.delay)


def connect_model_signals() -> None:
    from django.db.models.signals import post_save, pre_save

    from apps.forum.models import Category

    pre_save.connect(on_category_saving, sender=Category, dispatch_uid="gamification.category_saving")
    post_save.connect(on_category_saved, sender=Category, dispatch_uid="gamification.category_saved")


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
