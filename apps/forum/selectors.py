"""Every non-trivial forum read, with its joins and annotations; constant query counts."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from psycopg.pq import Format

from apps.accounts.selectors import public_user_fields
from apps.core.access import (
    can_read_category,
    can_read_post,
    can_see_content,
    content_preferences,
    is_moderator,
    readable_among,
    readable_filter,
    readable_posts_filter,
    unreadable_category_ids,
)
from apps.core.exceptions import NotFound, ValidationFailed
from apps.core.pagination import decode_cursor, encode_cursor
from apps.forum import reference
from apps.forum.content_rules import normalise_tag
from apps.forum.models import (
    PLACEHOLDER_STATUSES,
    PLACEHOLDER_TITLES,
    Category,
    Comment,
    ContentStatus,
    Draft,
    Post,
    PostRevision,
    PostTag,
    Tag,
    Vote,
)
from apps.forum.pagination import seek_page

POST_SORTS = ("hot", "new", "top", "controversial", "active")
COMMENT_SORTS = ("best", "top", "new", "old")
PERIODS = {"day": 1, "week": 7, "month": 30, "year": 365, "all": None}

# Keyset orderings; each matches a partial index of posts (see models.Post.Meta.indexes).
_FEED_ORDER = {
    "hot": ["-hot_rank", "-id"],
    "new": ["-id"],
    "top": ["-score", "-id"],
    "controversial": ["-controversy", "-id"],
    "active": ["-last_activity_at", "-id"],
}
_PINNED_FIRST = {"hot", "new", "active"}  # in a category feed, pinned posts lead these sorts


def _authed(viewer) -> bool:
    return bool(getattr(viewer, "is_authenticated", False))


def with_my_vote(queryset: QuerySet[Post], viewer) -> QuerySet[Post]:
    if not _authed(viewer):
        return queryset.annotate(my_vote=Value(0, output_field=IntegerField()))
    mine = Vote.objects.filter(user_id=viewer.pk, post_id=OuterRef("pk"), comment__isnull=True).values("value")[:1]
    return queryset.annotate(my_vote=Coalesce(Subquery(mine, output_field=IntegerField()), 0))


def post_base_queryset(viewer) -> QuerySet[Post]:
    qs = Post.objects.select_related("author__profile", "category").defer("search_vector")
    return with_my_vote(qs, viewer)


COMMENT_FIELDS = (
    "id", "post_id", "parent_id", "depth", "body", "body_html", "status", "score", "upvotes", "downvotes",
    "reply_count", "created_at", "edited_at", "author_id", "author__username", "author__date_joined",
    "author__profile__display_name", "author__profile__avatar_url", "author__profile__public_level",
    "author__profile__public_points", "author__profile__holder_tier", "author__profile__show_holdings",
)  # fmt: skip


def _validate_choice(value: str | None, choices, name: str, default: str) -> str:
    value = value or default
    if value not in choices:
        msg = f"{name} must be one of: {', '.join(choices)}."
        raise ValidationFailed(msg, details={name: [msg]})
    return value


def feed_categories(*, viewer, slug: str) -> list[Category]:
    """The category named by `slug` and its readable subcategories; 404 when unknown or unreadable."""
    tree = reference.categories()  # per-process cache: no query
    main = tree.by_slug.get(slug)
    if main is None or not can_read_category(viewer, main):
        raise NotFound("Category not found.")
    return [main] + [c for c in tree.children(main.pk) if can_read_category(viewer, c, main)]


@dataclass
class FeedPage:
    rows: list[dict]  # API.md "post" objects, ready to render
    next_cursor: str | None
    prev_cursor: str | None
    limit: int


# A feed page is served from rows, not model instances: one hand-written query shaped like the
# answer (the columns of PostSerializer and the public user), turned into dicts in one pass.
# Building the ORM query and the instances cost ten times the SQL itself. The rules still come from
# apps.core.access: its Q objects are compiled to SQL once per distinct rule (`_posts_where`).
_FEED_SELECT = """
SELECT "posts"."id", "posts"."title", "posts"."slug", "posts"."body", "posts"."body_html", "posts"."excerpt",
       c.slug, c.name, "posts"."tag_slugs", "posts"."author_id", u.username, u.date_joined, pr.display_name,
       pr.avatar_url, pr.public_level, pr.public_points, pr.holder_tier, pr.show_holdings, "posts"."score",
       "posts"."upvotes",
       "posts"."downvotes", "posts"."comment_count", "posts"."created_at", "posts"."edited_at",
       "posts"."last_activity_at", "posts"."is_pinned", "posts"."is_locked", "posts"."is_nsfw", "posts"."status",
       "posts"."hot_rank", "posts"."controversy", "posts"."revision_count"{my_vote}
FROM "posts" JOIN "categories" c ON c.id = "posts"."category_id" JOIN "users" u ON u.id = "posts"."author_id"
LEFT JOIN "profiles" pr ON pr.user_id = "posts"."author_id"{tag_join}
WHERE "posts"."status" = %s{where}
ORDER BY {order_by}
LIMIT %s"""
_MY_VOTE = """,
       COALESCE((SELECT v.value FROM "votes" v WHERE v.user_id = %s AND v.post_id = "posts"."id"
                 AND v.comment_id IS NULL LIMIT 1), 0)"""
# Row positions of what the ordering keys and the cursor read.
_FEED_COLUMN = {"id": 0, "score": 18, "last_activity_at": 24, "is_pinned": 25, "hot_rank": 29, "controversy": 30}


# psycopg's own (C) loader for timestamptz. Django registers a pure-Python one on its cursors to give
# every value its time zone; with UTC that is the session's own, so psycopg's loader returns the same
# values. On a feed page, parsing those times in Python cost as much as the rest of the query.
_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, Format.TEXT)


def _fetch_rows(model, sql: str, params: list) -> list[tuple]:
    """Rows of one hand-written read, on the connection the router picks for `model`."""
    with connections[router.db_for_read(model)].cursor() as cursor:
        if settings.USE_TZ and cursor.db.timezone_name == "UTC":
            cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        cursor.execute(sql, params)
        return cursor.fetchall()


@lru_cache(maxsize=256)
def _posts_where(q: Q) -> tuple[str, tuple]:
    """SQL of a filter on posts (an access rule or a viewer's content settings), compiled once."""
    query = Post.objects.filter(q).query
    connection = connections[DEFAULT_DB_ALIAS]
    sql, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    return sql, tuple(params)


def _and_where(where: list[str], params: list, q: Q) -> None:
    if q:
        sql, extra = _posts_where(q)
        if sql:
            where.append(f"({sql})")
            params.extend(extra)


def post_feed_page(
    *,
    viewer,
    sort: str | None = "hot",
    period: str | None = "all",
    category: str | None = None,
    tag: str | None = None,
    author_id: Any = None,
    limit: int = 20,
    cursor: str | None = None,
    fields: frozenset[str] | None = None,
) -> FeedPage:
    """One keyset page of published posts `viewer` may read, filtered, in one query."""
    sort = _validate_choice(sort, POST_SORTS, "sort", "hot")
    period = _validate_choice(period, tuple(PERIODS), "period", "all")
    ordering = list(_FEED_ORDER[sort])
    where: list[str] = []
    params: list[Any] = []
    if category:
        cats = feed_categories(viewer=viewer, slug=category)
        _and_where(
            where, params, Q(category_id=cats[0].pk) if len(cats) == 1 else Q(category_id__in=[c.pk for c in cats])
        )
        if sort in _PINNED_FIRST:
            ordering = ["-is_pinned", *ordering]
    else:
        _and_where(where, params, readable_filter(viewer))
    _and_where(where, params, content_preferences(viewer).post_filter(asked_category=bool(category)))
    tag_join = ""
    if tag:
        tag_pk = reference.tag_id(tag.strip().lower())
        if tag_pk is None:
            raise NotFound("Tag not found.")
        tag_join = ' JOIN "post_tags" pt ON pt.post_id = "posts"."id"'
        where.append("pt.tag_id = %s")
        params.append(tag_pk)
    if author_id not in (None, ""):
        try:
            params.append(int(author_id))
        except (TypeError, ValueError):
            raise ValidationFailed("author must be a user id.", details={"author": ["Must be a user id."]}) from None
        where.append('"posts"."author_id" = %s')
    days = PERIODS[period]
    if days:
        where.append('"posts"."created_at" >= %s')
        params.append(timezone.now() - timedelta(days=days))
    seek = seek_page(Post, ordering, cursor)
    if seek.where:
        where.append(seek.where)
        params.extend(seek.params)
    authed = _authed(viewer)
    sql = _FEED_SELECT.format(
        my_vote=_MY_VOTE if authed else "",
        tag_join=tag_join,
        where="".join(f" AND {w}" for w in where),
        order_by=seek.order_by,
    )
    all_params = ([viewer.pk] if authed else []) + [ContentStatus.PUBLISHED, *params, limit + 1]
    rows = _fetch_rows(Post, sql, all_params)
    key_columns = [_FEED_COLUMN[name.lstrip("-")] for name in ordering]
    rows, next_cursor, prev_cursor = seek.page(rows, limit, lambda r: [r[i] for i in key_columns])
    return FeedPage(_post_dicts(rows, fields), next_cursor, prev_cursor, limit)


def _post_dicts(rows: list[tuple], fields: frozenset[str] | None) -> list[dict]:
    """API.md "post" objects from feed rows (PostSerializer's shape, checked by a test). Authors
    are the public user (public_user_fields), built once per author per page."""
    with_author = not fields or "author" in fields
    authors: dict[int, dict] = {}
    out = []
    for r in rows:
        gone = r[28] in PLACEHOLDER_STATUSES
        author = None
        if with_author and not gone:
            author = authors.get(r[9])
            if author is None:
                author = authors[r[9]] = public_user_fields(*r[9:18])
        post = {
            "id": r[0],
            "title": PLACEHOLDER_TITLES[r[28]] if gone else r[1],
            "slug": "" if gone else r[2],
            "body": "" if gone else r[3],
            "body_html": "" if gone else r[4],
            "excerpt": "" if gone else r[5],
            "category": {"slug": r[6], "name": r[7]},
            "tags": r[8],
            "author": author,
            "score": r[18],
            "upvotes": r[19],
            "downvotes": r[20],
            "my_vote": r[32] if len(r) > 32 else 0,
            "comment_count": r[21],
            "created_at": r[22],
            "edited_at": r[23],
            "last_activity_at": r[24],
            "is_pinned": r[25],
            "is_locked": r[26],
            "is_nsfw": r[27],
            "is_deleted": gone,
            "status": r[28],
            "hot_rank": r[29],
            "controversy": r[30],
            "revision_count": r[31],
        }
        if fields:
            post = {k: v for k, v in post.items() if k in fields}
        out.append(post)
    return out


def post_get(*, viewer, post_id: int) -> Post:
    post = post_base_queryset(viewer).select_related("category__parent").filter(pk=post_id).first()
    if post is None or not can_read_post(viewer, post):
        raise NotFound("Post not found.")
    return post


def post_revisions(*, viewer, post_id: int) -> QuerySet[PostRevision]:
    post = post_get(viewer=viewer, post_id=post_id)
    if post.status in PLACEHOLDER_STATUSES and not is_moderator(viewer):
        return PostRevision.objects.none()  # a deleted post's history goes with it
    return PostRevision.objects.filter(post_id=post.pk).select_related("editor__profile", "category")


# --- comments -----------------------------------------------------------------------------------


@dataclass
class CommentPage:
    rows: list[dict]  # rendered comments (API.md "comment"), in thread order
    next_cursor: str | None
    prev_cursor: str | None
    limit: int


_COMMENT_KEYS = {
    "best": lambda r: (-r[5], -r[4], r[0]),
    "top": lambda r: (-r[4], r[0]),
}


def _thread_order(rows: list[tuple], *, viewer, sort: str) -> tuple[list[int], set[int]]:
    """Depth-first order of the visible thread for the sorts whose sibling order moves with votes
    (best, top). Rows are (id, parent_id, status, author_id, score, best_rank) in id order (every
    comment after its ancestors). Deleted, removed or not-visible comments stay only as
    placeholders holding visible replies. Returns (ordered ids, ids to render as placeholders).
    Linear in the thread size plus the sibling sorts."""
    published = ContentStatus.PUBLISHED
    if all(row[2] == published for row in rows):  # the common case: nothing to hide
        shown_ids = None
    else:
        moderator = is_moderator(viewer)
        viewer_id = viewer.pk if _authed(viewer) else None
        shown_ids = {
            row[0]
            for row in rows
            if row[2] == published or (row[2] not in PLACEHOLDER_STATUSES and (moderator or row[3] == viewer_id))
        }
        keep = set(shown_ids)
        for row in reversed(rows):  # descendants come before their ancestors in reverse id order
            if row[0] in keep and row[1] is not None:
                keep.add(row[1])
        rows = [row for row in rows if row[0] in keep]
    children: dict[int | None, list[tuple]] = defaultdict(list)
    for row in rows:  # id order, so siblings are already in "old" order
        children[row[1]].append(row)
    key = _COMMENT_KEYS[sort]
    for siblings in children.values():
        siblings.sort(key=key)
    order = []
    walk = list(reversed(children.get(None, ())))
    while walk:
        row = walk.pop()
        order.append(row[0])
        kids = children.get(row[0])
        if kids:
            walk.extend(reversed(kids))
    placeholders: set[int] = set()
    if shown_ids is not None:
        placeholders = {row[0] for row in rows if row[0] not in shown_ids or row[2] in PLACEHOLDER_STATUSES}
    return order, placeholders


# The thread's rows with what their authors show, shaped for the representation (one pass to dicts).
_THREAD_COLUMNS = """c.id, c.parent_id, c.depth, c.body, c.body_html, c.status, c.author_id, c.score, c.upvotes,
    c.downvotes, c.reply_count, c.created_at, c.edited_at, u.username, u.date_joined, pr.display_name,
    pr.avatar_url, pr.public_level, pr.public_points, pr.holder_tier, pr.show_holdings"""
_THREAD_FROM = """FROM comments c JOIN users u ON u.id = c.author_id LEFT JOIN profiles pr ON pr.user_id = u.id"""
# Seen as itself: published, or pending/hidden for its author and moderators. Anything else is shown
# only as a placeholder, and only while it holds such a reply: its subtree is the path range
# [path, path || ':') (':' sorts right after the digits and '.', collation "C").
_SHOWN = """({a}.status = 'published' OR ({a}.status NOT IN ('removed', 'deleted')
    AND (%(moderator)s OR {a}.author_id = %(viewer)s)))"""
_HOLDS_SHOWN_REPLY = f"""EXISTS (SELECT 1 FROM comments d WHERE d.post_id = c.post_id AND d.path > c.path
    AND d.path < c.path || ':' AND {_SHOWN.format(a="d")})"""  # noqa: S608 (constants only)
# old: siblings by id, i.e. the materialised path itself. new: siblings by id descending, i.e. the
# path with every digit inverted (9999999999 - id for each zero-padded id), which keeps a reply
# right after its parent. Both are served by an index on (post_id, key).
_PATH_KEYS = {"old": "c.path", "new": "translate(c.path, '0123456789', '9876543210')"}
_PATH_CURSOR = re.compile(r"(?:\d{10}\.){1,23}")
_PAGE_BY_KEY = """SELECT {columns}{my_vote}, {key} AS sort_key {frm}
WHERE c.post_id = %(post)s {after}
  AND ({shown} OR {holds})
ORDER BY sort_key {direction} LIMIT %(fetch)s"""
# A signed-in viewer's vote on each comment of the page, in the page's own query (column 21).
_MY_COMMENT_VOTE = """,
    COALESCE((SELECT v.value FROM votes v WHERE v.user_id = %(viewer)s AND v.comment_id = c.id), 0)"""
_PAGE_BY_IDS = {
    signed_in: f"SELECT {_THREAD_COLUMNS}{_MY_COMMENT_VOTE if signed_in else ''} {_THREAD_FROM} WHERE c.id = ANY(%(ids)s)"
    for signed_in in (False, True)
}


def _page_sql(key: str, anchor: str, signed_in: bool) -> str:
    """`anchor`: "" (first page), ">" (the page after the cursor), "<" (before it, read backwards)."""
    return _PAGE_BY_KEY.format(
        columns=_THREAD_COLUMNS,
        my_vote=_MY_COMMENT_VOTE if signed_in else "",
        key=key,
        frm=_THREAD_FROM,
        after=f"AND {key} {anchor} %(anchor)s" if anchor else "",
        shown=_SHOWN.format(a="c"),
        holds=_HOLDS_SHOWN_REPLY,
        direction="DESC" if anchor == "<" else "",
    )


_PAGE_SQL = {
    (sort, anchor, signed_in): _page_sql(key, anchor, signed_in)
    for sort, key in _PATH_KEYS.items()
    for anchor in ("", ">", "<")
    for signed_in in (False, True)
}


def _comment_dict(row, *, post_id: int, placeholder: bool, signed_in: bool, authors: dict[int, dict]) -> dict:
    gone = placeholder or row[5] in PLACEHOLDER_STATUSES
    author = None
    if not gone:
        author = authors.get(row[6])
        if author is None:
            author = authors[row[6]] = public_user_fields(row[6], *row[13:21])
    return {
        "id": row[0],
        "post_id": post_id,
        "parent_id": row[1],
        "depth": row[2],
        "body": "" if gone else row[3],
        "body_html": "" if gone else row[4],
        "author": author,
        "score": row[7],
        "upvotes": row[8],
        "downvotes": row[9],
        "my_vote": row[21] if signed_in else 0,
        "created_at": row[11],  # aware datetimes: the renderer writes them as DRF does (ISO 8601, Z)
        "edited_at": row[12],
        "is_deleted": gone,
        "reply_count": row[10],
    }


# What access.can_read_post reads of a post and its category (and the category's parent).
_POST_ACCESS = """SELECT p.status, p.author_id, c.id, c.parent_id, c.read_access, c.read_min_tier,
    parent.read_access, parent.read_min_tier
FROM posts p JOIN categories c ON c.id = p.category_id LEFT JOIN categories parent ON parent.id = c.parent_id
WHERE p.id = %s"""


def _readable_post_id(db, viewer, post_id: int) -> int:
    """The post's id when `viewer` may read it (the access module's post rule), else NotFound."""
    db.execute(_POST_ACCESS, [post_id])
    found = db.fetchone()
    if found is None:
        raise NotFound("Post not found.")
    status, author_id, category_id, parent_id, read_access, read_min_tier, parent_access, parent_tier = found
    category = Category(id=category_id, parent_id=parent_id, read_access=read_access, read_min_tier=read_min_tier)
    parent = None
    if parent_id is not None:
        parent = Category(id=parent_id, read_access=parent_access, read_min_tier=parent_tier)
    if not (
        can_read_category(viewer, category, parent) and can_see_content(viewer, status=status, author_id=author_id)
    ):
        raise NotFound("Post not found.")
    return post_id


def _page_by_path(db, *, post_id: int, sort: str, limit: int, params: dict, raw: str | None):
    """old/new: the page straight from the index, in the order it is shown, placeholders included."""
    forward, anchor = True, None
    if raw:
        (anchor,), direction = decode_cursor(raw, 1)
        if not isinstance(anchor, str) or not _PATH_CURSOR.fullmatch(anchor):
            raise ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]})
        forward = direction == "n"
    sql = _PAGE_SQL[sort, "" if anchor is None else ">" if forward else "<", params["viewer"] is not None]
    db.execute(sql, {**params, "post": post_id, "anchor": anchor, "fetch": limit + 1})
    rows = db.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    # Going forward, what precedes is the anchor's side (if any); going back, the anchor follows.
    has_next, has_prev = (more, anchor is not None) if forward else (True, more)
    next_cursor = encode_cursor([rows[-1][-1]], "n") if rows and has_next else None
    prev_cursor = encode_cursor([rows[0][-1]], "p") if rows and has_prev else None
    return rows, next_cursor, prev_cursor


def _page_by_tree(db, *, viewer, viewer_id: int | None, post_id: int, sort: str, limit: int, raw: str | None):
    """best/top: sibling order moves with every vote, so the order is computed from the light tree
    (an index-only scan; a recursive CTE doing the same in SQL cost more, see bench/README.md)."""
    # No ORDER BY: sorting 2,000 paths in PostgreSQL costs more than the scan. A reply's id is always
    # larger than its parent's, so id order puts every comment after its ancestors.
    db.execute("SELECT id, parent_id, status, author_id, score, best_rank FROM comments WHERE post_id = %s", [post_id])
    order, placeholders = _thread_order(sorted(db.fetchall()), viewer=viewer, sort=sort)
    start, end = 0, None
    if raw:
        (anchor_id, anchor_index), direction = decode_cursor(raw, 2)
        if not isinstance(anchor_id, int) or not isinstance(anchor_index, int):
            raise ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]})
        try:
            position = order.index(anchor_id)
        except ValueError:
            position = min(max(anchor_index, 0), len(order))  # the anchor vanished: keep its place
            if direction == "n":
                position -= 1
        if direction == "n":
            start = position + 1
        else:
            end = position
            start = max(0, position - limit)
    if end is None:
        end = start + limit
    page_ids = order[start:end]
    next_cursor = prev_cursor = None
    if page_ids:
        if end < len(order):
            next_cursor = encode_cursor([page_ids[-1], end - 1], "n")
        if start > 0:
            prev_cursor = encode_cursor([page_ids[0], start], "p")
    rows = []
    if page_ids:
        db.execute(_PAGE_BY_IDS[viewer_id is not None], {"ids": page_ids, "viewer": viewer_id})
        by_id = {row[0]: row for row in db.fetchall()}
        rows = [by_id[cid] for cid in page_ids if cid in by_id]
    return rows, placeholders, next_cursor, prev_cursor


def comment_thread(*, viewer, post_id: int, sort: str | None, limit: int, cursor: str | None) -> CommentPage:
    """One page of the flat, depth-first thread, rendered, whatever the thread size: the post's
    access check, the page (old/new: one indexed query in display order; best/top: the light tree,
    ordered here, then the page's rows, with a signed-in viewer's votes on them)."""
    sort = _validate_choice(sort, COMMENT_SORTS, "sort", "best")
    moderator = is_moderator(viewer)
    viewer_id = viewer.pk if _authed(viewer) else None
    with connections[router.db_for_read(Comment)].cursor() as db:
        if settings.USE_TZ and db.db.timezone_name == "UTC":
            db.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)  # as _fetch_rows
        post_id = _readable_post_id(db, viewer, post_id)
        if sort in _PATH_KEYS:
            params = {"moderator": moderator, "viewer": viewer_id}
            rows, next_cursor, prev_cursor = _page_by_path(
                db, post_id=post_id, sort=sort, limit=limit, params=params, raw=cursor
            )
            published = ContentStatus.PUBLISHED
            placeholders = {
                row[0]
                for row in rows
                if row[5] != published and (row[5] in PLACEHOLDER_STATUSES or not (moderator or row[6] == viewer_id))
            }
        else:
            rows, placeholders, next_cursor, prev_cursor = _page_by_tree(
                db, viewer=viewer, viewer_id=viewer_id, post_id=post_id, sort=sort, limit=limit, raw=cursor
            )
    authors: dict[int, dict] = {}  # one public user per distinct author
    rendered = [
        _comment_dict(
            row,
            post_id=post_id,
            placeholder=row[0] in placeholders,
            signed_in=viewer_id is not None,
            authors=authors,
        )
        for row in rows
    ]
    return CommentPage(rows=rendered, next_cursor=next_cursor, prev_cursor=prev_cursor, limit=limit)


def new_comment(comment: Comment) -> Comment:
    """The comment `comment_create` just saved, as its author reads it: the saved instance holds
    every field of the answer (its author the signed-in user, no votes yet), so it is not read back
    (three joins and six model instances, an eighth of a comment request). The answer equals a
    read through `comment_get` (tests/forum/test_comments.py)."""
    comment.my_vote = 0
    return comment


def comment_get(*, viewer, comment_id: int) -> Comment:
    comment = Comment.objects.select_related("author__profile", "post__category__parent").filter(pk=comment_id).first()
    if comment is None:
        raise NotFound("Comment not found.")
    post = comment.post
    if not can_read_post(viewer, post):
        raise NotFound("Comment not found.")
    if not can_see_content(viewer, status=comment.status, author_id=comment.author_id):
        raise NotFound("Comment not found.")
    mine = 0
    if _authed(viewer):
        mine = (
            Vote.objects.filter(user_id=viewer.pk, comment_id=comment.pk).values_list("value", flat=True).first() or 0
        )
    comment.my_vote = mine
    return comment


# --- categories, tags, votes, drafts -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CategoryAccess:
    """What apps.core.access reads of a category to decide who may read it."""

    pk: int
    parent_id: int | None
    read_access: str
    read_min_tier: str


_CATEGORY_KEYS = (
    "id", "slug", "name", "description", "color", "position", "parent", "read_access", "post_access",
    "read_min_tier", "post_min_tier", "is_archived", "post_count", "comment_count", "active_users_24h",
    "trending_tags", "trending_score", "trending_updated_at",
)  # fmt: skip
_CATEGORY_SQL = """
SELECT c.id, c.slug, c.name, c.description, c.color, c.position, parent.slug, c.read_access, c.post_access,
       c.read_min_tier, c.post_min_tier, c.is_archived, c.post_count, c.comment_count, c.active_users_24h,
       c.trending_tags, c.trending_score, c.trending_updated_at, c.parent_id
FROM "categories" c LEFT JOIN "categories" parent ON parent.id = c.parent_id
ORDER BY c.position, c.id"""


def category_list(*, viewer) -> list[dict]:
    """Readable categories (API.md "category", CategorySerializer's keys), parents first, each
    followed by its subcategories: one query, rows to dicts. Counts are kept by the services; active
    users and trending tags by the refresh_trending beat job."""
    rows = _fetch_rows(Category, _CATEGORY_SQL, [])
    access = {r[0]: _CategoryAccess(r[0], r[18], r[7], r[9]) for r in rows}
    readable_ids = readable_among(viewer, access.values(), access)
    readable = [r for r in rows if r[0] in readable_ids]
    ordered: list[dict] = []
    for parent in (r for r in readable if r[18] is None):
        ordered.append(dict(zip(_CATEGORY_KEYS, parent, strict=False)))
        ordered.extend(dict(zip(_CATEGORY_KEYS, r, strict=False)) for r in readable if r[18] == parent[0])
    return ordered


def tag_list(*, viewer, q: str | None = None) -> QuerySet[Tag]:
    """Tags on at least one post the viewer may read: a tag used only in a staff-only or
    holder-only category does not reveal itself, and `visible_post_count` counts only the posts
    the viewer may read (the stored `post_count` counts every published post)."""
    tagged = PostTag.objects.filter(tag_id=OuterRef("pk"))
    hidden = unreadable_category_ids(viewer)
    readable = tagged.filter(post__status=ContentStatus.PUBLISHED).exclude(post__category_id__in=hidden)
    # A tag nobody has used yet reveals nothing; one used only where the viewer cannot read does.
    qs = Tag.objects.filter(~Exists(tagged) | Exists(readable))
    if hidden:
        counted = readable.order_by().values("tag_id").annotate(n=Count("*")).values("n")
        qs = qs.annotate(visible_post_count=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)))
    else:
        qs = qs.annotate(visible_post_count=F("post_count"))
    if q:
        prefix = normalise_tag(q)
        qs = qs.filter(slug__startswith=prefix) if prefix else qs.none()
    return qs


def vote_history(*, user) -> QuerySet[Vote]:
    """The caller's votes on what they may still read (a category closed since, a post hidden by
    moderation: the vote stays, its title does not show)."""
    return (
        Vote.objects.filter(user_id=user.pk)
        .filter(readable_posts_filter(user, "post__"))
        .select_related("post")
        .only("id", "post_id", "comment_id", "value", "created_at", "updated_at", "post__title")
    )


def draft_list(*, user) -> QuerySet[Draft]:
    return Draft.objects.filter(author_id=user.pk).select_related("category")


def draft_get(*, user, draft_id: int) -> Draft:
    draft = draft_list(user=user).filter(pk=draft_id).first()
    if draft is None:
        raise NotFound("Draft not found.")
    return draft
