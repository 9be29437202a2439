"""Domain events accounts emits."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class UserRegistered(DomainEvent):
    user_id: int
    method: str  # "password" | "google" | "github" | "x" | "wallet"


@dataclass(frozen=True)
class UserSuspended(DomainEvent):
    user_id: int
    by_user_id: int | None
    until: str | None  # ISO time, None for a permanent ban
    reason: str = ""


@dataclass(frozen=True)
class UserReinstated(DomainEvent):
    """A suspension or ban was lifted (a deleted account stays deleted)."""

    user_id: int
    by_user_id: int | None


@dataclass(frozen=True)
class RoleChanged(DomainEvent):
    user_id: int
    by_user_id: int | None
    old_role: str
    new_role: str


@dataclass(frozen=True)
class SessionsEnded(DomainEvent):
    """Sessions (refresh-token families) of one user ended: `session_ids` those, or, when empty,
    every session but `except_session_id` (log out everywhere, password change, suspension)."""

    user_id: int
    reason: str
    session_ids: tuple[str, ...] = ()
    except_session_id: str | None = None
