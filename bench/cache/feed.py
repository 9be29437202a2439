#!/usr/bin/env python
"""Anonymous feed before/after the caches of issue 10 (per-process reference data, shared feed
page cache), through the real HTTP stack: uvicorn (one worker, DEBUG off) on 127.0.0.1, timed from
an httpx client in this process. Light on purpose (the machine is shared): 200 sequential requests
per case.

    # a small forum in your database (20k posts; the forum bench's set-based seed):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_cache BENCH_POSTS=20000 BENCH_COMMENTS=20000 \\
        BENCH_VOTES=20000 BENCH_USERS=2000 BENCH_BIG_THREAD=100 .venv/bin/python bench/forum/bench.py seed
    # then, for each variant (CODE: a checkout to serve, e.g. the main branch for "before"):
    BENCH_DATABASE_URL=... [BENCH_CODE=/work/main] [BENCH_REDIS_URL=redis://127.0.0.1:6379/4] \\
        [FEED_CACHE_SECONDS=0] .venv/bin/python bench/cache/feed.py "label"
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CODE = Path(os.environ.get("BENCH_CODE", str(ROOT)))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_cache")
PORT = int(os.environ.get("BENCH_PORT", "8795"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
SCOPES = ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", ""),
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        **{f"THROTTLE_{scope}": "1000000/min" for scope in SCOPES},
    }


def measure(client: httpx.Client, url: str, headers: dict) -> dict:
    for _ in range(10):
        client.get(url, headers=headers).raise_for_status()
    times = []
    for _ in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "rows": len(r.json()["data"]) if isinstance(r.json()["data"], list) else "-",
    }


def token() -> str:
    code = (
        "from apps.accounts.models import User; from apps.accounts.tokens import issue_token_pair; "
        "print(issue_token_pair(User.objects.get(username='bench_1'))['access'])"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=CODE,
        env=env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def main(label: str) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            sys.exit(f"port {PORT} is in use: set BENCH_PORT")
    bearer = {"Authorization": f"Bearer {token()}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(PORT),
         "--log-level", "warning", "--no-access-log"],
        cwd=CODE, env=env(),
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            for _ in range(150):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            tag = client.get("/api/tags").json()["data"][0]["slug"]
            cases = [
                ("GET /api/health (floor)", "/api/health", {}),
                ("anonymous hot, page 1", "/api/posts?sort=hot", {}),
                ("anonymous new, one category", "/api/posts?sort=new&category=memes", {}),
                (f"anonymous hot, tag {tag}", f"/api/posts?sort=hot&tag={tag}", {}),
                ("signed-in hot, page 1 (never page-cached)", "/api/posts?sort=hot", bearer),
            ]
            rows = [(title, measure(client, url, headers)) for title, url, headers in cases]
    finally:
        server.terminate()
        server.wait(timeout=20)
    load = os.getloadavg()
    print(
        f"\n### {label}\n{REQUESTS} sequential requests per case; load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}\n"
    )
    print("| case | median ms | p95 ms | rows |\n|---|---:|---:|---:|")
    for title, m in rows:
        print(f"| {title} | {m['median']:.1f} | {m['p95']:.1f} | {m['rows']} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "run")
