"""Leaderboards in Redis sorted sets (optional; the `leaderboards` table is the truth).

One sorted set per (period, period start, category). The score packs points and the second the
user reached them, negated so that ZRANGE ascending gives the ranking, and equal scores fall back
to the member (zero-padded user id) ascending: exactly the database's
ORDER BY points DESC, reached_at ASC, user_id ASC.

A set is trusted only while its `ready` marker exists (set by a full build); increments keep it
current in between. Redis lost or flushed = no marker = the database answers, and a rebuild is
queued.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import cache

from django.conf import settings

logger = logging.getLogger(__name__)

EPOCH = 1_577_836_800  # 2020-01-01T00:00:00Z
TIME_BITS = 31
MAX_POINTS = 2 ** (53 - TIME_BITS) - 1  # scores are exact doubles up to 2**53
TTL = {"day": 3 * 86400, "week": 15 * 86400, "month": 63 * 86400, "all": None}


@cache
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def client():
    url = settings.GAMIFICATION_REDIS_URL
    return _client(url) if url else None


def key(period: str, start: dt.date, category_id: int) -> str:
    return f"{settings.GAMIFICATION_REDIS_PREFIX}:{period}:{start.isoformat()}:{category_id}"


def member(user_id: int) -> str:
    return f"{user_id:012d}"


def score(points: int, reached_at: dt.datetime) -> float:
    secs = max(0, min(int(reached_at.timestamp()) - EPOCH, 2**TIME_BITS - 1))
    return -float(min(points, MAX_POINTS) * 2**TIME_BITS + (2**TIME_BITS - 1 - secs))


def points_from_score(value: float) -> int:
    return int(-value) >> TIME_BITS


def apply_updates(rows: Iterable[tuple[str, dt.date, int, int, int, dt.datetime]]) -> None:
    """rows: (period, start, category_id, user_id, points, reached_at). Best effort."""
    r = client()
    if r is None:
        return
    try:
        pipe = r.pipeline(transaction=False)
        for period, start, category_id, user_id, points, reached_at in rows:
            k = key(period, start, category_id)
            if points > 0:
                pipe.zadd(k, {member(user_id): score(points, reached_at)})
            else:
                pipe.zrem(k, member(user_id))
            if TTL[period]:
                pipe.expire(k, TTL[period])
        pipe.execute()
    except Exception:
        logger.warning("leaderboard redis update failed", exc_info=True)


def build(period: str, start: dt.date, category_id: int, rows: Iterable[tuple[int, int, dt.datetime]]) -> int:
    """Replace one sorted set from (user_id, points, reached_at) rows; mark it ready."""
    r = client()
    if r is None:
        return 0
    k = key(period, start, category_id)
    tmp = f"{k}:building"
    count = 0
    pipe = r.pipeline(transaction=False)
    pipe.delete(tmp)
    for user_id, points, reached_at in rows:
        if points <= 0:
            continue
        pipe.zadd(tmp, {member(user_id): score(points, reached_at)})
        count += 1
        if count % 5000 == 0:
            pipe.execute()
    pipe.execute()
    pipe = r.pipeline(transaction=True)
    if count:
        pipe.rename(tmp, k)
    else:
        pipe.delete(k)
    pipe.set(f"{k}:ready", "1")
    if TTL[period]:
        pipe.expire(k, TTL[period])
        pipe.expire(f"{k}:ready", TTL[period])
    pipe.execute()
    return count


def read_page(period: str, start: dt.date, category_id: int, offset: int, limit: int):
    """(total, [(user_id, points, rank)]) or None when this set is not trustworthy / Redis is down."""
    r = client()
    if r is None:
        return None
    k = key(period, start, category_id)
    try:
        pipe = r.pipeline(transaction=False)
        pipe.exists(f"{k}:ready")
        pipe.zcard(k)
        if limit > 0:  # ZRANGE k 0 -1 would be the whole set
            pipe.zrange(k, offset, offset + limit - 1, withscores=True)
        ready, total, *rest = pipe.execute()
        items = rest[0] if rest else []
    except Exception:
        logger.warning("leaderboard redis read failed", exc_info=True)
        return None
    if not ready:
        return None
    return total, [(int(m), points_from_score(s), offset + i + 1) for i, (m, s) in enumerate(items)]


def read_rank(period: str, start: dt.date, category_id: int, user_id: int):
    """(ready, rank or None)."""
    r = client()
    if r is None:
        return False, None
    k = key(period, start, category_id)
    try:
        pipe = r.pipeline(transaction=False)
        pipe.exists(f"{k}:ready")
        pipe.zrank(k, member(user_id))
        ready, rank = pipe.execute()
    except Exception:
        logger.warning("leaderboard redis read failed", exc_info=True)
        return False, None
    if not ready:
        return False, None
    return True, (None if rank is None else rank + 1)


def is_ready(period: str, start: dt.date, category_id: int) -> bool:
    r = client()
    if r is None:
        return False
    try:
        return bool(r.exists(f"{key(period, start, category_id)}:ready"))
    except Exception:
        return False
