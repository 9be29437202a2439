"""Suggestions while typing (titles, tags, users) and "did you mean" spelling corrections."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from apps.core import access
from apps.search import cache
from apps.search.query import clean, like_escape, words
from apps.search.selectors.common import (
    CONFIG,
    bounded_call,
    preference_sql,
    run,
    user_visibility_sql,
)

# --- did you mean ------------------------------------------------------------------------------


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@bounded_call
def did_you_mean(text: str) -> str | None:
    """Replace each word the vocabulary does not know by its nearest known word (trigram KNN over
    the GiST index, then at most 1 edit for words of ≤4 letters, 2 for longer), keeping the rest.
    None when nothing changes."""
    terms = [w for w in words(text) if len(w) <= 64]
    if not terms:
        return None
    # One statement: for each word, whether the vocabulary knows it, and if not its 8 nearest
    # known words (trigram KNN over the GiST index).
    rows = run(
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


# How many of a tag's published posts the viewer may read (`tags.post_count` counts them all).
TAG_VISIBLE_COUNT = """
    (SELECT count(*) FROM post_tags pt JOIN posts p ON p.id = pt.post_id
     WHERE pt.tag_id = tags.id AND p.status = 'published' AND p.category_id = ANY(%(readable)s))
"""


# --- suggest -----------------------------------------------------------------------------------


def _prefix_tsquery(terms: list[str]) -> str | None:
    """'success kid' → to_tsquery text 'success & kid:*': every word in the title, the last one
    as a prefix. Words are [^\\W_]+ only, so the text needs no escaping."""
    if not terms:
        return None
    parts = [*terms[:-1], f"{terms[-1]}:*"]
    return " & ".join(parts)


@bounded_call
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
    chosen = "".join(f" AND {c}" for c in preference_sql(prefs, params))
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
            (SELECT 'tag', row_number() OVER (ORDER BY visible_count DESC, slug), NULL::bigint, slug, name,
                    visible_count
             FROM (SELECT slug, name, {TAG_VISIBLE_COUNT} AS visible_count
                   FROM tags WHERE slug LIKE %(slug_prefix)s {TAG_READABLE}) t
             ORDER BY visible_count DESC, slug LIMIT %(n)s)
            """,  # noqa: S608
            f"""
            (SELECT 'tag~', row_number() OVER (ORDER BY similarity(slug, %(slug)s) DESC, visible_count DESC),
                    NULL::bigint, slug, name, visible_count
             FROM (SELECT slug, name, {TAG_VISIBLE_COUNT} AS visible_count
                   FROM tags WHERE slug %% %(slug)s AND slug NOT LIKE %(slug_prefix)s {TAG_READABLE}) t
             ORDER BY similarity(slug, %(slug)s) DESC, visible_count DESC LIMIT %(n)s)
            """,  # noqa: S608
        ]
    term = text.lower().lstrip("@")
    if term:
        visible = user_visibility_sql(viewer)
        params.update({"user_prefix": like_escape(term) + "%", "term": term})
        branches += [
            f"""
            (SELECT 'user', row_number() OVER (ORDER BY pr.public_points DESC, u.id), u.id, u.username,
                    pr.display_name, NULL::bigint
             FROM users u JOIN profiles pr ON pr.user_id = u.id
             WHERE lower(u.username) LIKE %(user_prefix)s AND u.is_active {visible}
             ORDER BY pr.public_points DESC, u.id LIMIT %(n)s)
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
    rows = run(" UNION ALL ".join(branches), params) if branches else []
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
