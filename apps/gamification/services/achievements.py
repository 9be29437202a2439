"""Achievements: unlocking (once, with its bonus), state-based checks and event unlocks.

State-based achievements (counter, streak, level, holder tier) are checked whenever their inputs
change; event achievements unlock where their event is handled (apps.gamification.receivers
ACHIEVEMENT_TRIGGERS); standing ones from finished boards (apps.gamification.jobs)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from apps.core import push
from apps.core.events import emit
from apps.gamification import catalogue
from apps.gamification.events import AchievementUnlocked
from apps.gamification.models import Achievement, CriteriaType, UserStats
from apps.gamification.services.ledger import award_points


def unlock_achievement(
    *, user_id: int, achievement: Achievement, category_id: int | None = None, now: dt.datetime | None = None
) -> bool:
    """Unlock once (unique row); the bonus, event and broadcast happen with the first unlock only.
    `category_id`: where the action that unlocked it happened; the bonus counts there."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO user_achievements (user_id, achievement_id, unlocked_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING id",
                [user_id, achievement.id, now],
            )
            if cur.fetchone() is None:
                return False
        if achievement.bonus_points:
            award_points(
                user_id=user_id,
                activity="achievement_unlocked",
                amount=achievement.bonus_points,
                idempotency_key=f"achievement:{achievement.code}:{user_id}",
                source_type="achievement",
                source_id=achievement.code,
                category_id=category_id,
                apply_caps=False,
                now=now,
            )
        emit(AchievementUnlocked(user_id=user_id, achievement_id=achievement.id))
        push.broadcast(
            f"user:{user_id}",
            "achievement.unlocked",
            {
                "code": achievement.code,
                "name": achievement.name,
                "description": achievement.description,
                "icon": achievement.icon,
                "tier": achievement.tier,
                "bonus_points": achievement.bonus_points,
                "unlocked_at": now,
            },
        )
    return True


def unlock_event_achievements(*, user_id: int, event: str) -> int:
    found = [
        a
        for a in catalogue.active_achievements()
        if a.criteria_type == CriteriaType.EVENT and a.criteria.get("event") == event
    ]
    return sum(unlock_achievement(user_id=user_id, achievement=a) for a in found)


def achievement_met(achievement: Achievement, *, stats: UserStats | None, level: int, holder_tier: str) -> bool:
    c = achievement.criteria
    if achievement.criteria_type == CriteriaType.COUNTER:
        current = getattr(stats, c.get("stat", ""), 0) if stats else 0
        return current >= int(c.get("target", 0))
    if achievement.criteria_type == CriteriaType.STREAK:
        return bool(stats) and stats.longest_streak >= int(c.get("days", 0))
    if achievement.criteria_type == CriteriaType.LEVEL:
        return level >= int(c.get("level", 0))
    if achievement.criteria_type == CriteriaType.HOLDER_TIER:
        return catalogue.holder_tier_rank(holder_tier) >= catalogue.holder_tier_rank(c.get("tier", ""))
    return False  # event and standing achievements are granted where those happen


STATE_TYPES = {CriteriaType.COUNTER, CriteriaType.STREAK, CriteriaType.LEVEL, CriteriaType.HOLDER_TIER}


_STAT_COLUMNS = ("posts_created", "comments_created", "upvotes_received", "current_streak", "longest_streak")


def _achievement_state(user_id: int) -> tuple[set[int], UserStats | None, int, str]:
    """(achievements held, stats, level, holder tier) of a user in one query."""
    columns = ", ".join(f"s.{c}" for c in _STAT_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ARRAY(SELECT achievement_id FROM user_achievements WHERE user_id = %s),"  # noqa: S608
            f" p.level, p.holder_tier, s.user_id IS NOT NULL, {columns}"
            " FROM (SELECT 1) one"
            " LEFT JOIN profiles p ON p.user_id = %s"
            " LEFT JOIN gamification_user_stats s ON s.user_id = %s",
            [user_id, user_id, user_id],
        )
        have, level, tier, has_stats, *counts = cur.fetchone()
    stats = UserStats(user_id=user_id, **dict(zip(_STAT_COLUMNS, counts, strict=True))) if has_stats else None
    return set(have), stats, level if level is not None else 1, tier or "none"


def check_achievements(*, user_id: int, holder_tier: str | None = None, category_id: int | None = None) -> list[str]:
    """Unlock every state-based achievement the user now meets (bonus points may raise the level,
    which may unlock more: repeat until nothing new). `category_id`: where the action that asked
    happened (apps.core.access.counts_publicly decides whether the bonuses count publicly)."""
    unlocked: list[str] = []
    candidates = [a for a in catalogue.active_achievements() if a.criteria_type in STATE_TYPES]
    if not candidates:
        return unlocked
    for _ in range(3):
        have, stats, level, stored_tier = _achievement_state(user_id)
        todo = [a for a in candidates if a.id not in have]
        if not todo:
            break
        tier = holder_tier or stored_tier
        new = [
            a
            for a in todo
            if achievement_met(a, stats=stats, level=level, holder_tier=tier)
            and unlock_achievement(user_id=user_id, achievement=a, category_id=category_id)
        ]
        unlocked += [a.code for a in new]
        if not new:
            break
    return unlocked
