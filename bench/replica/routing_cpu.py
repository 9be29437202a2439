"""CPU per request of a web process with and without replica routing, and what each request asks
the primary (bench/README.md "Replica routing").

Two uvicorn processes of the same code, started by you, one with DATABASE_REPLICA_URLS and one
without, both behind the same PgBouncer with Redis. Rounds alternate between them so load from
elsewhere on the machine hits both alike; CPU is the server process's utime+stime (/proc).

    python bench/replica/routing_cpu.py --token <access token> --path /api/posts/5 \
        routed=127.0.0.1:18510:<pid> primary=127.0.0.1:18512:<pid> [--rounds 6 --requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics

import httpx

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_round(client: httpx.Client, url: str, pid: int, n: int, headers: dict) -> float:
    before = cpu_seconds(pid)
    for _ in range(n):
        response = client.get(url, headers=headers)
        response.raise_for_status()
    return (cpu_seconds(pid) - before) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("servers", nargs="+", help="name=host:port:pid")
    parser.add_argument("--path", default="/api/posts/1")
    parser.add_argument("--token", default="")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    servers = []
    for spec in args.servers:
        name, rest = spec.split("=", 1)
        host, port, pid = rest.split(":")
        servers.append((name, f"http://{host}:{port}{args.path}", int(pid)))
    results: dict[str, list[float]] = {name: [] for name, _, _ in servers}
    with httpx.Client(timeout=30) as client:
        for _name, url, pid in servers:  # warm-up
            run_round(client, url, pid, 20, headers)
        for _ in range(args.rounds):
            for name, url, pid in servers:
                results[name].append(run_round(client, url, pid, args.requests, headers))
    for name, values in results.items():
        print(
            f"{name:10s} CPU ms/request median {statistics.median(values):.2f}  rounds {[round(v, 2) for v in values]}"
        )


if __name__ == "__main__":
    main()
