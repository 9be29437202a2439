#!/usr/bin/env python
"""Seed a separate benchmark database: 100,000 users and 5,000,000 ledger rows, in bulk SQL.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_gamification_bench \
        .venv/bin/python bench/gamification/seed.py [--users 100000] [--rows 5000000]

Creates the database if missing, migrates it, fills users/profiles/point_transactions with
generate_series (points skewed: a few users earn most), sets profile balances, then builds the
`leaderboards` table (and its score histogram) from the ledger exactly as `manage.py
rebuild_leaderboards` does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sk_gamification_bench"
# The ledger uses forum categories 1..12 (`?category=3` must resolve).
CATEGORIES = """
from django.db import connection
from apps.forum.models import Category
for pk in range(1, 13):
    Category.objects.get_or_create(pk=pk, defaults={"name": f"Bench {pk}", "slug": f"bench-{pk}"})
with connection.cursor() as cur:
    cur.execute("SELECT setval(pg_get_serial_sequence('categories', 'id'), (SELECT MAX(id) FROM categories))")
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    name = urlparse(url).path.lstrip("/")

    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "successkid.settings.dev", "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from apps.gamification.seed import load_all; load_all()"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", CATEGORIES], cwd=ROOT, env=env, check=True)

    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("TRUNCATE leaderboards, point_transactions, user_achievements, activity_log")
        conn.execute("DELETE FROM profiles WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'bench_%%')")
        conn.execute("DELETE FROM users WHERE username LIKE 'bench_%%'")
        conn.execute(
            """
            INSERT INTO users (password, is_superuser, username, first_name, last_name, email, is_staff,
                               is_active, date_joined, email_verified, role, suspension_reason, token_version)
            SELECT '!', false, 'bench_' || g, '', '', 'bench_' || g || '@example.com', false, true,
                   now() - interval '400 days' + g * interval '1 minute', true, 'user', '', 0
            FROM generate_series(1, %s) g
            """,
            [args.users],
        )
        conn.execute(
            """
            INSERT INTO profiles (user_id, display_name, bio, links, avatar_url, visibility, show_wallets, points,
                                  level, holder_tier, settings, updated_at, show_holdings)
            SELECT id, username, '', '[]', '', 'everyone', false, 0, 1, 'none', '{}', now(), false
            FROM users WHERE username LIKE 'bench_%%'
            """
        )
        lo, hi = conn.execute("SELECT min(id), max(id) FROM users WHERE username LIKE 'bench_%%'").fetchone()
        print(f"users {hi - lo + 1} in {time.monotonic() - t0:.0f}s", flush=True)

        # Insert the ledger without its secondary indexes, then build them once (one transaction:
        # a failure leaves the table as it was).
        with conn.transaction():
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending at CREATE INDEX
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'point_transactions'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ).fetchall()
            for index_name, _ in indexes:
                conn.execute(f'DROP INDEX "{index_name}"')
            t1 = time.monotonic()
            conn.execute(
                """
                INSERT INTO point_transactions (user_id, activity, kind, amount, source_type, source_id, category_id,
                                                actor_id, idempotency_key, note, created_at, earned_at)
                SELECT %(lo)s + floor(%(n)s * power(random(), 3))::bigint,
                       (ARRAY['post_created','comment_created','post_upvoted','comment_upvoted','daily_visit'])[a],
                       'award',
                       (ARRAY[10, 2, 5, 2, 1])[a],
                       (ARRAY['post','comment','post','comment',''])[a], g::text,
                       CASE WHEN a = 5 THEN NULL ELSE 1 + (g %% 12) END,
                       NULL, 'bench:' || g, '', ts, ts
                FROM (
                    SELECT g, (1 + (g::bigint * 7919 %% 5))::int AS a, now() - random() * interval '120 days' AS ts
                    FROM generate_series(1, %(rows)s) g
                ) s
                """,
                {"lo": lo, "n": hi - lo + 1, "rows": args.rows},
            )
            print(f"ledger {args.rows} rows in {time.monotonic() - t1:.0f}s", flush=True)
            t2 = time.monotonic()
            for _, definition in indexes:
                conn.execute(definition)
            print(f"ledger indexes in {time.monotonic() - t2:.0f}s", flush=True)
        t3 = time.monotonic()
        conn.execute(
            """
            UPDATE profiles p SET points = s.total,
                   level = (SELECT max(number) FROM levels WHERE min_points <= s.total)
            FROM (SELECT user_id, sum(amount) AS total FROM point_transactions GROUP BY user_id) s
            WHERE p.user_id = s.user_id
            """
        )
        print(f"balances in {time.monotonic() - t3:.0f}s", flush=True)
        conn.execute("VACUUM ANALYZE point_transactions")
        conn.execute("VACUUM ANALYZE profiles")

    t4 = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "rebuild_leaderboards"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE leaderboards")
        conn.execute("VACUUM ANALYZE leaderboard_score_counts")
        count = conn.execute("SELECT count(*) FROM leaderboards").fetchone()[0]
        buckets = conn.execute("SELECT count(*) FROM leaderboard_score_counts").fetchone()[0]
    print(f"leaderboards table: {count} standings, {buckets} score buckets in {time.monotonic() - t4:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
