#!/usr/bin/env python
"""Leaderboard latency through the HTTP stack (uvicorn + Django + DRF), with and without Redis.

    .venv/bin/python bench/gamification/seed.py      # once: 100k users, 5M ledger rows
    .venv/bin/python bench/gamification/run.py [--requests 200] [--modes database,redis] \
        [--page-cache-seconds 0] [--no-award]

For each mode it starts one uvicorn worker on 127.0.0.1:8765 against the benchmark database
(BENCH_DATABASE_URL), then times sequential keep-alive requests from this process:
top-100 of every period (global and one category) and `?around=me` for random ranked users.
It finally times `services.award_points` in-process (the cost an award adds to an action).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_gamification_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
PERIODS = ["day", "week", "month", "all"]
CATEGORY = "3"


def server_env(mode: str) -> dict:
    redis = REDIS_URL if mode == "redis" else ""
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": redis,
        "GAMIFICATION_REDIS_URL": redis,
        "GAMIFICATION_REDIS_PREFIX": "bench:lb",
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # One client sends thousands of requests: measure the stack, not the rate limiter's refusals.
        **{
            f"THROTTLE_{scope}": "1000000/min"
            for scope in ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")
        },
    }


def stats(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"median {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms   (n={len(samples)})"


def timed(client, url: str, headers=None) -> float:
    t = time.perf_counter()
    r = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url}: {r.status_code} {r.text[:300]}")
    return elapsed


def tokens_for_ranked_users(count: int) -> list[tuple[int, str]]:
    import django

    os.environ.update(server_env("database"))
    django.setup()
    from apps.accounts.models import User
    from apps.accounts.tokens import issue_token_pair
    from apps.gamification.models import LeaderboardEntry

    ids = list(
        LeaderboardEntry.objects.filter(period="all", category_id=0, points__gt=0).values_list("user_id", flat=True)
    )
    rng = random.Random(time.time_ns())
    picked = rng.sample(ids, count)
    users = User.objects.in_bulk(picked)
    return [(uid, issue_token_pair(users[uid])["access"]) for uid in picked]


def run_mode(mode: str, n: int, tokens: list[tuple[int, str]]) -> list[str]:
    import httpx

    env = server_env(mode)
    lines = [f"### {mode}"]
    if mode == "redis":
        t = time.monotonic()
        subprocess.run(
            [sys.executable, "manage.py", "rebuild_leaderboards", "--redis-only"], cwd=ROOT, env=env, check=True
        )
        lines.append(
            f"rebuild_leaderboards --redis-only (current day/week/month/all, global + 12 categories): {time.monotonic() - t:.1f} s"
        )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "successkid.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(100):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            for period in PERIODS:  # warm-up (first request of each board may build its Redis set)
                for _ in range(5):
                    client.get(f"/api/leaderboard?period={period}&limit=100")
                    client.get(f"/api/leaderboard?period={period}&limit=100&category={CATEGORY}")
            time.sleep(2)
            for period in PERIODS:
                for category in ("", CATEGORY):
                    url = f"/api/leaderboard?period={period}&limit=100" + (f"&category={category}" if category else "")
                    source = client.get(url).json()["meta"]["leaderboard"]["source"]
                    samples = [timed(client, url) for _ in range(n)]
                    label = f"top-100 {period:5s} {'cat ' + category if category else 'global'}"
                    lines.append(f"{label:24s} [{source:8s}] {stats(samples)}")
                    print(lines[-1], flush=True)
            for period in PERIODS:
                samples = []
                first = client.get(
                    f"/api/leaderboard?period={period}&around=me&limit=11",
                    headers={"Authorization": f"Bearer {tokens[0][1]}"},
                )
                source = first.json()["meta"]["leaderboard"]["source"]
                for i in range(n):
                    _, token = tokens[i % len(tokens)]
                    samples.append(
                        timed(
                            client,
                            f"/api/leaderboard?period={period}&around=me&limit=11",
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    )
                lines.append(f"{'around=me ' + period:24s} [{source:8s}] {stats(samples)}")
                print(lines[-1], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return lines


def award_cost(n: int) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.gamification import services
    from apps.gamification.models import LeaderboardEntry

    ids = list(LeaderboardEntry.objects.filter(period="all", category_id=0).values_list("user_id", flat=True)[:5000])
    rng = random.Random(2)
    samples, queries = [], []
    for i in range(n):
        uid = rng.choice(ids)
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            services.award_points(
                user_id=uid,
                activity="comment_created",
                idempotency_key=f"bench-award:{time.time_ns()}:{i}",
                category_id=rng.randint(1, 12),
            )
            samples.append((time.perf_counter() - t) * 1000)
        queries.append(len(ctx.captured_queries))
    t = time.perf_counter()
    folded = services.compact_leaderboard_counts()
    compact_ms = (time.perf_counter() - t) * 1000
    return [
        f"award_points in-process: {stats(samples)}, {statistics.median(queries):.0f} queries (incl. savepoint)",
        f"compact_leaderboard_counts after them: {compact_ms:.0f} ms ({folded} buckets changed)",
    ]


class _Rollback(Exception):
    pass


def trigger_overhead(n: int, rounds: int = 4) -> list[str]:
    """The histogram triggers' share of an award: the same awards with and without them, each
    block inside a transaction that is rolled back (so neither side times a commit), the order
    alternating between rounds (the second block of a round finds the same rows cached)."""
    from django.db import connection, transaction

    from apps.gamification import services
    from apps.gamification.models import LeaderboardEntry

    ids = list(LeaderboardEntry.objects.filter(period="all", category_id=0).values_list("user_id", flat=True)[:5000])
    results: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for enabled in (True, False) if r % 2 == 0 else (False, True):
            rng = random.Random(r)
            try:
                with transaction.atomic():
                    if not enabled:
                        with connection.cursor() as cur:
                            for event in ("insert", "update", "delete"):
                                cur.execute(
                                    f"ALTER TABLE leaderboards DISABLE TRIGGER leaderboards_score_counts_{event}"
                                )
                    for i in range(n):
                        t = time.perf_counter()
                        services.award_points(
                            user_id=rng.choice(ids),
                            activity="comment_created",
                            idempotency_key=f"bench-trigger:{r}:{i}",
                            category_id=rng.randint(1, 12),
                        )
                        results[enabled].append((time.perf_counter() - t) * 1000)
                    raise _Rollback
            except _Rollback:
                pass
    return [
        f"award_points with the histogram triggers    (rolled back): {stats(results[True])}",
        f"award_points without the histogram triggers (rolled back): {stats(results[False])}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--modes", default="database,redis", help="'' for the award measurements alone")
    parser.add_argument(
        "--page-cache-seconds",
        type=int,
        help="LEADERBOARD_PAGE_CACHE_SECONDS for the server; 0 times every top-100 as a cache miss",
    )
    parser.add_argument("--no-award", action="store_true", help="skip the in-process award measurements")
    args = parser.parse_args()
    if args.page_cache_seconds is not None:
        os.environ["LEADERBOARD_PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    if not args.modes:
        tokens_for_ranked_users(1)  # sets Django up against the benchmark database
    for mode in filter(None, args.modes.split(",")):
        tokens = tokens_for_ranked_users(200)  # fresh: access tokens are short-lived
        print("\n".join(run_mode(mode, args.requests, tokens)), flush=True)
    if not args.no_award:
        print("\n".join(award_cost(300)), flush=True)
        print("\n".join(trigger_overhead(200)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
