"""Process-local caches of the small, rarely changing tables (activities, levels, achievements),
held by apps.core.refcache: a save/delete of those rows (or a fixture load) invalidates them in
every process, not only in the one that wrote."""

from __future__ import annotations

import bisect

from django.conf import settings

from apps.core import refcache
from apps.gamification.models import Achievement, Activity, Level

ACTIVITIES = "gamification.activities"
LEVELS = "gamification.levels"
ACHIEVEMENTS = "gamification.achievements"


def _load_activities() -> dict[str, Activity]:
    return {a.code: a for a in Activity.objects.all()}


def _load_levels() -> list[Level]:
    return list(Level.objects.order_by("min_points"))


def _load_achievements() -> list[Achievement]:
    return list(Achievement.objects.filter(is_active=True).order_by("sort_order", "code"))


def register() -> None:
    """Saves and deletes of these models invalidate them everywhere (apps.py calls this)."""
    refcache.register(ACTIVITIES, _load_activities, models=[Activity])
    refcache.register(LEVELS, _load_levels, models=[Level])
    refcache.register(ACHIEVEMENTS, _load_achievements, models=[Achievement])


def activities() -> dict[str, Activity]:
    return refcache.get(ACTIVITIES)


def levels() -> list[Level]:
    return refcache.get(LEVELS)


def active_achievements() -> list[Achievement]:
    return refcache.get(ACHIEVEMENTS)


def clear() -> None:
    """After a bulk change (fixture loaders, backfills): invalidate in every process."""
    for name in (ACTIVITIES, LEVELS, ACHIEVEMENTS):
        refcache.invalidate(name)


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
