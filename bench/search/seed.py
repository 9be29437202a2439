#!/usr/bin/env python
"""Seed a separate database with 100,000 posts and 1,000,000 comments for the search benchmark.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_search_bench python bench/search/seed.py

Drops and recreates that database, migrates it, then fills it in bulk: users, profiles,
categories and tags with INSERT ... SELECT over generate_series, posts and comments with COPY
(words drawn Zipf-like, weight 1/rank, from a ~1,050-word vocabulary of English and crypto words;
1 % of body words are $TICKERS, 0.02 % the mint address). The search triggers index every row as
it lands, as they would in production.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_search_bench")
POSTS = int(os.environ.get("BENCH_POSTS", "100000"))
COMMENTS = int(os.environ.get("BENCH_COMMENTS", "1000000"))
USERS = int(os.environ.get("BENCH_USERS", "5000"))
MINT = "4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW"

CRYPTO = [
    "solana",
    "skid",
    "success",
    "kid",
    "meme",
    "memes",
    "wallet",
    "airdrop",
    "staking",
    "stake",
    "rewards",
    "liquidity",
    "pool",
    "raydium",
    "phantom",
    "solflare",
    "backpack",
    "bonk",
    "pump",
    "dump",
    "moon",
    "rug",
    "hodl",
    "wagmi",
    "gm",
    "ngmi",
    "diamond",
    "hands",
    "whale",
    "holders",
    "holder",
    "chart",
    "resistance",
    "support",
    "breakout",
    "volume",
    "listing",
    "exchange",
    "binance",
    "roadmap",
    "merch",
    "charity",
    "community",
    "token",
    "tokens",
    "mint",
    "contract",
    "address",
    "scam",
    "fake",
    "giveaway",
    "fees",
    "swap",
    "slippage",
    "bullish",
    "bearish",
    "dip",
    "bags",
    "degen",
    "validator",
    "validators",
    "jupiter",
    "orca",
    "defi",
    "yield",
    "farm",
    "lp",
    "impermanent",
    "loss",
    "tax",
    "taxes",
    "nft",
    "nfts",
    "collection",
]
TICKERS = ["$SKID", "$BONK", "$WIF", "$SOL", "$JUP"]


def vocabulary() -> list[str]:
    from faker.providers.lorem.en_US import Provider

    words = [w for w in Provider.word_list if len(w) > 2]
    return words[:600] + CRYPTO + words[600:]  # crypto words sit in the common half


def copy_content(conn: psycopg.Connection, words: list[str], tags: list[str]) -> None:
    """Posts and comments through COPY (the triggers index each row as it lands)."""
    rng = random.Random(42)
    weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))
    tag_weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(tags))))
    now = dt.datetime.now(dt.UTC)

    def text(n: int, specials: bool) -> str:
        out = rng.choices(words, cum_weights=weights, k=n)
        if specials:
            for k in range(n):
                roll = rng.random()
                if roll < 0.0002:
                    out[k] = MINT
                elif roll < 0.0102:
                    out[k] = rng.choice(TICKERS)
        return " ".join(out)

    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY posts (title, slug, body, body_html, excerpt, tag_slugs, status, status_reason, is_pinned, is_locked, "
            "score, upvotes, downvotes, comment_count, hot_rank, controversy, created_at, updated_at, "
            "last_activity_at, revision_count, author_id, category_id) FROM STDIN"
        ) as copy,
    ):
        for g in range(1, POSTS + 1):
            status = "hidden" if g % 50 == 0 else "deleted" if g % 70 == 0 else "published"
            up = int(math.exp(rng.random() * math.log(500))) - 1
            created = now - dt.timedelta(minutes=5 * (POSTS - g))
            post_tags = sorted(set(rng.choices(tags, cum_weights=tag_weights, k=1 + g % 3)))
            copy.write_row(
                (
                    text(4 + g % 7, False).title(),
                    "",
                    text(40 + g % 120, True),
                    "",
                    "",
                    post_tags,
                    status,
                    "",
                    False,
                    False,
                    up,
                    up,
                    0,
                    0,
                    0.0,
                    0.0,
                    created,
                    created,
                    created,
                    1,
                    1 + (g * 7919) % USERS,
                    1 + (g * 31) % 10,
                )
            )
    print(f"{POSTS} posts: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY comments (depth, path, body, body_html, status, status_reason, score, upvotes, downvotes, best_rank, "
            "reply_count, created_at, updated_at, author_id, post_id) FROM STDIN"
        ) as copy,
    ):
        for g in range(1, COMMENTS + 1):
            up = int(math.exp(rng.random() * math.log(100))) - 1
            created = now - dt.timedelta(seconds=30 * (COMMENTS - g))
            copy.write_row(
                (
                    0,
                    f"{g:010d}.",
                    text(8 + g % 40, True),
                    "",
                    "hidden" if g % 40 == 0 else "published",
                    "",
                    up,
                    up,
                    0,
                    0.0,
                    0,
                    created,
                    created,
                    1 + (g * 104729) % USERS,
                    1 + (g * 7) % POSTS,
                )
            )
            if g % 200_000 == 0:
                print(f"  {g} comments: {time.perf_counter() - started:.1f} s", flush=True)
    print(f"{COMMENTS} comments: {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    admin_url = URL.rsplit("/", 1)[0] + "/postgres"
    dbname = URL.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    env = {**os.environ, "DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "successkid.settings.dev"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)

    words = vocabulary()
    steps = [
        (
            "users",
            f"""
            INSERT INTO users (password, is_superuser, first_name, last_name, is_staff, is_active, date_joined,
                               username, email, email_verified, role, suspension_reason, token_version)
            SELECT '!', false, '', '', false, true, now() - g * interval '1 hour',
                   'user_' || g || '_' || (ARRAY['moon','kid','whale','degen','hodler','gm'])[1 + g % 6],
                   'user' || g || '@example.com', true, 'user', '', 0
            FROM generate_series(1, {USERS}) g;
            INSERT INTO profiles (user_id, display_name, bio, links, avatar_url, visibility, show_wallets, points,
                                  level, holder_tier, settings, updated_at)
            SELECT id, initcap(replace(username, '_', ' ')), '', '[]', '', 'everyone', false,
                   (random() * 10000)::int, 1, 'none', '{{}}', now() FROM users;
            """,
        ),
        (
            "categories and tags",
            """
            INSERT INTO categories (name, slug, description, color, position, read_access, post_access,
                                    read_min_tier, post_min_tier, is_archived, post_count, comment_count,
                                    trending_score, created_at, updated_at)
            SELECT initcap(s), s, '', '', i, CASE WHEN s = 'mods' THEN 'moderator' WHEN s = 'members' THEN 'user'
                                               ELSE 'anyone' END,
                   'user', CASE WHEN s = 'holders' THEN 'holder' ELSE 'none' END, 'none', false, 0, 0, 0, now(), now()
            FROM unnest(ARRAY['general','memes','market','guides','offtopic','announcements','members','holders',
                              'mods','support']) WITH ORDINALITY AS t(s, i);
            INSERT INTO tags (slug, name, description, post_count, created_at)
            SELECT s, s, '', 0, now() FROM unnest(%(tags)s::text[]) s;
            """,
        ),
        (
            "counters, vocabulary, statistics",
            """
            UPDATE tags SET post_count = c.n FROM (
                SELECT t, count(*) n FROM posts, unnest(tag_slugs) t GROUP BY t) c WHERE c.t = tags.slug;
            INSERT INTO search_terms (word, ndoc)
            SELECT word, ndoc FROM ts_stat($$
                SELECT to_tsvector('simple', public.sk_unaccent(
                    title || ' ' || replace(array_to_string(tag_slugs, ' '), '-', ' ')))
                FROM posts WHERE status = 'published' $$)
            WHERE length(word) BETWEEN 3 AND 64 AND word ~ '^[a-z]+$';
            """,
        ),
    ]
    tags = sorted(set(CRYPTO[:40]))
    params = {"words": words, "tags": tags, "tickers": TICKERS, "mint": MINT}
    with psycopg.connect(URL, autocommit=True) as conn:
        for name, sql in steps:
            started = time.perf_counter()
            with conn.cursor() as cur:
                for statement in [s for s in sql.split(";\n") if s.strip()]:
                    used = {k: v for k, v in params.items() if f"%({k})s" in statement}
                    if used:
                        statement = re.sub(r"%(?!\()", "%%", statement)
                    cur.execute(statement, used or None)
            print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
            if name == "categories and tags":
                copy_content(conn, words, tags)
        conn.execute("VACUUM ANALYZE")
        row = conn.execute(
            "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM comments), "
            "pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
        print(f"posts={row[0]} comments={row[1]} database={row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
