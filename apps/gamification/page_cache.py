"""Cache of rendered leaderboard pages (GET /api/leaderboard without `around=me`).

Pages are stored under a version that every ledger change bumps (after commit), so a cached page
is never staler than the last award; the TTL only bounds memory. One round trip per read:
`get_many` of the version and the page, stored as (version, body). The version is a nanosecond
timestamp when (re)created, so a cache that lost it never serves a page an old number still
matches. Any cache error is a miss: the board is computed.

Its own module (as apps.forum.feed_cache) so the writes that invalidate it and the view that
fills it depend on it, and it on nothing of theirs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "lb:pages:version"


def enabled() -> bool:
    return bool(settings.LEADERBOARD_PAGE_CACHE_SECONDS)


def page_key(*, period: str, start: dt.date, category_id: int, page: int, limit: int) -> str:
    return f"lb:page:{period}:{start.isoformat()}:{category_id}:{page}:{limit}"


def get(key: str) -> tuple[int, dict | None]:
    """(the current page version, the page stored under `key` if it was rendered at that version).
    Version 0: no cache, so nothing is stored either."""
    try:
        found = cache.get_many([VERSION_KEY, key])
        version = found.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, time.time_ns(), None)
            return int(cache.get(VERSION_KEY) or 0), None
    except Exception:
        return 0, None  # no cache: every read computes
    stored = found.get(key)
    if isinstance(stored, tuple) and stored[0] == version:
        return int(version), stored[1]
    return int(version), None


def put(key: str, version: int, body: dict) -> None:
    if not version:
        return
    try:
        cache.set(key, (version, body), settings.LEADERBOARD_PAGE_CACHE_SECONDS)
    except Exception:
        logger.warning("could not cache a leaderboard page", exc_info=True)


def invalidate() -> None:
    """Every cached page is stale (run after the commit that changed the standings)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet: the next read creates it (get)
        pass
    except Exception:
        logger.warning("could not invalidate cached leaderboard pages", exc_info=True)
