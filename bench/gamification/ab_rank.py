#!/usr/bin/env python
"""A/B of `?around=me` from the database alone: this checkout against another git ref.

    .venv/bin/python bench/gamification/ab_rank.py --ref 7149059 [--requests 100]

Exports the ref with `git archive` into a temporary directory, starts one uvicorn worker for each
(ports BENCH_PORT+1 and +2) against the benchmark database without Redis, and interleaves the same
requests (same callers) on both, so both sides see the same machine load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (the same server settings, tokens and statistics as run.py)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True, help="git ref to compare with (e.g. the branch base)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    import httpx

    tokens = run.tokens_for_ranked_users(200)
    env = run.server_env("database")
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    with tempfile.TemporaryDirectory() as other:
        archive = subprocess.run(["git", "archive", args.ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", other], input=archive, check=True)
        servers = {}
        for name, root, port in (("this", ROOT, run.PORT + 1), (args.ref, Path(other), run.PORT + 2)):
            command = [uvicorn, "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
            servers[name] = (subprocess.Popen(command, cwd=root, env=env), port)
        try:
            clients = {k: httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for k, (_, p) in servers.items()}
            for client in clients.values():
                for _ in range(100):
                    try:
                        if client.get("/api/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.2)
            for period in run.PERIODS:
                samples: dict[str, list[float]] = {k: [] for k in clients}
                url = f"/api/leaderboard?period={period}&around=me&limit=11"
                for i in range(args.requests):
                    headers = {"Authorization": f"Bearer {tokens[i % len(tokens)][1]}"}
                    for name, client in clients.items():
                        if i == 0:
                            client.get(url, headers=headers)  # warm-up
                        samples[name].append(run.timed(client, url, headers))
                print(
                    f"around=me {period:5s} " + " | ".join(f"{k}: {run.stats(v)}" for k, v in samples.items()),
                    flush=True,
                )
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
