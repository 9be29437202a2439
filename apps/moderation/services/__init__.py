"""Every moderation write: reports, the queue (scores, auto-hide, claims) and moderator actions.

One module per seam: `rules` (what an action applies to, the shared guards), `reports`, `queue`
(claims, resolution), `actions`, `watched_words`. Callers import from this package; patch a
function in the module that defines it."""

from apps.moderation.services.actions import bulk_act, moderate, reviewable_act
from apps.moderation.services.queue import close_for_deleted_target, reviewable_claim, reviewable_unclaim
from apps.moderation.services.reports import ReportResult, flag_for_review, report_create
from apps.moderation.services.rules import (
    ACTIONS_BY_TARGET,
    NON_RESOLVING,
    REPORT_STATUS,
    RESOLUTION,
    REVIEWABLE_ONLY,
    STATUS_FOR,
    USER_ACTIONS,
)
from apps.moderation.services.watched_words import watched_word_add, watched_word_remove

__all__ = [
    "ACTIONS_BY_TARGET",
    "NON_RESOLVING",
    "REPORT_STATUS",
    "RESOLUTION",
    "REVIEWABLE_ONLY",
    "STATUS_FOR",
    "USER_ACTIONS",
    "ReportResult",
    "bulk_act",
    "close_for_deleted_target",
    "flag_for_review",
    "moderate",
    "report_create",
    "reviewable_act",
    "reviewable_claim",
    "reviewable_unclaim",
    "watched_word_add",
    "watched_word_remove",
]
