"""Posts related to a post: shared tags and similar wording."""

from __future__ import annotations

from django.conf import settings

from apps.core import access
from apps.core.exceptions import NotFound
from apps.forum.models import ContentStatus, Post
from apps.search import cache
from apps.search.selectors.common import (
    CONFIG,
    bounded_call,
    run,
)

# --- related posts -----------------------------------------------------------------------------


@bounded_call
def related_posts(*, viewer, post_id: int, limit: int) -> list[Post]:
    """Posts sharing tags with, or worded like, post `post_id`.

    similarity = 0.6 · |shared tags| / |union of tags|  (Jaccard)
               + 0.4 · ts_rank_cd(candidate, OR of the source title's lexemes, 32)
    plus a freshness tie-break (0.05 · freshness). Candidates: the 200 newest posts sharing a tag
    and the 200 newest matching the title query (both index-driven)."""
    categories = sorted(access.readable_category_ids(viewer))
    source = (
        Post.objects.filter(id=post_id, status=ContentStatus.PUBLISHED, category_id__in=categories)
        .only("id", "title", "tag_slugs")
        .first()
    )
    if source is None:
        raise NotFound("Post not found.")
    key = cache.make_key("related", {"p": post_id, "v": access.visibility_key(viewer), "n": limit})
    ids = cache.get(key)
    if ids is None:
        ids = _related_ids(source, categories, limit)
        cache.put(key, ids, settings.SEARCH_CACHE_SECONDS)
    # Rows re-read now, published and readable only: a cached list never shows a post hidden since.
    by_id = (
        Post.objects.filter(status=ContentStatus.PUBLISHED, category_id__in=categories)
        .select_related("author__profile", "category")
        .defer("body_html", "search_vector")
        .in_bulk(ids)
    )
    return [by_id[i] for i in ids if i in by_id]


def _related_ids(source: Post, categories: list[int], limit: int) -> list[int]:
    # The OR of the source title's lexemes, computed first so the planner sees the actual query
    # (inside the main statement it could not estimate it, and would bitmap-scan every match).
    title_query = run(
        f"SELECT replace(strip(to_tsvector('{CONFIG}', %s))::text, ''' ''', ''' | ''')",
        [source.title],
    )[0][0]
    # category_id + 0: a filter, not a BitmapAnd with the category index (most categories are readable).
    rows = run(
        """
        WITH candidates AS (
            (SELECT p.id FROM posts p
             WHERE cardinality(%(tags)s::varchar[]) > 0 AND p.tag_slugs && %(tags)s::varchar[]
               AND p.id <> %(id)s AND p.status = 'published' AND p.category_id + 0 = ANY(%(cats)s)
             ORDER BY p.id DESC LIMIT 200)
            UNION
            (SELECT p.id FROM posts p
             WHERE p.search_vector @@ %(q)s::tsquery AND p.id <> %(id)s
               AND p.status = 'published' AND p.category_id + 0 = ANY(%(cats)s)
             ORDER BY p.id DESC LIMIT 200)
        )
        SELECT p.id,
               0.6 * coalesce(
                   (SELECT count(*) FROM unnest(p.tag_slugs) t WHERE t = ANY(%(tags)s::varchar[]))::float
                   / nullif((SELECT count(DISTINCT t) FROM unnest(p.tag_slugs || %(tags)s::varchar[]) t), 0), 0)
             + 0.4 * ts_rank_cd(p.search_vector, %(q)s::tsquery, 32)
             + 0.05 * power(0.5, extract(epoch FROM now() - p.created_at) / 86400.0 / %(half_life)s) AS sim
        FROM candidates c JOIN posts p ON p.id = c.id
        ORDER BY sim DESC, p.id DESC
        LIMIT %(limit)s
        """,
        {
            "tags": list(source.tag_slugs or []),
            "q": title_query or "",
            "id": source.id,
            "cats": categories,
            "limit": limit,
            "half_life": settings.SEARCH_FRESHNESS_HALF_LIFE_DAYS,
        },
    )
    return [r[0] for r in rows]
