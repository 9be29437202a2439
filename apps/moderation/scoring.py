"""How much one report counts: the reporter's trust plus their past accuracy.

Learned from Discourse's reviewable scores: every reporter starts at 1.0; standing in the community
(level, account age, a verified email) adds a little; each agreed flag raises the weight and each
rejected one lowers it, through a Laplace-smoothed accuracy so one early mistake does not ruin a
reporter and a long good record is worth more than a short one:

    accuracy = (agreed + 1) / (agreed + rejected + 2)          # 0.5 with no history
    weight   = 1.0 + trust + 4 * (accuracy - 0.5) * confidence  # confidence = n / (n + 3)

clamped to [MODERATION_MIN_REPORTER_WEIGHT, MODERATION_MAX_REPORTER_WEIGHT]. A moderator's report
weighs MODERATION_MODERATOR_REPORT_WEIGHT.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User


def trust_bonus(user: User) -> float:
    bonus = 0.0
    profile = getattr(user, "profile", None)
    level = getattr(profile, "level", 1) or 1
    bonus += min(max(level - 1, 0), 4) * 0.15
    if user.date_joined and user.date_joined < timezone.now() - timedelta(days=30):
        bonus += 0.3
    if not user.email_verified:
        bonus -= 0.2
    return bonus


def accuracy_bonus(agreed: int, rejected: int) -> float:
    n = agreed + rejected
    accuracy = (agreed + 1) / (n + 2)
    confidence = n / (n + 3)
    return 4.0 * (accuracy - 0.5) * confidence


def reporter_weight(user: User) -> float:
    if user.is_moderator:
        return float(settings.MODERATION_MODERATOR_REPORT_WEIGHT)
    from apps.moderation.models import ReporterStats

    stats = ReporterStats.objects.filter(user=user).first()
    agreed, rejected = (stats.agreed, stats.rejected) if stats else (0, 0)
    weight = 1.0 + trust_bonus(user) + accuracy_bonus(agreed, rejected)
    low, high = settings.MODERATION_MIN_REPORTER_WEIGHT, settings.MODERATION_MAX_REPORTER_WEIGHT
    return round(min(max(weight, low), high), 3)
