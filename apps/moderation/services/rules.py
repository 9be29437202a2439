"""What each moderator action may be applied to, how it closes a queue item, and the guards every
moderation write starts with (a moderator's permission, the target's advisory lock)."""

from __future__ import annotations

from django.db import connection

from apps.accounts.access import user_can
from apps.accounts.models import User
from apps.core.exceptions import PermissionDeniedError
from apps.forum.models import ContentStatus
from apps.moderation.models import AuditAction, ReportStatus, ReviewableKind, ReviewableStatus

A = AuditAction

# What each action may be applied to.
ACTIONS_BY_TARGET: dict[str, set[str]] = {
    "post": {A.HIDE, A.REMOVE, A.RESTORE, A.APPROVE, A.LOCK, A.UNLOCK, A.PIN, A.UNPIN, A.WARN, A.SUSPEND, A.BAN},
    "comment": {A.HIDE, A.REMOVE, A.RESTORE, A.APPROVE, A.WARN, A.SUSPEND, A.BAN},
    "user": {A.WARN, A.SUSPEND, A.BAN, A.UNSUSPEND},
}
REVIEWABLE_ONLY = {A.DISMISS, A.AGREE, A.IGNORE}
USER_ACTIONS = {A.SUSPEND, A.BAN, A.UNSUSPEND}
# Actions that leave a reviewable open (they do not judge the reports).
NON_RESOLVING = {A.LOCK, A.UNLOCK, A.PIN, A.UNPIN}

# How an action closes a reviewable, per kind.
RESOLUTION: dict[str, dict[str, str]] = {
    ReviewableKind.FLAGGED: {
        **dict.fromkeys([A.HIDE, A.REMOVE, A.WARN, A.SUSPEND, A.BAN, A.AGREE], ReviewableStatus.APPROVED),
        **dict.fromkeys([A.RESTORE, A.APPROVE, A.DISMISS, A.UNSUSPEND], ReviewableStatus.REJECTED),
        A.IGNORE: ReviewableStatus.IGNORED,
    },
    ReviewableKind.QUEUED: {
        **dict.fromkeys([A.APPROVE, A.RESTORE], ReviewableStatus.APPROVED),
        **dict.fromkeys([A.HIDE, A.REMOVE, A.WARN, A.SUSPEND, A.BAN, A.DISMISS], ReviewableStatus.REJECTED),
        A.IGNORE: ReviewableStatus.IGNORED,
    },
}
REPORT_STATUS = {
    ReviewableStatus.APPROVED: ReportStatus.AGREED,
    ReviewableStatus.REJECTED: ReportStatus.REJECTED,
    ReviewableStatus.IGNORED: ReportStatus.IGNORED,
}
STATUS_FOR = {
    A.HIDE: ContentStatus.HIDDEN,
    A.REMOVE: ContentStatus.REMOVED,
    A.RESTORE: ContentStatus.PUBLISHED,
    A.APPROVE: ContentStatus.PUBLISHED,
}


def lock_target(target_type: str, target_id: int) -> None:
    """Serialise work on one target (reports arriving together, two moderators acting at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"moderation:{target_type}:{target_id}"])


def require_moderator(user: User, permission: str = "content.moderate") -> None:
    if not user_can(user, permission):
        raise PermissionDeniedError()
