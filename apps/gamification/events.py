"""Domain events gamification emits (contract for notifications, realtime)."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class PointsAwarded(DomainEvent):
    user_id: int
    transaction_id: int
    amount: int
    activity: str


@dataclass(frozen=True)
class AchievementUnlocked(DomainEvent):
    user_id: int
    achievement_id: int


@dataclass(frozen=True)
class LevelUp(DomainEvent):
    user_id: int
    old_level: int
    new_level: int
    category_id: int | None = None  # of the award that raised the level (its achievements count there)


@dataclass(frozen=True)
class VoteRingDetected(DomainEvent):
    """A group voting for each other far above baseline; their vote points were reversed.
    For moderators (the moderation app may subscribe): details in VoteRingReport `report_id`."""

    report_id: int
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class BoardNotReady(DomainEvent):
    """A leaderboard read found a board's Redis set missing (the database answered). Internal:
    gamification's own receiver queues the rebuild, so the read path imports no task."""

    period: str
    start: str  # ISO date
    category_id: int
