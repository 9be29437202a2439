#!/usr/bin/env python
"""Search and suggest latency through the real HTTP stack.

    python bench/search/seed.py      # once: 100k posts, 1M comments in sk_search_bench
    python bench/search/run.py       # starts uvicorn on 127.0.0.1, measures, stops it

Production settings (DEBUG off), one uvicorn worker, one sequential client (httpx, keep-alive), every
query warmed once and then requested BENCH_ROUNDS times. Two passes: `cold` with the result cache
off (SEARCH_CACHE_SECONDS=0: every request ranks in PostgreSQL) and `cached` with Redis
(REDIS_URL) as the cache; the last two passes also use psycopg's connection pool
(bench/search/pooled_settings.py), because under ASGI Django opens a new connection per request.
Prints per-query medians and the overall median and p95 per endpoint.
Every search request also writes its search-log row, as in production.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_search_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PORT = int(os.environ.get("BENCH_PORT", "8391"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
MINT = "4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW"

SEARCHES = [
    {"q": "ability"},  # the most common word: ~all rows match
    {"q": "solana"},
    {"q": "airdrop scam"},
    {"q": "staking rewards"},
    {"q": '"diamond hands"'},
    {"q": "liquidity OR slippage"},
    {"q": "wallet -phantom"},
    {"q": "$SKID"},
    {"q": "$BONK chart"},
    {"q": MINT},
    {"q": "impermanent loss", "sort": "new"},
    {"q": "whale", "sort": "top"},
    {"q": "community", "category": "memes"},
    {"q": "exchange", "tag": "listing"},
    {"q": "roadmap merch", "period": "month"},
    {"q": "moon", "type": "comment"},
    {"q": "hodl wagmi", "type": "comment"},
    {"q": "whale", "type": "user"},
    {"q": "zzyzx unknownword"},  # nothing matches: relaxation + did-you-mean
    {"q": "comunity roadmap"},  # typo
]
RELATED = [99999, 50001, 12345]  # published posts in the seeded database
SUGGESTS = ["so", "sol", "stak", "succ", "success ki", "abil", "user_12", "whal", "airdorp", "liquidty pool"]


def wait_ready(client: httpx.Client) -> None:
    for _ in range(100):
        try:
            if client.get("/api/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def measure(client: httpx.Client, path: str, params: dict) -> list[float]:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, params, response.text[:300])
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return samples


def run_pass(label: str, extra_env: dict[str, str]) -> dict[str, list[float]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.production",
        "DATABASE_URL": URL,
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        # One client sends thousands of requests: measure the stack, not the rate limiter's refusals.
        **{
            f"THROTTLE_{scope}": "1000000/min"
            for scope in ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")
        },
        **extra_env,
    }
    if "REDIS_URL" not in extra_env:
        env.pop("REDIS_URL", None)
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
    results: dict[str, list[float]] = {
        "health (floor)": [],
        "search": [],
        "suggest": [],
        "related": [],
        "trending": [],
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            wait_ready(client)
            print(f"\n== {label} ==")
            # The floor: what any request costs on this machine right now (no database work).
            results["health (floor)"].extend(measure(client, "/api/health", {}) * 1)
            for params in SEARCHES:
                samples = measure(client, "/api/search", params)
                results["search"].extend(samples)
                print(f"search  {statistics.median(samples):7.1f} ms  {params}")
            for q in SUGGESTS:
                samples = measure(client, "/api/search/suggest", {"q": q})
                results["suggest"].extend(samples)
                print(f"suggest {statistics.median(samples):7.1f} ms  {q!r}")
            for post_id in RELATED:
                samples = measure(client, f"/api/posts/{post_id}/related", {})
                results["related"].extend(samples)
                print(f"related {statistics.median(samples):7.1f} ms  post {post_id}")
            results["trending"].extend(measure(client, "/api/trending", {}))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    for name, samples in results.items():
        samples.sort()
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(f"{label} {name}: median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, n={len(samples)}")
    return results


POOLED = {"DJANGO_SETTINGS_MODULE": "bench.search.pooled_settings"}


def main() -> int:
    # The connection pool is the platform's default now (DB_POOL); "per-request connections" turns it off.
    run_pass("cold, per-request connections", {"SEARCH_CACHE_SECONDS": "0", "DB_POOL": "false"})
    run_pass("cold (no result cache), pool", {"SEARCH_CACHE_SECONDS": "0"})
    run_pass("cached (Redis), pool", {"REDIS_URL": REDIS})
    return 0


if __name__ == "__main__":
    sys.exit(main())
