"""Standings maintenance beside the ledger: the per-award upsert of every board an award counts
on, the signals that boards changed, and reloading Redis's sorted sets from the table."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.core import access, push
from apps.gamification import page_cache, redis_store
from apps.gamification.models import LeaderboardEntry
from apps.gamification.periods import period_starts


def upsert_standings(
    *,
    user_id: int,
    amount: int,
    category_id: int | None,
    public: bool,
    earned_at: dt.datetime,
    reached_at: dt.datetime,
) -> list[tuple]:
    """Add `amount` to the user's standing on every board it counts on: its category's own board,
    and the global board (0) only when `public` (apps.core.access.counts_publicly)."""
    reached = reached_at.replace(microsecond=0)
    values, params = [], []
    categories = ([0] if public else []) + ([category_id] if category_id else [])
    for period, start in period_starts(earned_at):
        for cat in categories:
            values.append("(%s, %s, %s, %s, %s, %s)")
            params += [period, start, cat, user_id, amount, reached]
    sql = (
        "INSERT INTO leaderboards (period, period_start, category_id, user_id, points, reached_at) VALUES "  # noqa: S608
        + ", ".join(values)  # placeholders only: every value is a parameter
        + " ON CONFLICT (period, period_start, category_id, user_id) DO UPDATE SET"
        " points = leaderboards.points + EXCLUDED.points,"
        " reached_at = GREATEST(leaderboards.reached_at, EXCLUDED.reached_at)"
        " RETURNING period, period_start, category_id, user_id, points, reached_at"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def standings_changed(standings: list[tuple]) -> None:
    """After the commit: Redis follows the table, cached pages go stale, clients hear of it."""
    transaction.on_commit(lambda: redis_store.apply_updates(standings))
    transaction.on_commit(page_cache.invalidate)
    boards = {row[2] for row in standings}
    # A change of the global board is everyone's news; one of a restricted category's board only
    # reaches those who may read that category (a public one always moves the global board too).
    audience = None if 0 in boards or not boards else access.category_audience(min(boards))
    transaction.on_commit(lambda: _leaderboard_changed(audience))


def _leaderboard_changed(audience: list[int] | None) -> None:
    # Throttled: at most one broadcast per GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS and audience.
    seconds = settings.GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS
    throttle_key = "gamification:leaderboard-changed" + ("" if audience is None else f":{audience}")
    try:
        first = cache.add(throttle_key, 1, timeout=seconds)
    except Exception:
        first = True
    if first:
        push.broadcast_now("leaderboard", "leaderboard.changed", {"throttle_seconds": seconds}, audience=audience)


def rebuild_redis_board(*, period: str, start: dt.date, category_id: int) -> int:

    rows = (
        LeaderboardEntry.objects.filter(period=period, period_start=start, category_id=category_id, points__gt=0)
        .values_list("user_id", "points", "reached_at")
        .iterator(chunk_size=5000)
    )
    built = redis_store.build(period, start, category_id, rows)
    page_cache.invalidate()  # pages rendered while the board was missing: recompute (Redis is not transactional)
    return built


def rebuild_redis_leaderboards(*, now: dt.datetime | None = None) -> int:
    """Build the current period of every board (global and each category) into Redis."""

    if redis_store.client() is None:
        return 0
    built = 0
    for period, start in period_starts(now or timezone.now()):
        cats = (
            LeaderboardEntry.objects.filter(period=period, period_start=start)
            .values_list("category_id", flat=True)
            .distinct()
        )
        for cat in sorted(set(cats) | {0}):
            rebuild_redis_board(period=period, start=start, category_id=cat)
            built += 1
    return built
