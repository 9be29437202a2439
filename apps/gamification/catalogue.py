"""Process-local caches of the small, rarely changing tables (activities, levels, achievements).
Cleared on every save/delete of those rows (signals in apps.py) and by the fixture loaders."""

from __future__ import annotations

import bisect
from functools import cache

from django.conf import settings

from apps.gamification.models import Achievement, Activity, Level


@cache
def activities() -> dict[str, Activity]:
    return {a.code: a for a in Activity.objects.all()}


@cache
def levels() -> list[Level]:
    return list(Level.objects.order_by("min_points"))


@cache
def active_achievements() -> list[Achievement]:
    return list(Achievement.objects.filter(is_active=True).order_by("sort_order", "code"))


def clear() -> None:
    activities.cache_clear()
    levels.cache_clear()
    active_achievements.cache_clear()


def capped_activity_codes() -> list[str]:
    return [code for code, a in activities().items() if a.counts_toward_daily_cap]


def level_for_points(points: int) -> int:
    """The highest level whose threshold the points reach (level 1 below every threshold)."""
    table = levels()
    if not table:
        return 1
    thresholds = [lv.min_points for lv in table]
    index = bisect.bisect_right(thresholds, points) - 1
    return table[index].number if index >= 0 else 1


def min_level_for_perk(perk: str) -> int | None:
    for lv in levels():
        if perk in (lv.perks or []):
            return lv.number
    return None


def user_level_allows(user, perk: str) -> bool:
    """Level-based permission for other apps: `user_level_allows(request.user, "post_links")`.
    Moderators and admins always pass; a perk no level grants is allowed to nobody else."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_moderator", False):
        return True
    needed = min_level_for_perk(perk)
    if needed is None:
        return False
    profile = getattr(user, "profile", None)
    return profile is not None and profile.level >= needed


def holder_tier_rank(tier: str) -> int:
    names = [name for name, _ in settings.HOLDER_TIERS]
    return names.index(tier) if tier in names else 0
