"""Activity log, per-user counters and the daily-visit streak."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from apps.gamification.services.ledger import award_points


def record_activity(
    *,
    user_id: int,
    verb: str,
    object_type: str = "",
    object_id: str | int = "",
    category_id: int | None = None,
    dedupe_key: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Log an action; with a dedupe key, the second identical record is ignored. True if written."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO activity_log (user_id, verb, object_type, object_id, category_id, dedupe_key, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [user_id, verb, object_type, str(object_id), category_id, dedupe_key, now or timezone.now()],
        )
        return cur.fetchone() is not None


STAT_FIELDS = {"posts_created", "comments_created", "upvotes_received"}


def bump_stat(*, user_id: int, field: str, delta: int = 1) -> None:
    if field not in STAT_FIELDS:
        raise ValueError(field)
    initial = {f: 0 for f in STAT_FIELDS} | {field: max(delta, 0)}
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO gamification_user_stats AS s (user_id, posts_created, comments_created, upvotes_received,"  # noqa: S608
            " current_streak, longest_streak) VALUES (%s, %s, %s, %s, 0, 0)"
            f" ON CONFLICT (user_id) DO UPDATE SET {field} = GREATEST(s.{field} + %s, 0)",
            [user_id, initial["posts_created"], initial["comments_created"], initial["upvotes_received"], delta],
        )


def record_visit(*, user_id: int, category_id: int | None = None, now: dt.datetime | None = None) -> int | None:
    """Count today as an active day: the first call of a UTC day advances the streak and awards
    the daily visit (and the streak bonus every 7th consecutive day). Returns the new streak, or
    None if today was already counted. `category_id`: where the action that counts happened (the
    points count there: their timing tells of that action)."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO gamification_user_stats AS s (user_id, posts_created, comments_created, upvotes_received,"
            " current_streak, longest_streak, last_active_on) VALUES (%s, 0, 0, 0, 1, 1, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " current_streak = CASE WHEN s.last_active_on = %s THEN s.current_streak + 1 ELSE 1 END,"
            " longest_streak = GREATEST(s.longest_streak,"
            "   CASE WHEN s.last_active_on = %s THEN s.current_streak + 1 ELSE 1 END),"
            " last_active_on = EXCLUDED.last_active_on"
            " WHERE s.last_active_on IS NULL OR s.last_active_on < EXCLUDED.last_active_on"
            " RETURNING current_streak",
            [user_id, today, today - dt.timedelta(days=1), today - dt.timedelta(days=1)],
        )
        row = cur.fetchone()
    if row is None:
        return None
    streak = int(row[0])
    award_points(
        user_id=user_id,
        activity="daily_visit",
        idempotency_key=f"daily_visit:{user_id}:{today}",
        category_id=category_id,
        now=now,
    )
    if streak % 7 == 0:
        award_points(
            user_id=user_id,
            activity="visit_streak",
            idempotency_key=f"visit_streak:{user_id}:{today}",
            category_id=category_id,
            now=now,
        )
    return streak
