"""Full-text search of posts, comments and users, and what a search adds to trending.

Relevance (sort=relevance), written down:

    text      = ts_rank_cd(search_vector, query, 32)            -- cover density, weights
                                                                 -- D 0.1, C 0.2 (body), B 0.4 (tags),
                                                                 -- A 1.0 (title); /32 maps to [0, 1)
    votes     = min(1, ln(1 + max(score, 0)) / ln(1 + SEARCH_VOTES_SATURATION))
    freshness = 0.5 ^ (age_days / SEARCH_FRESHNESS_HALF_LIFE_DAYS)
    relevance = text × (0.70 + 0.15·votes + 0.15·freshness)

The text match decides (a post that does not match scores 0); votes and freshness move a result by
at most ±~20 %, enough to order near-equal matches, never enough to bury a better one.

Speed: ranking touches at most SEARCH_CANDIDATE_LIMIT matching rows (the newest matches for
relevance and new, the highest scored for top), found through the GIN index or by walking a feed
index, whichever the planner prefers; every statement runs under SEARCH_STATEMENT_TIMEOUT_MS.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.core import access
from apps.forum.models import Category, Comment, ContentStatus, Post
from apps.search import cache
from apps.search.query import ParsedQuery, like_escape
from apps.search.selectors.common import (
    ALL_OF_RE,
    CONFIG,
    HEADLINE_OPTIONS,
    MARK_CLOSE,
    MARK_OPEN,
    SNIPPET_SOURCE_CHARS,
    TITLE_HEADLINE_OPTIONS,
    SearchFilters,
    SearchResult,
    bounded_call,
    compile_query,
    formula_params,
    preference_sql,
    relevance_sql,
    resolve_author,
    run,
    sanitize_headline,
    user_visibility_sql,
)

# --- search ------------------------------------------------------------------------------------


@bounded_call
def search(*, viewer, parsed: ParsedQuery, filters: SearchFilters, page: int, limit: int) -> SearchResult:
    categories = sorted(access.readable_category_ids(viewer))
    if filters.type == "user":
        return _search_users(viewer=viewer, parsed=parsed, page=page, limit=limit)

    compiled = compile_query(parsed)
    if compiled is None:
        return SearchResult()
    tsquery, highlight = compiled

    prefs = access.content_preferences(viewer)
    if prefs.hidden_category_ids and not filters.category:
        categories = [c for c in categories if c not in prefs.hidden_category_ids]
    params: dict[str, Any] = {"q": tsquery, "cats": categories, "cap": settings.SEARCH_CANDIDATE_LIMIT}
    where: list[str] = []  # on the searched rows (alias x)
    post_where: list[str] = preference_sql(prefs, params)  # on the post (alias p): itself, or a comment's
    if filters.category:
        category_id = Category.objects.filter(slug=filters.category[:80]).values_list("id", flat=True).first()
        if category_id is None or category_id not in categories:
            return SearchResult()  # unknown or unreadable: the same empty answer, no leak
        params["cats"] = [category_id]
    if filters.tag:
        post_where.append("p.tag_slugs @> ARRAY[%(tag)s]::varchar[]")
        params["tag"] = filters.tag[:40].lower()
    if filters.author:
        author_id = resolve_author(filters.author)
        if author_id is None:
            return SearchResult()
        where.append("x.author_id = %(author)s")
        params["author"] = author_id
    if filters.since:
        where.append("x.created_at >= %(since)s")
        params["since"] = filters.since
    if filters.until:
        where.append("x.created_at < %(until)s")
        params["until"] = filters.until

    def ranked(tsquery: str) -> tuple[list[int], int, str]:
        key = cache.make_key(
            "results",
            {
                "q": tsquery,
                "f": [filters.type, filters.sort, params.get("cats") if filters.category else None],
                "t": params.get("tag"),
                "a": params.get("author"),
                "s": filters.since,
                "u": filters.until,
                "v": access.visibility_key(viewer),
                "c": prefs.key(),
                "p": [page, limit],
            },
        )
        cached = cache.get(key)
        if cached is None:
            ids, total = _rank(filters, where, post_where, {**params, "q": tsquery}, page=page, limit=limit)
            cached = {"ids": ids, "total": total}
            cache.put(key, cached, settings.SEARCH_CACHE_SECONDS)
        return cached["ids"], cached["total"], key

    ids, total, key = ranked(tsquery)
    relaxed = False
    if total == 0 and ALL_OF_RE.fullmatch(tsquery):
        # Every word was required and nothing has them all: rank what has any of them instead
        # (stemming slips like "add"/"adding" and over-specific queries still find something).
        ids, total, key = ranked(tsquery.replace("' & '", "' | '"))
        relaxed = True

    return SearchResult(
        ids=ids,
        total=total,
        capped=total >= settings.SEARCH_CANDIDATE_LIMIT,
        relaxed=relaxed,
        type=filters.type,
        categories=categories,
        highlight=highlight,
        page_key=f"{key}:page",
    )


def hydrate(result: SearchResult) -> list[Any]:
    """The rows of a ranked page, re-read now (a row hidden since it was ranked is dropped), with
    sanitised highlights."""
    if result.type == "comment":
        return _hydrate_comments(result.ids, result.categories, result.highlight)
    return _hydrate_posts(result.ids, result.categories, result.highlight)


def visible_ids(result: SearchResult) -> set[int]:
    """Which of a ranked page's rows the caller may still read (one indexed query): lets a cached,
    already rendered page drop a row hidden or moved since it was cached."""
    if not result.ids:
        return set()
    if result.type == "comment":
        rows = Comment.objects.filter(
            id__in=result.ids,
            status=ContentStatus.PUBLISHED,
            post__status=ContentStatus.PUBLISHED,
            post__category_id__in=result.categories,
        )
    else:
        rows = Post.objects.filter(id__in=result.ids, status=ContentStatus.PUBLISHED, category_id__in=result.categories)
    return set(rows.values_list("id", flat=True))


def _rank(
    filters: SearchFilters, where: list[str], post_where: list[str], params: dict[str, Any], *, page: int, limit: int
):
    params = {**params, **formula_params(), "limit": limit, "offset": (page - 1) * limit}
    extra = "".join(f" AND {w}" for w in where)
    if filters.type == "comment":
        # The post check is a correlated lookup by primary key: a join would make PostgreSQL hash
        # every readable post first. Without post filters it runs only on an over-fetched window of
        # the newest matching comments (3 × the limit), not on every match.
        post_check = " AND ".join(["p.status = 'published'", "p.category_id = ANY(%(cats)s)", *post_where])
        matching = "comments x WHERE x.search_vector @@ %(q)s::tsquery AND x.status = 'published'"
        if not post_where and filters.sort != "top" and not filters.category:
            window = "x.created_at DESC, x.id DESC" if filters.sort == "new" else "x.id DESC"
            matching = f"(SELECT x.* FROM {matching}{extra} ORDER BY {window} LIMIT %(overfetch)s) x WHERE true"  # noqa: S608
            params = {**params, "overfetch": 3 * params["cap"]}
            extra = ""
        source = f"FROM {matching} AND (SELECT {post_check} FROM posts p WHERE p.id = x.post_id)"  # noqa: S608
    else:
        # Without a category filter most categories are readable: `+ 0` keeps the category a row
        # filter instead of a BitmapAnd with its index (which would cost more than it removes).
        category = "x.category_id" if filters.category else "x.category_id + 0"
        source = (
            "FROM posts x WHERE x.search_vector @@ %(q)s::tsquery AND x.status = 'published' "
            f"AND {category} = ANY(%(cats)s)"
        )
        extra += "".join(f" AND {w.replace('p.', 'x.')}" for w in post_where)
    window_order = {"relevance": "x.id DESC", "new": "x.created_at DESC, x.id DESC", "top": "x.score DESC, x.id DESC"}
    final_order = {
        "relevance": "relevance DESC, id DESC",
        "new": "created_at DESC, id DESC",
        "top": "score DESC, id DESC",
    }
    relevance = relevance_sql("x") if filters.sort == "relevance" else "0"
    sql = f"""
        WITH candidates AS (
            SELECT x.id, x.score, x.created_at, {relevance} AS relevance
            {source}{extra}
            ORDER BY {window_order[filters.sort]}
            LIMIT %(cap)s
        )
        SELECT id, count(*) OVER () AS total
        FROM candidates
        ORDER BY {final_order[filters.sort]}
        LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608
    rows = run(sql, params)
    if not rows and page > 1:
        total = run(f"SELECT count(*) FROM (SELECT 1 {source}{extra} LIMIT %(cap)s) s", params)[0][0]  # noqa: S608
        return [], total
    return [r[0] for r in rows], (rows[0][1] if rows else 0)


def _hydrate_posts(ids: list[int], categories: list[int], highlight: str) -> list[Post]:
    if not ids:
        return []
    rows = (
        Post.objects.filter(id__in=ids, status=ContentStatus.PUBLISHED, category_id__in=categories)
        .select_related("author__profile", "category")
        .annotate(
            title_hl=RawSQL(  # noqa: S611
                f"ts_headline('{CONFIG}', translate(posts.title, %s, ''), %s::tsquery, %s)",
                [MARK_OPEN + MARK_CLOSE, highlight, TITLE_HEADLINE_OPTIONS],
            ),
            snippet_hl=RawSQL(  # noqa: S611
                f"ts_headline('{CONFIG}', translate(left(posts.body, %s), %s, ''), %s::tsquery, %s)",
                [SNIPPET_SOURCE_CHARS, MARK_OPEN + MARK_CLOSE, highlight, HEADLINE_OPTIONS],
            ),
        )
        .defer("body_html", "search_vector")
    )
    position = {pk: n for n, pk in enumerate(ids)}
    out = sorted(rows, key=lambda row: position[row.id])
    for post in out:
        post.title_highlight = sanitize_headline(post.title_hl)
        post.snippet = sanitize_headline(post.snippet_hl)
    return out


def _hydrate_comments(ids: list[int], categories: list[int], highlight: str) -> list[Comment]:
    if not ids:
        return []
    rows = (
        Comment.objects.filter(
            id__in=ids,
            status=ContentStatus.PUBLISHED,
            post__status=ContentStatus.PUBLISHED,
            post__category_id__in=categories,
        )
        .select_related("author__profile", "post")
        .annotate(
            snippet_hl=RawSQL(  # noqa: S611
                f"ts_headline('{CONFIG}', translate(left(comments.body, %s), %s, ''), %s::tsquery, %s)",
                [SNIPPET_SOURCE_CHARS, MARK_OPEN + MARK_CLOSE, highlight, HEADLINE_OPTIONS],
            ),
        )
        .defer("body_html", "search_vector", "post__body", "post__body_html", "post__search_vector")
    )
    position = {pk: n for n, pk in enumerate(ids)}
    out = sorted(rows, key=lambda row: position[row.id])
    for comment in out:
        comment.snippet = sanitize_headline(comment.snippet_hl)
    return out


def _search_users(*, viewer, parsed: ParsedQuery, page: int, limit: int) -> SearchResult:
    term = parsed.text.lower().lstrip("@")[:64]
    if not term:
        return SearchResult()
    params = {
        "term": term,
        "prefix": like_escape(term) + "%",
        "cap": settings.SEARCH_CANDIDATE_LIMIT,
        "limit": limit,
        "offset": (page - 1) * limit,
    }
    sql = f"""
        WITH candidates AS (
            SELECT u.id, pr.public_points AS points,
                   (lower(u.username) = %(term)s) AS exact,
                   (lower(u.username) LIKE %(prefix)s) AS prefix,
                   greatest(similarity(lower(u.username), %(term)s),
                            similarity(public.sk_unaccent(lower(pr.display_name)), public.sk_unaccent(%(term)s))) AS sim
            FROM users u JOIN profiles pr ON pr.user_id = u.id
            WHERE u.is_active
              AND (lower(u.username) LIKE %(prefix)s
                   OR lower(u.username) %% %(term)s
                   OR public.sk_unaccent(lower(pr.display_name)) %% public.sk_unaccent(%(term)s))
              {user_visibility_sql(viewer)}
            LIMIT %(cap)s
        )
        SELECT id, count(*) OVER () FROM candidates
        ORDER BY exact DESC, prefix DESC, sim DESC, points DESC, id
        LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608
    rows = run(sql, params)
    ids = [r[0] for r in rows]
    by_id = User.objects.select_related("profile").in_bulk(ids)
    total = rows[0][1] if rows else 0
    return SearchResult(ids=ids, items=[by_id[i] for i in ids if i in by_id], total=total, type="user")


def trending_count(*, viewer, result: SearchResult) -> int:
    """What a search adds to "trending searches", which everyone sees: its total when an anonymous
    visitor would have found the same, else 0 (a query that found staff-only or holder-only posts,
    or profiles hidden from the public, must not surface as a trending query)."""
    from django.contrib.auth.models import AnonymousUser

    if not result.total:
        return 0
    anonymous = AnonymousUser()
    if result.type == "user":
        return result.total if not getattr(viewer, "is_authenticated", False) else 0
    public = access.readable_category_ids(anonymous)
    if access.readable_category_ids(viewer) <= public:
        return result.total
    if result.type == "comment":
        private = Comment.objects.filter(id__in=result.ids).exclude(post__category_id__in=public)
    else:
        private = Post.objects.filter(id__in=result.ids).exclude(category_id__in=public)
    return 0 if private.exists() else result.total
