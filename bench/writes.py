#!/usr/bin/env python
"""Write benchmark: server CPU per request of creating a post, a comment and a vote, for two
checkouts side by side ("before" and "after"), one uvicorn worker each, interleaved rounds.

    # once: a seeded database (bench/forum/bench.py seed, any size), e.g.
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_writes_seed BENCH_POSTS=5000 \
        BENCH_COMMENTS=30000 BENCH_VOTES=30000 BENCH_USERS=2000 .venv/bin/python bench/forum/bench.py seed
    # the checkout to compare with, e.g. main:
    git worktree add --detach /tmp/writes-before main && ln -s "$PWD/.venv" /tmp/writes-before/.venv
    .venv/bin/python bench/writes.py --before /tmp/writes-before

Each side gets its own copy of the seed (CREATE DATABASE ... TEMPLATE), its own uvicorn (DEBUG off,
THROTTLE_* raised as in bench/forum/bench.py; Redis only if BENCH_REDIS_URL is set, then for both
sides), and the same requests in the same order.
CPU per request is the server process's utime+stime (/proc/<pid>/stat) over the batch divided by
the batch's requests, so other work on the machine does not count, and the sides alternate
within each round so contention hits both alike. Every answer must be 2xx.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SEED_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_writes_seed")
TICKS = os.sysconf("SC_CLK_TCK")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")


def server_env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        **{
            f"THROTTLE_{scope}": "1000000/min"
            for scope in ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")
        },
    }


def psql(sql: str, db: str = "postgres") -> str:
    u = urlparse(SEED_URL)
    base = ["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    out = subprocess.run([*base, "-d", db, "-Atqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def copy_seed(name: str) -> str:
    seed = urlparse(SEED_URL).path.lstrip("/")
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # our own copy: end stray sessions
    for _ in range(30):  # the template must have no other session
        try:
            psql(f"CREATE DATABASE {name} TEMPLATE {seed}")
            break
        except subprocess.CalledProcessError:
            time.sleep(2)
    else:
        sys.exit(f"could not copy {seed}")
    return SEED_URL.rsplit("/", 1)[0] + "/" + name


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Side:
    def __init__(self, name: str, tree: Path, port: int, db_name: str) -> None:
        import httpx

        self.name, self.tree, self.port = name, tree, port
        self.db_url = copy_seed(db_name)
        self.tokens = self._tokens()
        self.server = subprocess.Popen(
            [str(tree / ".venv/bin/python"), "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=tree, env=server_env(self.db_url),
        )  # fmt: skip
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(150):
            if self.server.poll() is not None:
                sys.exit(f"{name}: uvicorn exited")
            try:
                if self.client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        self.cpu: dict[str, list[float]] = {}

    def _tokens(self) -> list[str]:
        code = (
            "from apps.accounts.models import User; from apps.accounts.tokens import issue_token_pair\n"
            f"for u in User.objects.filter(username__startswith='bench_').order_by('id')[:{USERS}]:\n"
            "    print('TOKEN', issue_token_pair(u)['access'])"
        )
        out = subprocess.run(
            [str(self.tree / ".venv/bin/python"), "manage.py", "shell", "-c", code],
            cwd=self.tree, env=server_env(self.db_url), check=True, capture_output=True, text=True,
        )  # fmt: skip
        return [line.split()[1] for line in out.stdout.splitlines() if line.startswith("TOKEN ")]

    def send(self, method: str, url: str, token: str, body: dict, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        r = self.client.request(method, url, json=body, headers=headers)
        if r.status_code >= 300:
            sys.exit(f"{self.name}: {method} {url} -> {r.status_code} {r.text[:300]}")
        return r.json()["data"]

    def stop(self) -> None:
        self.client.close()
        self.server.terminate()
        self.server.wait(timeout=30)


USERS = int(os.environ.get("BENCH_WRITE_USERS", "120"))


class Workload:
    """The same sequence of writes for each side: posts rotate over the users; comments and votes
    go to recent posts by other users (votes cycle up, down, retract per voter and post)."""

    def __init__(self, side: Side, posts: list[int]) -> None:
        self.side, self.posts = side, posts
        self.n = 0
        self.comment_ids: list[int] = []

    def token(self, i: int) -> str:
        return self.side.tokens[i % len(self.side.tokens)]

    def post(self) -> None:
        self.n += 1
        n = self.n
        data = self.side.send(
            "POST", "/api/posts", self.token(n),
            {"category": "general", "title": f"Write bench post {n}", "body": f"Body number {n} of the write bench.",
             "tags": []},
            key=f"wb-post-{n}",
        )  # fmt: skip
        self.posts.append(data["id"])

    def comment(self) -> None:
        self.n += 1
        n = self.n
        post_id = self.posts[n % len(self.posts)]
        body = {"body": f"Comment number {n} of the write bench."}
        data = self.side.send("POST", f"/api/posts/{post_id}/comments", self.token(n + 7), body, key=f"wb-c-{n}")
        self.comment_ids.append(data["id"])

    def vote(self) -> None:
        self.n += 1
        n = self.n
        post_id = self.posts[(n // 3) % len(self.posts)]
        value = (1, -1, 0)[n % 3]
        self.side.send("POST", f"/api/posts/{post_id}/vote", self.token(n // 3 + 13), {"value": value})


def main() -> None:
    global USERS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=60, help="requests per case per side per round")
    parser.add_argument("--port", type=int, default=18401, help="before: PORT, after: PORT+1")
    parser.add_argument("--users", type=int, default=USERS)
    args = parser.parse_args()
    USERS = args.users

    sides = [
        Side("before", args.before, args.port, "sk_writes_a"),
        Side("after", args.after, args.port + 1, "sk_writes_b"),
    ]
    try:
        seed_posts = [int(x) for x in psql("SELECT p.id FROM posts p JOIN categories c ON c.id = p.category_id WHERE p.status = "
                                           "'published' AND c.slug = 'general' ORDER BY p.id DESC LIMIT 200",
                                           db=urlparse(SEED_URL).path.lstrip("/")).split()]  # fmt: skip
        loads = {s.name: Workload(s, list(seed_posts)) for s in sides}
        cases = ("post", "comment", "vote")
        for w in loads.values():  # warm-up: imports, connections, plans
            for case in cases:
                for _ in range(10):
                    getattr(w, case)()
        for r in range(args.rounds):
            for case in cases:
                order = sides if r % 2 == 0 else sides[::-1]
                for s in order:
                    w = loads[s.name]
                    c0, t0 = cpu_seconds(s.server.pid), time.perf_counter()
                    for _ in range(args.batch):
                        getattr(w, case)()
                    wall = time.perf_counter() - t0
                    cpu = cpu_seconds(s.server.pid) - c0
                    s.cpu.setdefault(case, []).append(cpu / args.batch * 1000)
                    print(f"round {r + 1} {case:8} {s.name:6}: {cpu / args.batch * 1000:6.2f} ms CPU/req, "
                          f"{wall / args.batch * 1000:6.1f} ms wall/req", flush=True)  # fmt: skip
    finally:
        for s in sides:
            s.stop()
    load = os.getloadavg()
    print(
        f"\n{args.rounds} rounds x {args.batch} requests per case per side, one uvicorn worker each, DEBUG off, "
        f"Redis: {REDIS_URL or 'none'}. Load average at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (2 cores)\n"
    )
    print("| case | before CPU ms/req (median of rounds) | after | before / after |")
    print("|---|---:|---:|---:|")
    for case in cases:
        b = statistics.median(sides[0].cpu[case])
        a = statistics.median(sides[1].cpu[case])
        print(f"| {case} | {b:.2f} | {a:.2f} | {b / a:.2f}× |")


if __name__ == "__main__":
    main()
