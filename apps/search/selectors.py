"""Every read of the search area: full-text search, suggestions, related posts, trending.

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

import datetime as dt
import functools
import html
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts.models import User
from apps.core import access
from apps.core.exceptions import ApplicationError, NotFound
from apps.forum.models import Category, Comment, ContentStatus, Post
from apps.search import cache
from apps.search.query import ParsedQuery, clean, like_escape, words

P = ParamSpec("P")
R = TypeVar("R")
CONFIG = "public.sk_english"
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=35, MinWords=15, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE_OPTIONS = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true"
SNIPPET_SOURCE_CHARS = 5000
TYPES = ("post", "comment", "user")
SORTS = ("relevance", "new", "top")
# A tsquery of plain lexemes that must all match ('a' & 'b' & 'c'): the only shape we relax to OR.
ALL_OF_RE = re.compile(r"'(?:[^']|'')+'(?: & '(?:[^']|'')+')+")


class SearchTooBroad(ApplicationError):
    status, code, message = 400, "bad_request", "This search took too long; add words or filters to narrow it."


@dataclass
class SearchFilters:
    type: str = "post"
    sort: str = "relevance"
    category: str | None = None
    tag: str | None = None
    author: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass
class SearchResult:
    ids: list[int] = field(default_factory=list)  # the ranked page
    items: list[Any] | None = None  # users: the rows themselves (posts/comments: see hydrate())
    total: int = 0
    capped: bool = False
    relaxed: bool = False  # no row had every word; these rows have some of them
    did_you_mean: str | None = None
    type: str = "post"
    categories: list[int] = field(default_factory=list)
    highlight: str = ""
    page_key: str | None = None  # where a rendered page may be cached


# --- helpers -----------------------------------------------------------------------------------


_inside = threading.local()


@contextmanager
def bounded() -> Iterator[None]:
    """The work of one request, in one transaction under the search statement timeout: a query that
    hits it is a 400 (`SearchTooBroad`), never a hang or a 500. The transaction's commit does not
    wait for the WAL flush (it only ever writes the search log). Nested uses join the outer one."""
    if getattr(_inside, "active", False):
        yield
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('synchronous_commit', 'off', true)",
                [str(settings.SEARCH_STATEMENT_TIMEOUT_MS)],
            )
            _inside.active = True
            try:
                yield
            finally:
                _inside.active = False
    except OperationalError as exc:
        if "statement timeout" in str(exc) or "canceling statement" in str(exc):
            raise SearchTooBroad() from None
        raise


def _bounded(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with bounded():
            return func(*args, **kwargs)

    return wrapper


def _run(sql: str, params: dict[str, Any] | list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def compile_query(parsed: ParsedQuery) -> tuple[str, str] | None:
    """(tsquery text, highlight tsquery text), or None when nothing searchable is left (only stop
    words, only operators, only exclusions: a query that would have to scan every row)."""
    return _compile(parsed.websearch, parsed.exact, parsed.highlight)


@functools.lru_cache(maxsize=2048)
def _compile(websearch: str, exact: str, highlight: str) -> tuple[str, str] | None:
    # A pure function of its text (the configuration is fixed by migrations): memoised per process.
    rows = _run(
        f"""
        SELECT q::text, querytree(q), hq::text FROM (
          SELECT websearch_to_tsquery('{CONFIG}', %(w)s) && %(x)s::tsquery AS q,
                 websearch_to_tsquery('{CONFIG}', %(h)s) AS hq
        ) s
        """,  # noqa: S608
        {"w": websearch, "x": exact, "h": highlight},
    )
    text, tree, highlighted = rows[0]
    if not text or tree in ("", "T"):
        return None
    return text, highlighted or text


def _relevance_sql(alias: str) -> str:
    return (
        f"ts_rank_cd({alias}.search_vector, %(q)s::tsquery, 32) * ("
        f"%(w_text)s + %(w_votes)s * least(1.0, ln(1 + greatest({alias}.score, 0)) / %(votes_den)s)"
        f" + %(w_fresh)s * power(0.5, greatest(extract(epoch FROM now() - {alias}.created_at), 0)"
        f" / 86400.0 / %(half_life)s))"
    )


def _formula_params() -> dict[str, Any]:
    return {
        "w_text": settings.SEARCH_WEIGHT_TEXT,
        "w_votes": settings.SEARCH_WEIGHT_VOTES,
        "w_fresh": settings.SEARCH_WEIGHT_FRESH,
        "votes_den": math.log(1 + settings.SEARCH_VOTES_SATURATION),
        "half_life": settings.SEARCH_FRESHNESS_HALF_LIFE_DAYS,
    }


def _sanitize_headline(text: str | None) -> str:
    """ts_headline returns source text: escape everything, then turn our private marks into <mark>."""
    if not text:
        return ""
    text = re.sub(r"\s+", " ", text).strip()
    return html.escape(text, quote=False).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def _resolve_author(author: str) -> int | None:
    author = author.strip()
    if author.isdigit() and len(author) < 19:
        return int(author)
    return User.objects.filter(username__iexact=author[:30]).values_list("id", flat=True).first()


# --- search ------------------------------------------------------------------------------------


@_bounded
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
    post_where: list[str] = _preference_sql(prefs, params)  # on the post (alias p): itself, or a comment's
    if filters.category:
        category_id = Category.objects.filter(slug=filters.category[:80]).values_list("id", flat=True).first()
        if category_id is None or category_id not in categories:
            return SearchResult()  # unknown or unreadable: the same empty answer, no leak
        params["cats"] = [category_id]
    if filters.tag:
        post_where.append("p.tag_slugs @> ARRAY[%(tag)s]::varchar[]")
        params["tag"] = filters.tag[:40].lower()
    if filters.author:
        author_id = _resolve_author(filters.author)
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


def _preference_sql(prefs: access.ContentPreferences, params: dict[str, Any]) -> list[str]:
    """The viewer's content settings as conditions on a post (alias p): what they chose not to see."""
    conditions = []
    if not prefs.show_nsfw:
        conditions.append("NOT p.is_nsfw")
    if prefs.hidden_tags:
        conditions.append("NOT (p.tag_slugs && %(hidden_tags)s::varchar[])")
        params["hidden_tags"] = list(prefs.hidden_tags)
    return conditions


def _rank(
    filters: SearchFilters, where: list[str], post_where: list[str], params: dict[str, Any], *, page: int, limit: int
):
    params = {**params, **_formula_params(), "limit": limit, "offset": (page - 1) * limit}
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
    relevance = _relevance_sql("x") if filters.sort == "relevance" else "0"
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
    rows = _run(sql, params)
    if not rows and page > 1:
        total = _run(f"SELECT count(*) FROM (SELECT 1 {source}{extra} LIMIT %(cap)s) s", params)[0][0]  # noqa: S608
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
        post.title_highlight = _sanitize_headline(post.title_hl)
        post.snippet = _sanitize_headline(post.snippet_hl)
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
        comment.snippet = _sanitize_headline(comment.snippet_hl)
    return out


def _user_visibility_sql(viewer) -> str:
    hidden = access.hidden_profile_visibilities(viewer)
    if not hidden:
        return ""
    return " AND pr.visibility NOT IN (" + ", ".join(f"'{v}'" for v in hidden) + ")"


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
            SELECT u.id, pr.points,
                   (lower(u.username) = %(term)s) AS exact,
                   (lower(u.username) LIKE %(prefix)s) AS prefix,
                   greatest(similarity(lower(u.username), %(term)s),
                            similarity(public.sk_unaccent(lower(pr.display_name)), public.sk_unaccent(%(term)s))) AS sim
            FROM users u JOIN profiles pr ON pr.user_id = u.id
            WHERE u.is_active
              AND (lower(u.username) LIKE %(prefix)s
                   OR lower(u.username) %% %(term)s
                   OR public.sk_unaccent(lower(pr.display_name)) %% public.sk_unaccent(%(term)s))
              {_user_visibility_sql(viewer)}
            LIMIT %(cap)s
        )
        SELECT id, count(*) OVER () FROM candidates
        ORDER BY exact DESC, prefix DESC, sim DESC, points DESC, id
        LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608
    rows = _run(sql, params)
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


# --- did you mean ------------------------------------------------------------------------------


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@_bounded
def did_you_mean(text: str) -> str | None:
    """Replace each word the vocabulary does not know by its nearest known word (trigram KNN over
    the GiST index, then at most 1 edit for words of ≤4 letters, 2 for longer), keeping the rest.
    None when nothing changes."""
    terms = [w for w in words(text) if len(w) <= 64]
    if not terms:
        return None
    # One statement: for each word, whether the vocabulary knows it, and if not its 8 nearest
    # known words (trigram KNN over the GiST index).
    rows = _run(
        """
        SELECT w.ord, t.word IS NOT NULL, c.word, c.ndoc
        FROM unnest(%s::text[]) WITH ORDINALITY AS w(term, ord)
        LEFT JOIN search_terms t ON t.word = public.sk_unaccent(w.term)
        LEFT JOIN LATERAL (
            SELECT word, ndoc FROM search_terms
            WHERE t.word IS NULL AND length(w.term) >= 3 AND w.term !~ '^[0-9]+$'
            ORDER BY word <-> public.sk_unaccent(w.term) LIMIT 8
        ) c ON true
        """,
        [terms],
    )
    known: set[int] = set()
    candidates: dict[int, list[tuple[str, int]]] = {}
    for ordinal, is_known, word, ndoc in rows:
        if is_known:
            known.add(ordinal - 1)
        elif word is not None:
            candidates.setdefault(ordinal - 1, []).append((word, ndoc))
    changed = False
    out: list[str] = []
    for index, term in enumerate(terms):
        if index in known or len(term) < 3 or term.isdigit():
            out.append(term)
            continue
        allowed = 1 if len(term) <= 4 else 2
        best = min(
            (
                (distance, -ndoc, word)
                for word, ndoc in candidates.get(index, [])
                if (distance := _edit_distance(term, word)) <= allowed
            ),
            default=None,
        )
        if best is None:
            out.append(term)
        else:
            out.append(best[2])
            changed = True
    return " ".join(out) if changed else None


# A tag used only in categories the viewer may not read is not suggested (one nobody used yet is).
TAG_READABLE = """
    AND (NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.tag_id = tags.id)
         OR EXISTS (SELECT 1 FROM post_tags pt JOIN posts p ON p.id = pt.post_id
                    WHERE pt.tag_id = tags.id AND p.status = 'published' AND p.category_id = ANY(%(readable)s)))
"""

# --- suggest -----------------------------------------------------------------------------------


def _prefix_tsquery(terms: list[str]) -> str | None:
    """'success kid' → to_tsquery text 'success & kid:*': every word in the title, the last one
    as a prefix. Words are [^\\W_]+ only, so the text needs no escaping."""
    if not terms:
        return None
    parts = [*terms[:-1], f"{terms[-1]}:*"]
    return " & ".join(parts)


@_bounded
def suggest(*, viewer, raw: str | None) -> dict[str, Any]:
    text = clean(raw)[:64]
    result: dict[str, Any] = {"query": text, "titles": [], "tags": [], "users": [], "did_you_mean": None}
    if len(text) < 2:
        return result
    categories = sorted(access.readable_category_ids(viewer))
    prefs = access.content_preferences(viewer)
    categories = [c for c in categories if c not in prefs.hidden_category_ids]
    key = cache.make_key("suggest", {"q": text.lower(), "v": access.visibility_key(viewer), "c": prefs.key()})
    cached = cache.get(key)
    if cached is not None:
        return cached

    # Titles, tags and users in one statement (one round trip), each branch with its own index:
    # (kind, ordinal, id, label, extra, count).
    n = settings.SEARCH_SUGGEST_LIMIT
    params: dict[str, Any] = {"cats": categories, "n": n}
    chosen = "".join(f" AND {c}" for c in _preference_sql(prefs, params))
    branches: list[str] = []
    tsq = _prefix_tsquery(words(text))
    if tsq:
        # Title-only index (migration 0003); the first 200 matches the bitmap yields (the heap scan
        # stops there), best scored first. category_id + 0 makes the category a filter, not a second
        # bitmap: most categories are readable, ANDing their index costs more than it saves.
        params["tsq"] = tsq
        branches.append(
            f"""
            (WITH m AS MATERIALIZED (
                SELECT p.id, p.title, p.score FROM posts p
                WHERE to_tsvector('{CONFIG}'::regconfig, p.title) @@ to_tsquery('{CONFIG}', %(tsq)s)
                  AND p.status = 'published' AND p.category_id + 0 = ANY(%(cats)s){chosen}
                LIMIT 200)
             SELECT 'title', row_number() OVER (ORDER BY score DESC, id DESC), id, title, NULL, NULL::bigint
             FROM m ORDER BY score DESC, id DESC LIMIT %(n)s)
            """  # noqa: S608
        )
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40]
    if slug:
        params.update({"slug_prefix": like_escape(slug) + "%", "slug": slug})
        params["readable"] = sorted(access.readable_category_ids(viewer))
        branches += [
            f"""
            (SELECT 'tag', row_number() OVER (ORDER BY post_count DESC, slug), NULL::bigint, slug, name,
                    post_count::bigint
             FROM tags WHERE slug LIKE %(slug_prefix)s {TAG_READABLE} ORDER BY post_count DESC, slug LIMIT %(n)s)
            """,  # noqa: S608
            f"""
            (SELECT 'tag~', row_number() OVER (ORDER BY similarity(slug, %(slug)s) DESC, post_count DESC),
                    NULL::bigint, slug, name, post_count::bigint
             FROM tags WHERE slug %% %(slug)s AND slug NOT LIKE %(slug_prefix)s {TAG_READABLE}
             ORDER BY similarity(slug, %(slug)s) DESC, post_count DESC LIMIT %(n)s)
            """,  # noqa: S608
        ]
    term = text.lower().lstrip("@")
    if term:
        visible = _user_visibility_sql(viewer)
        params.update({"user_prefix": like_escape(term) + "%", "term": term})
        branches += [
            f"""
            (SELECT 'user', row_number() OVER (ORDER BY pr.points DESC, u.id), u.id, u.username,
                    pr.display_name, NULL::bigint
             FROM users u JOIN profiles pr ON pr.user_id = u.id
             WHERE lower(u.username) LIKE %(user_prefix)s AND u.is_active {visible}
             ORDER BY pr.points DESC, u.id LIMIT %(n)s)
            """,  # noqa: S608
            f"""
            (SELECT 'user~', row_number() OVER (ORDER BY lower(u.username) <-> %(term)s, u.id), u.id,
                    u.username, pr.display_name, NULL::bigint
             FROM users u JOIN profiles pr ON pr.user_id = u.id
             WHERE lower(u.username) %% %(term)s AND lower(u.username) NOT LIKE %(user_prefix)s
               AND u.is_active {visible}
             ORDER BY lower(u.username) <-> %(term)s, u.id LIMIT %(n)s)
            """,  # noqa: S608
        ]
    rows = _run(" UNION ALL ".join(branches), params) if branches else []
    order = {"title": 0, "tag": 1, "tag~": 2, "user": 3, "user~": 4}
    for kind, _, pk, label, extra, count in sorted(rows, key=lambda r: (order[r[0]], r[1])):
        if kind == "title":
            result["titles"].append({"id": pk, "title": label})
        elif kind.startswith("tag"):
            result["tags"].append({"slug": label, "name": extra, "post_count": count})
        else:
            result["users"].append({"id": pk, "username": label, "display_name": extra})
    result["tags"] = result["tags"][:n]
    result["users"] = result["users"][:n]

    if not result["titles"]:
        # While typing, a word is usually a prefix, not a typo: offer a spelling only when no title
        # matched what was typed.
        result["did_you_mean"] = did_you_mean(text)
    cache.put(key, result, settings.SEARCH_CACHE_SECONDS)
    return result


# --- related posts -----------------------------------------------------------------------------


@_bounded
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
    title_query = _run(
        f"SELECT replace(strip(to_tsvector('{CONFIG}', %s))::text, ''' ''', ''' | ''')",
        [source.title],
    )[0][0]
    # category_id + 0: a filter, not a BitmapAnd with the category index (most categories are readable).
    rows = _run(
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


# --- trending ----------------------------------------------------------------------------------


@_bounded
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
    topic_rows = _run(
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
    search_rows = _run(
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
