"""Every write of the search area: the search log, its retention, the "did you mean" vocabulary,
and the content version that invalidates cached results."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.search import cache
from apps.search.models import SearchLog

logger = logging.getLogger(__name__)


def searcher_key(*, user_id: int | None, address: str | None) -> str:
    """A salted, truncated hash of who searched: counts distinct searchers, identifies nobody."""
    who = f"u:{user_id}" if user_id else f"a:{address or '?'}"
    return hashlib.sha256(f"{settings.SECRET_KEY}:search:{who}".encode()).hexdigest()[:16]


def search_log_record(*, query: str, searcher: str, result_count: int) -> SearchLog | None:
    """One log row per first-page search. The view records it inside the search's own transaction
    (`selectors.bounded()`), whose commit does not wait for the WAL flush: the row is statistics,
    not a record anyone relies on."""
    query = " ".join(query.lower().split())[:100]
    if not query:
        return None
    return SearchLog.objects.create(query=query, searcher=searcher[:16], result_count=max(0, int(result_count)))


@transaction.atomic
def search_log_prune(*, now: dt.datetime | None = None) -> int:
    """Delete entries older than SEARCH_LOG_RETENTION_DAYS, then all but the newest
    SEARCH_LOG_MAX_ROWS. Idempotent; returns how many rows went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.SEARCH_LOG_RETENTION_DAYS)
    deleted, _ = SearchLog.objects.filter(created_at__lt=cutoff).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM search_log WHERE id < (
                SELECT id FROM search_log ORDER BY id DESC OFFSET %s LIMIT 1
            )
            """,
            [max(0, settings.SEARCH_LOG_MAX_ROWS - 1)],
        )
        deleted += cursor.rowcount
    return deleted


@transaction.atomic
def vocabulary_refresh() -> int:
    """Rebuild the "did you mean" dictionary from published titles and tags: unstemmed,
    unaccented, lowercase words of 3-64 letters with the number of posts using each. Everyone is
    offered these words, so only posts an anonymous visitor may read feed it."""
    from django.contrib.auth.models import AnonymousUser

    from apps.core import access

    public = ",".join(str(int(pk)) for pk in sorted(access.readable_category_ids(AnonymousUser()))) or "0"
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE search_terms IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM search_terms")
        cursor.execute(
            """
            INSERT INTO search_terms (word, ndoc)
            SELECT word, ndoc FROM ts_stat($$
                SELECT to_tsvector('simple', public.sk_unaccent(
                    title || ' ' || replace(array_to_string(tag_slugs, ' '), '-', ' ')))
                FROM posts WHERE status = 'published' AND category_id IN ($$ || %s || $$)
            $$)
            WHERE length(word) BETWEEN 3 AND 64 AND word ~ '^[a-z]+$'
            """,
            [public],
        )
        return cursor.rowcount


def content_changed() -> None:
    """Cached search results are stale: move every key to a new version."""
    cache.bump_content_version()
