"""Domain events of the privacy app."""

from dataclasses import dataclass

from apps.core.events import DomainEvent


@dataclass(frozen=True)
class AccountDeleted(DomainEvent):
    """An account was closed and its personal data erased. Carries only the id of the (now
    anonymous) account row: receivers drop caches, search documents, sockets, presence."""

    user_id: int
