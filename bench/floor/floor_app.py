"""The floor: a bare ASGI app (no framework, no Django) that serves the project's read paths from the
project's own database with ONE hand-written SQL query per request and orjson.

Origin: the lead's floor app (shared/bench/floor/floor_app.py, 2026-12-05), copied here and extended
with signed-in reads (the viewer's votes as `my_vote`) and the project's default content filter
(no NSFW posts), so the two return the same rows.

    FLOOR_DSN=postgresql://postgres@127.0.0.1:5432/<the forum bench database> \
        .venv/bin/uvicorn floor_app:app --app-dir bench/floor --port 8796

Same rows and the same JSON keys as the project's responses (envelope {"data": ..., "meta": ...}).
Anonymous viewer: my_vote = 0. Signed-in viewer (`Authorization: Bearer <access token>`): the
token's `sub` claim is read WITHOUT verifying the signature, and the same query joins that user's
votes (`my_vote`) and reads the categories a member with no holder tier may read.
What it leaves out: verifying the token, throttling, middleware, access rules beyond "this viewer
class may read this category" (computed once at start-up, as the project caches it per process),
the viewer's own content settings, placeholders for deleted comments (none in this data), gzip,
ETags.
Connections: psycopg AsyncConnectionPool (min 2, max 10), psycopg's default prepared-statement threshold.
"""

from __future__ import annotations

import base64
import os
from urllib.parse import parse_qs

import orjson
from psycopg_pool import AsyncConnectionPool

DSN = os.environ.get("FLOOR_DSN", "postgresql://postgres@127.0.0.1:5432/sk_forum_bench")
POOL = AsyncConnectionPool(DSN, min_size=2, max_size=10, open=False)
OPTS = orjson.OPT_UTC_Z
HIDDEN: list[int] = []  # categories anonymous may not read (and their children)
MEMBER_HIDDEN: list[int] = []  # categories a signed-in member without a holder tier may not read
BY_SLUG: dict[str, list[int]] = {}  # slug -> [id, readable child ids] (anonymous)

AUTHOR = """u.id, u.username, pr.display_name, pr.avatar_url, pr.public_level, pr.public_points,
       CASE WHEN pr.show_holdings THEN pr.holder_tier ELSE 'none' END, u.date_joined"""
POST_COLS = f"""p.id, p.title, p.slug, p.body, p.body_html, p.excerpt, c.slug, c.name, p.tag_slugs, {AUTHOR},
       p.score, p.upvotes, p.downvotes, p.comment_count, p.created_at, p.edited_at, p.last_activity_at,
       p.is_pinned, p.is_locked, p.status, p.hot_rank, p.controversy, p.revision_count, p.is_nsfw"""
POST_FROM = """FROM posts p JOIN categories c ON c.id = p.category_id JOIN users u ON u.id = p.author_id
LEFT JOIN profiles pr ON pr.user_id = u.id"""
MY_POST_VOTE = """, COALESCE((SELECT v.value FROM votes v WHERE v.user_id = %(viewer)s AND v.post_id = p.id
                  AND v.comment_id IS NULL), 0)"""
HOT_1 = f"""SELECT {POST_COLS} {{vote}} {POST_FROM}
WHERE p.status = 'published' AND NOT p.is_nsfw AND p.category_id <> ALL(%(hidden)s)
ORDER BY p.hot_rank DESC, p.id DESC LIMIT %(limit)s"""
HOT_N = f"""SELECT {POST_COLS} {{vote}} {POST_FROM}
WHERE p.status = 'published' AND NOT p.is_nsfw AND p.category_id <> ALL(%(hidden)s)
  AND (p.hot_rank, p.id) < (%(rank)s, %(id)s)
ORDER BY p.hot_rank DESC, p.id DESC LIMIT %(limit)s"""
NEW_CAT = f"""SELECT {POST_COLS} {{vote}} {POST_FROM}
WHERE p.status = 'published' AND NOT p.is_nsfw AND p.category_id = %(cat)s
ORDER BY p.is_pinned DESC, p.id DESC LIMIT %(limit)s"""
THREAD_OLD = f"""SELECT c.id, c.post_id, c.parent_id, c.depth, c.body, c.body_html, {AUTHOR},
       c.score, c.upvotes, c.downvotes, c.created_at, c.edited_at, c.status, c.reply_count {{vote}}
FROM comments c JOIN users u ON u.id = c.author_id LEFT JOIN profiles pr ON pr.user_id = u.id
WHERE c.post_id = %(post)s AND EXISTS (SELECT 1 FROM posts p WHERE p.id = %(post)s AND p.status = 'published'
                                       AND p.category_id <> ALL(%(hidden)s))
ORDER BY c.path LIMIT %(limit)s"""
MY_COMMENT_VOTE = (
    """, COALESCE((SELECT v.value FROM votes v WHERE v.user_id = %(viewer)s AND v.comment_id = c.id), 0)"""
)
CATEGORIES = """SELECT c.id, c.slug, c.name, c.description, c.color, c.position, parent.slug, c.read_access,
       c.post_access, c.read_min_tier, c.post_min_tier, c.is_archived, c.post_count, c.comment_count,
       c.active_users_24h, c.trending_tags, c.trending_score, c.trending_updated_at
FROM categories c LEFT JOIN categories parent ON parent.id = c.parent_id
WHERE c.id <> ALL(%(hidden)s) ORDER BY c.position, c.id"""


def _variants(sql: str, vote: str) -> tuple[str, str]:
    """(anonymous, signed-in) forms of one query."""
    return sql.replace("{vote}", ""), sql.replace("{vote}", vote)


HOT_1, HOT_N, NEW_CAT = (_variants(q, MY_POST_VOTE) for q in (HOT_1, HOT_N, NEW_CAT))
THREAD_OLD = _variants(THREAD_OLD, MY_COMMENT_VOTE)


def author(r, i):
    return {"id": r[i], "username": r[i + 1], "display_name": r[i + 2], "avatar_url": r[i + 3], "level": r[i + 4],
            "points": r[i + 5], "holder_tier": r[i + 6], "created_at": r[i + 7]}  # fmt: skip


def post_row(r):
    return {
        "id": r[0], "title": r[1], "slug": r[2], "body": r[3], "body_html": r[4], "excerpt": r[5],
        "category": {"slug": r[6], "name": r[7]}, "tags": r[8], "author": author(r, 9),
        "score": r[17], "upvotes": r[18], "downvotes": r[19], "my_vote": r[31] if len(r) > 31 else 0,
        "comment_count": r[20], "created_at": r[21], "edited_at": r[22], "last_activity_at": r[23],
        "is_pinned": r[24], "is_locked": r[25], "is_nsfw": r[30], "is_deleted": r[26] != "published",
        "status": r[26], "hot_rank": r[27], "controversy": r[28], "revision_count": r[29],
    }  # fmt: skip


def comment_row(r):
    return {
        "id": r[0], "post_id": r[1], "parent_id": r[2], "depth": r[3], "body": r[4], "body_html": r[5],
        "author": author(r, 6), "score": r[14], "upvotes": r[15], "downvotes": r[16],
        "my_vote": r[21] if len(r) > 21 else 0, "created_at": r[17], "edited_at": r[18],
        "is_deleted": r[19] != "published", "reply_count": r[20],
    }  # fmt: skip


def category_row(r):
    keys = ("id", "slug", "name", "description", "color", "position", "parent", "read_access", "post_access",
            "read_min_tier", "post_min_tier", "is_archived", "post_count", "comment_count", "active_users_24h",
            "trending_tags", "trending_score", "trending_updated_at")  # fmt: skip
    return dict(zip(keys, r, strict=True))


def cursor_of(values) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"v": values, "d": "n"})).rstrip(b"=").decode()


def decode_cursor(s: str):
    return orjson.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["v"]


def viewer_of(scope) -> int | None:
    """The `sub` claim of a bearer token, unverified (the floor leaves authentication out)."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value.startswith(b"Bearer "):
            payload = value[7:].split(b".")[1]
            return int(orjson.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))["sub"])
    return None


async def fetch(sql, params):
    async with POOL.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


def page(rows, limit, render, key):
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = cursor_of(key(rows[-1])) if more and rows else None
    return {"data": [render(r) for r in rows],
            "meta": {"pagination": {"limit": limit, "next_cursor": nxt, "prev_cursor": None}}}  # fmt: skip


async def startup():
    await POOL.open(wait=True)
    async with POOL.connection() as conn:
        cats = await (
            await conn.execute("SELECT id, slug, parent_id, read_access, read_min_tier FROM categories")
        ).fetchall()
    for hidden, roles in ((HIDDEN, ("anyone",)), (MEMBER_HIDDEN, ("anyone", "user"))):
        own_hidden = {c[0] for c in cats if c[3] not in roles or c[4] != "none"}
        hidden[:] = sorted({c[0] for c in cats if c[0] in own_hidden or c[2] in own_hidden})
    for c in cats:
        if c[0] not in HIDDEN:
            BY_SLUG[c[1]] = [c[0]] + [k[0] for k in cats if k[2] == c[0] and k[0] not in HIDDEN]


async def route(path: str, qs: dict[str, str], viewer: int | None):
    limit = min(int(qs.get("limit", 20)), 100)
    signed_in = int(viewer is not None)
    hidden = MEMBER_HIDDEN if signed_in else HIDDEN
    if path == "/health":
        return {"data": {"status": "ok"}}
    if path in ("/api/posts", "/api/posts/"):
        sort = qs.get("sort", "hot")
        if sort == "hot" and "category" not in qs:
            if "cursor" in qs:
                rank, pid = decode_cursor(qs["cursor"])
                params = {"hidden": hidden, "rank": rank, "id": pid, "limit": limit + 1, "viewer": viewer}
                rows = await fetch(HOT_N[signed_in], params)
            else:
                rows = await fetch(HOT_1[signed_in], {"hidden": hidden, "limit": limit + 1, "viewer": viewer})
            return page(rows, limit, post_row, lambda r: [r[27], r[0]])
        if sort == "new" and "category" in qs:
            ids = BY_SLUG.get(qs["category"])
            if ids is None or len(ids) != 1:
                return None  # only single categories here
            rows = await fetch(NEW_CAT[signed_in], {"cat": ids[0], "limit": limit + 1, "viewer": viewer})
            return page(rows, limit, post_row, lambda r: [r[24], r[0]])
        return None
    if path.startswith("/api/posts/") and path.rstrip("/").endswith("/comments"):
        post_id = int(path.split("/")[3])
        params = {"post": post_id, "hidden": hidden, "limit": limit + 1, "viewer": viewer}
        rows = await fetch(THREAD_OLD[signed_in], params)
        return page(rows, limit, comment_row, lambda r: [r[0], limit - 1])
    if path in ("/api/categories", "/api/categories/"):
        rows = await fetch(CATEGORIES, {"hidden": hidden})
        return {"data": [category_row(r) for r in rows]}
    return None


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await POOL.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    qs = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    payload = await route(scope["path"], qs, viewer_of(scope))
    status = 200 if payload is not None else 404
    body = orjson.dumps(payload if payload is not None else {"error": "not found"}, option=OPTS)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
