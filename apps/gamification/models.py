"""Points ledger, achievements, levels, leaderboards and the activity log.

The ledger (`point_transactions`) is append-only: a correction is a reversing row, never an edit.
Every row carries a unique idempotency key, so an award retried or delivered twice is written once.
Forum objects are referenced by type/id columns (no foreign keys across areas).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Activity(models.Model):
    """A way to earn points (catalogue seeded from fixtures/gamification_activities.json)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    points = models.IntegerField(help_text="Points per award (bonus activities may award a variable amount).")
    daily_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most points this activity can earn a user per UTC day (net)."
    )
    counts_toward_daily_cap = models.BooleanField(
        default=True, help_text="Whether these points count toward the overall daily cap."
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "point_activities"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.code


class TransactionKind(models.TextChoices):
    AWARD = "award", "Award"
    REVERSAL = "reversal", "Reversal"


class PointTransaction(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="point_transactions")
    activity = models.CharField(max_length=50, db_index=True)
    kind = models.CharField(max_length=16, choices=TransactionKind.choices, default=TransactionKind.AWARD)
    amount = models.IntegerField()
    source_type = models.CharField(max_length=32, blank=True, default="")
    source_id = models.CharField(max_length=64, blank=True, default="")
    category_id = models.BigIntegerField(null=True, blank=True)
    # Who caused it (the voter for vote awards): diminishing returns and ring detection.
    actor_id = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    # When the points count for leaderboards: a reversal counts in the period of what it reverses.
    earned_at = models.DateTimeField()

    class Meta:
        db_table = "point_transactions"
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="ptx_user_created"),
            models.Index(fields=["earned_at"], name="ptx_earned"),
            models.Index(fields=["source_type", "source_id"], name="ptx_source"),
            models.Index(fields=["category_id", "earned_at"], name="ptx_category_earned"),
            models.Index(
                fields=["user", "actor_id", "created_at"], name="ptx_user_actor", condition=Q(actor_id__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ptx_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.amount:+d} {self.activity}"


class AchievementTier(models.TextChoices):
    BRONZE = "bronze", "Bronze"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"


class CriteriaType(models.TextChoices):
    COUNTER = "counter", "Counter"  # {"stat": "posts_created", "target": 10}
    EVENT = "event", "Event"  # {"event": "wallet_verified"}
    STREAK = "streak", "Streak"  # {"days": 7}
    STANDING = "standing", "Standing"  # {"period": "week", "top": 10}
    HOLDER_TIER = "holder_tier", "Holder tier"  # {"tier": "holder"}
    LEVEL = "level", "Level"  # {"level": 5}


class Achievement(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500)
    icon = models.CharField(max_length=200, blank=True, default="")
    tier = models.CharField(max_length=16, choices=AchievementTier.choices, default=AchievementTier.BRONZE)
    secret = models.BooleanField(default=False)
    criteria_type = models.CharField(max_length=16, choices=CriteriaType.choices)
    criteria = models.JSONField(default=dict)
    bonus_points = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "achievements"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def target(self) -> int | None:
        if self.criteria_type == CriteriaType.COUNTER:
            return int(self.criteria.get("target", 0))
        if self.criteria_type == CriteriaType.STREAK:
            return int(self.criteria.get("days", 0))
        if self.criteria_type == CriteriaType.LEVEL:
            return int(self.criteria.get("level", 0))
        return None


class UserAchievement(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="achievements")
    achievement = models.ForeignKey(Achievement, on_delete=models.CASCADE, related_name="holders")
    unlocked_at = models.DateTimeField()

    class Meta:
        db_table = "user_achievements"
        constraints = [models.UniqueConstraint(fields=["user", "achievement"], name="user_achievement_once")]
        indexes = [models.Index(fields=["user", "-unlocked_at"], name="uach_user_unlocked")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.achievement_id}"


class Level(models.Model):
    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=50)
    min_points = models.BigIntegerField(unique=True)
    perks = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "levels"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class LeaderboardPeriod(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    ALL = "all", "All time"


class LeaderboardEntry(models.Model):
    """Materialised standings: one row per (period, period start, category, user), kept in the same
    transaction as the ledger. category_id 0 is the global board."""

    period = models.CharField(max_length=8, choices=LeaderboardPeriod.choices)
    period_start = models.DateField()
    category_id = models.BigIntegerField(default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    points = models.BigIntegerField(default=0)
    # Whole second at which the user reached this score: earlier wins a tie (then lower user id).
    reached_at = models.DateTimeField()

    class Meta:
        db_table = "leaderboards"
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "category_id", "user"], name="leaderboard_entry_unique"
            )
        ]
        indexes = [
            models.Index(
                "period",
                "period_start",
                "category_id",
                models.F("points").desc(),
                "reached_at",
                "user",
                name="leaderboard_rank",
                condition=Q(points__gt=0),
            )
        ]

    def __str__(self) -> str:
        return f"{self.period}:{self.period_start}:{self.category_id}:{self.user_id}"


# Score histograms: how many users stand in each score bucket of a board, so that a rank from the
# database is a sum over a few thousand buckets plus a count inside one bucket, not a count over
# every standing ahead (up to 100,000 per board). A bucket is its lowest score: exact below 1,000,
# then three significant digits (1000-1009, 1010-1019, ..., 123000-123999). Kept by statement
# triggers on `leaderboards` (so every write path counts, cascades included) as append-only
# deltas, which never contend for a row; `compact_leaderboard_counts` folds them into the counts.


class LeaderboardScoreCount(models.Model):
    period = models.CharField(max_length=8, choices=LeaderboardPeriod.choices)
    period_start = models.DateField()
    category_id = models.BigIntegerField(default=0)
    bucket = models.BigIntegerField()
    users = models.BigIntegerField(default=0)

    class Meta:
        db_table = "leaderboard_score_counts"
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "category_id", "bucket"],
                include=["users"],
                name="leaderboard_score_count_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period}:{self.period_start}:{self.category_id}:{self.bucket}={self.users}"


class LeaderboardScoreDelta(models.Model):
    period = models.CharField(max_length=8, choices=LeaderboardPeriod.choices)
    period_start = models.DateField()
    category_id = models.BigIntegerField(default=0)
    bucket = models.BigIntegerField()
    delta = models.IntegerField()

    class Meta:
        db_table = "leaderboard_score_deltas"
        indexes = [
            models.Index(
                fields=["period", "period_start", "category_id", "bucket"], name="leaderboard_score_delta_board"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period}:{self.period_start}:{self.category_id}:{self.bucket}{self.delta:+d}"


class ActivityLog(models.Model):
    """What users did (type, object, time): streaks, counters and moderation. Pruned by retention."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verb = models.CharField(max_length=50)
    object_type = models.CharField(max_length=32, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    category_id = models.BigIntegerField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "activity_log"
        indexes = [models.Index(fields=["user", "-created_at"], name="activity_user_created")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.verb}"


class UserStats(models.Model):
    """Counters behind counter/streak achievements, kept exactly once via activity_log and vote credits."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    posts_created = models.PositiveIntegerField(default=0)
    comments_created = models.PositiveIntegerField(default=0)
    upvotes_received = models.IntegerField(default=0)
    current_streak = models.PositiveIntegerField(default=0)
    longest_streak = models.PositiveIntegerField(default=0)
    last_active_on = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "gamification_user_stats"

    def __str__(self) -> str:
        return f"stats of {self.user_id}"


class VoteCredit(models.Model):
    """An upvote currently counted for its target's author (one row per voter and target): makes
    vote events idempotent as state, and feeds ring detection."""

    target_type = models.CharField(max_length=16)
    target_id = models.BigIntegerField()
    voter_id = models.BigIntegerField()
    author_id = models.BigIntegerField()
    category_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "gamification_vote_credits"
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id", "voter_id"], name="vote_credit_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="vote_credit_created")]

    def __str__(self) -> str:
        return f"{self.voter_id}->{self.target_type}:{self.target_id}"


class VoteRingReport(models.Model):
    """A detected vote ring, for moderators (the moderation app may pick these up)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        CONFIRMED = "confirmed", "Confirmed"

    members = ArrayField(models.BigIntegerField())
    edges = models.JSONField(default=list)  # [[voter, author, votes], ...]
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    reversed_transactions = models.PositiveIntegerField(default=0)
    reversed_points = models.BigIntegerField(default=0)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "gamification_vote_ring_reports"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ring {self.members}"
