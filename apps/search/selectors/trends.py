"""Trending topics (tags of recent readable posts) and trending searches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.core import access
from apps.search import cache
from apps.search.selectors.common import (
    bounded_call,
    run,
)

# --- trending ----------------------------------------------------------------------------------


@bounded_call
def trending(*, viewer) -> dict[str, Any]:
    """Topics: tags of published, readable posts created in the last SEARCH_TRENDING_HOURS,

        trend = recent_posts × (recent_posts + 1) / (baseline_posts_per_window + 1)

    where the baseline is the tag's posts per window over the SEARCH_TRENDING_BASELINE_DAYS before.
    Searches: normalised queries with results from the search log in the same window, counted by
    distinct searchers (at least SEARCH_TRENDING_MIN_SEARCHERS)."""
    categories = sorted(access.readable_category_ids(viewer))
    key = cache.make_key("trending", {"v": access.visibility_key(viewer)})
    cached = cache.get(key)
    if cached is not None:
        return cached
    now = timezone.now()
    window = dt.timedelta(hours=settings.SEARCH_TRENDING_HOURS)
    baseline = dt.timedelta(days=settings.SEARCH_TRENDING_BASELINE_DAYS)
    windows_in_baseline = baseline / window
    topic_rows = run(
        """
        WITH recent AS (
            SELECT t AS tag, count(*) AS n FROM posts p, unnest(p.tag_slugs) t
            WHERE p.created_at >= %(since)s AND p.status = 'published' AND p.category_id = ANY(%(cats)s)
            GROUP BY t
        ), base AS (
            SELECT t AS tag, count(*) AS n FROM posts p, unnest(p.tag_slugs) t
            WHERE p.created_at >= %(base_since)s AND p.created_at < %(since)s
              AND p.status = 'published' AND p.category_id = ANY(%(cats)s)
              AND t IN (SELECT tag FROM recent)
            GROUP BY t
        )
        SELECT r.tag, coalesce(tg.name, r.tag), r.n,
               r.n * (r.n + 1.0) / (coalesce(b.n, 0) / %(windows)s + 1.0) AS trend
        FROM recent r LEFT JOIN base b ON b.tag = r.tag LEFT JOIN tags tg ON tg.slug = r.tag
        ORDER BY trend DESC, r.n DESC, r.tag LIMIT 10
        """,
        {
            "since": now - window,
            "base_since": now - window - baseline,
            "cats": categories,
            "windows": windows_in_baseline,
        },
    )
    search_rows = run(
        """
        SELECT query, count(DISTINCT searcher) AS searchers, count(*) AS searches FROM search_log
        WHERE created_at >= %(since)s AND result_count > 0
        GROUP BY query HAVING count(DISTINCT searcher) >= %(min)s
        ORDER BY searchers DESC, searches DESC, query LIMIT 10
        """,
        {"since": now - window, "min": settings.SEARCH_TRENDING_MIN_SEARCHERS},
    )
    result = {
        "window_hours": settings.SEARCH_TRENDING_HOURS,
        "topics": [
            {"tag": tag, "name": name, "posts": n, "trend": round(float(trend), 3)}
            for tag, name, n, trend in topic_rows
        ],
        "searches": [{"query": q, "searchers": s, "searches": c} for q, s, c in search_rows],
    }
    cache.put(key, result, settings.SEARCH_TRENDING_CACHE_SECONDS)
    return result
