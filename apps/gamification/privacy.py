"""Gamification: the points ledger, achievements, activity log, counters, leaderboard standings.

Erasure deletes the user's ledger and standings (the profile's points go to 0 in accounts), and
after commit removes them from the Redis leaderboards through the gamification store, so ranks
close up at once. Points other people earned from this user's votes stay (their ledgers keep the
bare voter id of the anonymous tombstone). Upvote credits on the user's content are dropped: a
later retraction of such a vote then has nothing to reverse."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.gamification.models import (
    ActivityLog,
    LeaderboardEntry,
    PointTransaction,
    UserAchievement,
    UserStats,
    VoteCredit,
)
from apps.privacy.shaping import deleted, one, rows

SECTION = "gamification"
MODELS = [
    "gamification.PointTransaction",
    "gamification.UserAchievement",
    "gamification.LeaderboardEntry",
    "gamification.ActivityLog",
    "gamification.UserStats",
]


def export(user) -> dict:
    return {
        "point_history": rows(
            PointTransaction.objects.filter(user=user).order_by("created_at", "id"),
            "id",
            "activity",
            "kind",
            "amount",
            "source_type",
            "source_id",
            "note",
            "created_at",
        ),  # fmt: skip
        "achievements": rows(
            UserAchievement.objects.filter(user=user).select_related("achievement").order_by("unlocked_at", "id"),
            "achievement__code",
            "achievement__name",
            "unlocked_at",
        ),  # fmt: skip
        "activity": rows(
            ActivityLog.objects.filter(user=user).order_by("created_at", "id"),
            "verb",
            "object_type",
            "object_id",
            "created_at",
        ),  # fmt: skip
        "stats": one(
            UserStats.objects.filter(user=user).first(),
            "posts_created",
            "comments_created",
            "upvotes_received",
            "current_streak",
            "longest_streak",
            "last_active_on",
        ),  # fmt: skip
        "standings": rows(
            LeaderboardEntry.objects.filter(user=user).order_by("period", "period_start", "category_id"),
            "period",
            "period_start",
            "category_id",
            "points",
        ),  # fmt: skip
    }


def erase(user) -> dict:
    from apps.gamification import page_cache, redis_store

    entries = list(LeaderboardEntry.objects.filter(user=user).values_list("period", "period_start", "category_id"))
    ledger = PointTransaction.objects.filter(user=user)
    ledger.exclude(reverses=None).update(reverses=None)  # the self-reference is PROTECT
    counts = {
        "point_transactions": deleted(ledger),
        "achievements": deleted(UserAchievement.objects.filter(user=user)),
        "activity": deleted(ActivityLog.objects.filter(user=user)),
        "stats": deleted(UserStats.objects.filter(user=user)),
        "standings": deleted(LeaderboardEntry.objects.filter(user=user)),
        "vote_credits": deleted(VoteCredit.objects.filter(author_id=user.pk)),
    }
    if entries:
        now = timezone.now()
        removals = [(period, start, cat, user.pk, 0, now) for period, start, cat in entries]  # 0 points = ZREM
        transaction.on_commit(lambda: redis_store.apply_updates(removals))
        transaction.on_commit(page_cache.invalidate)
    return counts
