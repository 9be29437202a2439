"""Batch work behind the Celery tasks: hot-rank decay and category trending."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.forum import ranking


def decay_hot_ranks(*, batch: int | None = None) -> int:
    """Recompute `hot_rank` of warm posts in id-ordered batches (short transactions, no long locks).

    Warm = created inside the hot window, or still carrying a non-zero rank (so a post leaving the
    window is zeroed exactly once). Cold rows (older and already 0) are never touched, so the cost
    follows recent activity, not the size of the table. Returns the number of rows updated."""
    batch = batch or settings.FORUM_HOT_DECAY_BATCH
    since = timezone.now() - timedelta(days=settings.FORUM_HOT_WINDOW_DAYS)
    sql = f"""
        WITH warm AS (
            SELECT id FROM posts
            WHERE id > %(after)s AND (created_at >= %(since)s OR hot_rank <> 0)
            ORDER BY id LIMIT %(batch)s
        )
        UPDATE posts p SET hot_rank = {ranking.hot_sql("p.score", "p.created_at")}
        FROM warm WHERE p.id = warm.id
        RETURNING p.id
    """  # noqa: S608 (constant formula; values are query parameters)
    after, total = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"after": after, "since": since, "batch": batch})
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return total
        total += len(ids)
        after = max(ids)


_TRENDING_SQL = """
WITH activity AS (
    SELECT p.category_id, v.created_at FROM votes v JOIN posts p ON p.id = v.post_id
    WHERE v.created_at >= %(baseline_since)s
    UNION ALL
    SELECT p.category_id, c.created_at FROM comments c JOIN posts p ON p.id = c.post_id
    WHERE c.created_at >= %(baseline_since)s AND c.status = 'published'
), rates AS (
    SELECT category_id,
           COUNT(*) FILTER (WHERE created_at >= %(recent_since)s) / %(recent_hours)s::float8 AS recent_rate,
           COUNT(*) FILTER (WHERE created_at < %(recent_since)s) / %(baseline_hours)s::float8 AS baseline_rate
    FROM activity GROUP BY category_id
)
UPDATE categories c SET
    trending_score = COALESCE((
        SELECT (r.recent_rate + 1.0 / %(recent_hours)s) / (r.baseline_rate + 1.0 / %(recent_hours)s)
        FROM rates r WHERE r.category_id = c.id
    ), 1.0),
    trending_updated_at = %(now)s
"""


_ACTIVE_USERS_SQL = """
UPDATE categories c SET active_users_24h = COALESCE(a.n, 0)
FROM categories c2 LEFT JOIN (
    SELECT category_id, COUNT(DISTINCT author_id) AS n FROM (
        SELECT category_id, author_id FROM posts WHERE created_at >= %(day_ago)s AND status = 'published'
        UNION ALL
        SELECT p.category_id, cm.author_id FROM comments cm JOIN posts p ON p.id = cm.post_id
        WHERE cm.created_at >= %(day_ago)s AND cm.status = 'published'
    ) AS recent GROUP BY category_id
) a ON a.category_id = c2.id
WHERE c.id = c2.id
"""

_TRENDING_TAGS_SQL = """
UPDATE categories c SET trending_tags = COALESCE(t.tags, '{}')
FROM categories c2 LEFT JOIN (
    SELECT category_id, array_agg(tag ORDER BY n DESC, tag) FILTER (WHERE rank <= %(top)s) AS tags FROM (
        SELECT p.category_id, t.tag, COUNT(*) AS n,
               ROW_NUMBER() OVER (PARTITION BY p.category_id ORDER BY COUNT(*) DESC, t.tag) AS rank
        FROM posts p CROSS JOIN LATERAL unnest(p.tag_slugs) AS t(tag)
        WHERE p.created_at >= %(week_ago)s AND p.status = 'published'
        GROUP BY p.category_id, t.tag
    ) ranked GROUP BY category_id
) t ON t.category_id = c2.id
WHERE c.id = c2.id
"""


def refresh_trending(*, top_tags: int = 5) -> int:
    """Per category: the trending score, distinct active users of the last 24 h and the most used
    tags of the last 7 days (all three shown by GET /api/categories).

    Trending score: events per hour (votes + comments) over the recent window divided by the rate
    over the baseline before it, each smoothed by one event per recent window so a quiet category
    does not jump to infinity on its first vote. 1.0 = as usual; 3.0 = three times busier."""
    now = timezone.now()
    recent_hours = settings.FORUM_TRENDING_RECENT_HOURS
    baseline_hours = settings.FORUM_TRENDING_BASELINE_DAYS * 24
    params = {
        "now": now,
        "recent_since": now - timedelta(hours=recent_hours),
        "baseline_since": now - timedelta(hours=recent_hours + baseline_hours),
        "recent_hours": recent_hours,
        "baseline_hours": baseline_hours,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TRENDING_SQL, params)
        updated = cursor.rowcount
        cursor.execute(_ACTIVE_USERS_SQL, {"day_ago": now - timedelta(hours=24)})
        cursor.execute(_TRENDING_TAGS_SQL, {"week_ago": now - timedelta(days=7), "top": top_tags})
    return updated


_RECOUNT_SQL = [
    # votes -> post counters
    """
    UPDATE posts p SET upvotes = COALESCE(v.up, 0), downvotes = COALESCE(v.down, 0),
                       score = COALESCE(v.up, 0) - COALESCE(v.down, 0)
    FROM posts p2 LEFT JOIN (
        SELECT post_id, COUNT(*) FILTER (WHERE value = 1) AS up, COUNT(*) FILTER (WHERE value = -1) AS down
        FROM votes WHERE comment_id IS NULL GROUP BY post_id
    ) v ON v.post_id = p2.id
    WHERE p.id = p2.id AND (p.upvotes, p.downvotes) IS DISTINCT FROM (COALESCE(v.up, 0), COALESCE(v.down, 0))
    """,
    # votes -> comment counters and best rank
    f"""
    UPDATE comments c SET upvotes = v.up, downvotes = v.down, score = v.up - v.down,
                          best_rank = {ranking.wilson_sql("v.up", "v.down")}
    FROM (
        SELECT comment_id, COUNT(*) FILTER (WHERE value = 1) AS up, COUNT(*) FILTER (WHERE value = -1) AS down
        FROM votes WHERE comment_id IS NOT NULL GROUP BY comment_id
    ) v
    WHERE c.id = v.comment_id AND (c.upvotes, c.downvotes) IS DISTINCT FROM (v.up, v.down)
    """,  # noqa: S608
    # replies
    """
    UPDATE comments c SET reply_count = r.n
    FROM (SELECT parent_id, COUNT(*) AS n FROM comments WHERE parent_id IS NOT NULL GROUP BY parent_id) r
    WHERE c.id = r.parent_id AND c.reply_count <> r.n
    """,
    # comments -> posts
    """
    UPDATE posts p SET comment_count = COALESCE(c.n, 0),
                       last_comment_at = c.last,
                       last_activity_at = GREATEST(p.created_at, COALESCE(c.last, p.created_at))
    FROM posts p2 LEFT JOIN (
        SELECT post_id, COUNT(*) FILTER (WHERE status = 'published') AS n, MAX(created_at) AS last
        FROM comments GROUP BY post_id
    ) c ON c.post_id = p2.id
    WHERE p.id = p2.id
    """,
    # rankings
    f"""
    UPDATE posts SET hot_rank = {ranking.hot_sql()}, controversy = {ranking.controversy_sql()}
    """,  # noqa: S608
    # categories and tags
    """
    UPDATE categories cat SET post_count = COALESCE(s.posts, 0), comment_count = COALESCE(s.comments, 0)
    FROM categories c2 LEFT JOIN (
        SELECT category_id, COUNT(*) AS posts, SUM(comment_count) AS comments
        FROM posts WHERE status = 'published' GROUP BY category_id
    ) s ON s.category_id = c2.id
    WHERE cat.id = c2.id
    """,
    """
    UPDATE tags t SET post_count = COALESCE(s.n, 0)
    FROM tags t2 LEFT JOIN (
        SELECT pt.tag_id, COUNT(*) AS n FROM post_tags pt JOIN posts p ON p.id = pt.post_id
        WHERE p.status = 'published' GROUP BY pt.tag_id
    ) s ON s.tag_id = t2.id
    WHERE t.id = t2.id
    """,
]


def recount_all() -> None:
    """Rebuild every denormalised counter and ranking from the rows (after bulk loads, or to
    repair). Set-based SQL, safe to run any time; normal writes keep counters exact on their own."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in _RECOUNT_SQL:
            cursor.execute(sql)
