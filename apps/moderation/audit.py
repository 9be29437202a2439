"""The audit log: one row per moderation action, written by the service that acts."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import User
from apps.moderation.models import AuditLogEntry, Reviewable


def record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    target_user_id: int | None = None,
    reviewable: Reviewable | None = None,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_user_id=target_user_id,
        reviewable=reviewable,
        reason=reason,
        before=before or {},
        after=after or {},
    )
