"""Domain events the market emits (contract for notifications, gamification, realtime)."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class PriceUpdated(DomainEvent):
    snapshot_id: int


@dataclass(frozen=True)
class MilestoneReached(DomainEvent):
    milestone_id: int


@dataclass(frozen=True)
class MarketMoved(DomainEvent):
    change_pct: str  # decimal string, signed
    window_minutes: int
    snapshot_id: int


@dataclass(frozen=True)
class PriceAlertTriggered(DomainEvent):
    alert_id: int
    user_id: int
    snapshot_id: int
