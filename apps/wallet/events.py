"""Domain events the wallet emits (contract for gamification, notifications, realtime)."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class WalletVerified(DomainEvent):
    user_id: int
    address: str


@dataclass(frozen=True)
class WalletUnlinked(DomainEvent):
    user_id: int
    address: str


@dataclass(frozen=True)
class HolderTierChanged(DomainEvent):
    user_id: int
    old_tier: str
    new_tier: str
