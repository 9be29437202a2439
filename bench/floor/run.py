#!/usr/bin/env python
"""Close to the floor (issue 22): the project's main reads against a bare ASGI app (floor_app.py)
on the same seeded database, in server CPU per request.

    .venv/bin/python bench/forum/bench.py seed      # once: the bench database (BENCH_* sizes)
    .venv/bin/python bench/floor/run.py             # this checkout against the floor
    .venv/bin/python bench/floor/run.py --tree before=/tmp/sk-before --tree after=.   # several checkouts

It starts the floor and, for each checkout ("tree"), the project twice (one uvicorn worker each,
DEBUG off, no Redis unless BENCH_REDIS_URL is set): feed cache off for every case, and feed cache
on for the cache-hit case. It checks that each project returns the floor's rows
(compare_floor.py), then runs interleaved rounds: per round and case, every server in turn (the
order rotating each round) answers the same number of sequential requests after a short warm-up,
and the server's CPU (utime + stime from /proc/<pid>/stat) before and after is the measure, so
contention from other work on the machine falls on every server alike. It prints the ratio table
in Markdown (case, floor ms CPU per request, each tree's ms and its ratio to the floor, the
target) and the client's median wall time per request.

Options: --rounds N (5), --requests N (200 per case, server and round; health gets 3x),
--tree LABEL=DIR (repeatable; default: this checkout as "project"), --cases key,key (a subset).
Environment: BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/sk_floor_bench), BENCH_PORT
(8794: the floor there, the projects on the next ports), BENCH_VIEWER (bench_1: the signed-in
viewer; a token is issued for them, which writes an auth session row, and they are given votes, up
and down, on some rows of the signed-in pages: `give_viewer_votes`), BENCH_REDIS_URL ("").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from compare_floor import compare, walk_to_page  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_floor_bench")
BASE_PORT = int(os.environ.get("BENCH_PORT", "8794"))
VIEWER = os.environ.get("BENCH_VIEWER", "bench_1")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
TICK = os.sysconf("SC_CLK_TCK")

# key, title, target ratio (None: absolute target in ms), signed in, feed cache on
CASES = [
    ("hot1", "hot feed page 1", 3, False, False),
    ("hot50", "hot feed page 50 (cursor)", 3, False, False),
    ("category", "new feed, one category (memes)", 3, False, False),
    ("thread", "2,000-comment thread, first 100 (sort=old)", 3, False, False),
    ("categories", "categories", 3, False, False),
    ("health", "health (no database)", None, False, False),
    ("hot1_me", "signed in: hot feed page 1 (my_vote)", 4, True, False),
    ("thread_me", "signed in: thread, first 100 (my_vote)", 4, True, False),
    ("hot1_hit", "feed cache on: hot feed page 1, a hit", 1.5, False, True),
]
HEALTH_TARGET_MS = 0.5


def project_env(cache_seconds: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONWARNINGS": "ignore::UserWarning",  # "No directory at: var/static/" (whitenoise)
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "REDIS_URL": REDIS_URL,
        "DATABASE_APP_USER": "",  # as bench/forum/bench.py: the owner (the bench database has no app role grants)
        "LOG_LEVEL": "WARNING",
        "FEED_CACHE_SECONDS": str(cache_seconds),
        # One client sends thousands of requests: measure the stack, not the rate limiter's refusals.
        **{
            f"THROTTLE_{scope}": "1000000/min"
            for scope in ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")
        },
    }


@dataclass
class Server:
    label: str
    url: str
    process: subprocess.Popen
    token: str | None = None
    paths: dict[str, str] = field(default_factory=dict)  # case key -> path (cursors differ per server)
    cpu: dict[str, float] = field(default_factory=dict)  # case key -> CPU seconds
    count: dict[str, int] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, every thread of the process


def free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start(label: str, argv: list[str], cwd: Path, env: dict[str, str], port: int) -> Server:
    if not free(port):
        sys.exit(f"port {port} is already in use: set BENCH_PORT")
    argv = [*argv, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", *argv], cwd=cwd, env=env)
    return Server(label, f"http://127.0.0.1:{port}", process)


def wait_ready(server: Server, path: str) -> None:
    with httpx.Client(timeout=5) as client:
        for _ in range(300):
            if server.process.poll() is not None:
                sys.exit(f"{server.label} exited")
            try:
                if client.get(server.url + path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    sys.exit(f"{server.label} did not answer")


def access_token(tree: Path) -> str:
    code = (
        "from apps.accounts.models import User; from apps.accounts.tokens import issue_token_pair; "
        f"print(issue_token_pair(User.objects.get(username={VIEWER!r}))['access'])"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=tree,
        env=project_env(0),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


# The viewer's new vote and the counters it moves, as the vote services move them (ON CONFLICT: a
# vote the viewer already has stays as it is). Rankings are left as they are, so the pages keep
# their rows and order and a second run finds every vote in place.
_VOTE_SQL = """WITH new AS (
    INSERT INTO votes (user_id, post_id, comment_id, value, created_at, updated_at)
    VALUES (%(user)s, %(post)s, %(comment)s, %(value)s, now(), now())
    ON CONFLICT DO NOTHING RETURNING value)
UPDATE {table} SET upvotes = upvotes + (SELECT count(*) FROM new WHERE value = 1),
    downvotes = downvotes + (SELECT count(*) FROM new WHERE value = -1),
    score = score + (SELECT coalesce(sum(value), 0) FROM new)
WHERE id = %(id)s AND EXISTS (SELECT 1 FROM new)"""


def give_viewer_votes(floor: Server) -> None:
    """The viewer's votes, up and down, on some rows of the signed-in pages (the 2nd, 4th, 6th and
    8th post of the hot page; every tenth comment of the thread's first page), so that comparing
    with the floor checks real `my_vote` values. Idempotent."""
    import psycopg

    headers = {"Authorization": f"Bearer {floor.token}"}
    with httpx.Client(timeout=30) as client:
        posts = client.get(floor.url + floor.paths["hot1_me"], headers=headers).json()["data"]
        comments = client.get(floor.url + floor.paths["thread_me"], headers=headers).json()["data"]
    with psycopg.connect(DB_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        (viewer,) = conn.execute("SELECT id FROM users WHERE username = %s", [VIEWER]).fetchone()
        targets = [("posts", p["id"], None, p["id"]) for p in posts if (p["author"] or {}).get("id") != viewer][1:9:2]
        targets += [
            ("comments", c["post_id"], c["id"], c["id"]) for c in comments if (c["author"] or {}).get("id") != viewer
        ][::10]
        for n, (table, post, comment, row_id) in enumerate(targets):
            params = {"user": viewer, "post": post, "comment": comment, "value": 1 if n % 2 else -1, "id": row_id}
            conn.execute(_VOTE_SQL.format(table=table), params)


def case_paths(server: Server, *, floor: bool, big_post: int) -> dict[str, str]:
    with httpx.Client(timeout=30) as client:
        cursor = walk_to_page(client, server.url, 50)
    thread = f"/api/posts/{big_post}/comments?sort=old&limit=100"
    return {
        "hot1": "/api/posts?sort=hot",
        "hot50": f"/api/posts?sort=hot&cursor={cursor}",
        "category": "/api/posts?sort=new&category=memes",
        "thread": thread,
        "categories": "/api/categories",
        "health": "/health" if floor else "/api/health",
        "hot1_me": "/api/posts?sort=hot",
        "thread_me": thread,
        "hot1_hit": "/api/posts?sort=hot",
    }


def measure(client: httpx.Client, server: Server, key: str, n: int, signed_in: bool, expect_hit: bool) -> None:
    headers = {"Authorization": f"Bearer {server.token}"} if signed_in else {}
    url = server.url + server.paths[key]
    for _ in range(5):  # warm-up: connection, plans, the cache entry of a hit
        client.get(url, headers=headers).raise_for_status()
    walls = []
    before = server.cpu_seconds()
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        walls.append(time.perf_counter() - t0)
        if r.status_code != 200 or (expect_hit and r.headers.get("X-Feed-Cache") != "hit"):
            sys.exit(f"{server.label} {url}: {r.status_code} {r.headers.get('X-Feed-Cache')}")
    after = server.cpu_seconds()
    server.cpu[key] = server.cpu.get(key, 0.0) + after - before
    server.count[key] = server.count.get(key, 0) + n
    server.wall.setdefault(key, []).extend(walls)


def ms(server: Server, key: str) -> float:
    return 1000 * server.cpu[key] / server.count[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--tree", action="append", default=[], help="LABEL=DIR, a checkout of the project")
    parser.add_argument("--cases", default="", help="comma-separated case keys: " + ",".join(c[0] for c in CASES))
    args = parser.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree] or [("project", ROOT)]
    cases = [c for c in CASES if not args.cases or c[0] in args.cases.split(",")]
    need_hit = any(c[4] for c in cases)

    floor_env = {**os.environ, "FLOOR_DSN": DB_URL.replace("postgres://", "postgresql://", 1)}
    floor = start("floor", ["floor_app:app", "--app-dir", str(HERE)], HERE, floor_env, BASE_PORT)
    servers = [floor]
    projects: list[tuple[Server, Server | None]] = []
    try:
        port = BASE_PORT + 1
        for label, tree in trees:
            off = start(label, ["successkid.asgi:application"], tree, project_env(0), port)
            on = None
            if need_hit:
                on = start(
                    f"{label} (feed cache on)", ["successkid.asgi:application"], tree, project_env(3600), port + 1
                )
            port += 2
            projects.append((off, on))
            servers += [s for s in (off, on) if s]
        for server in servers:
            wait_ready(server, "/health" if server is floor else "/api/health")
        with httpx.Client(timeout=30) as client:
            big_post = client.get(projects[0][0].url + "/api/posts?sort=new&limit=1").json()["data"][0]["id"]
        floor.paths = case_paths(floor, floor=True, big_post=big_post)
        for (off, on), (label, tree) in zip(projects, trees, strict=True):
            off.token = access_token(tree)
            if floor.token is None:
                floor.token = off.token
                give_viewer_votes(floor)
            off.paths = case_paths(off, floor=False, big_post=big_post)
            if on:
                on.paths = off.paths
            print(f"\n== {label} ({tree}) against the floor: compare_floor", flush=True)
            same = compare(off.url, floor.url, off.token, expect_votes=True)
            print(f"   same rows and keys: {same}", flush=True)

        with httpx.Client(timeout=30) as client:
            for round_no in range(args.rounds):
                for key, _title, _target, signed_in, hit in cases:
                    n = args.requests * (3 if key == "health" else 1)
                    lineup = [floor] + [on if hit else off for off, on in projects]
                    if round_no % 2:
                        lineup.reverse()
                    for server in lineup:
                        measure(client, server, key, n, signed_in, expect_hit=hit and server is not floor)
                print(f"   round {round_no + 1}/{args.rounds} done", flush=True)
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()

    report(cases, floor, projects, trees, args)


def tree_commit(tree: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "no git") + (" + uncommitted changes" if dirty else "")


def report(cases, floor: Server, projects, trees, args) -> None:
    load = os.getloadavg()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{now}. Database {DB_URL.rsplit('/', 1)[-1]}; {args.rounds} interleaved rounds of {args.requests} ")
    print("sequential requests per case and server (health 3x), after 5 warm-up requests; one uvicorn worker each;")
    print("server CPU per request = (utime + stime) from /proc/<pid>/stat over the requests.")
    print(
        f"Load average at the end (1/5/15 min, {os.cpu_count()} cores): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    for label, tree in trees:
        print(f"- {label}: {tree} at {tree_commit(tree)}")
    head = "| case | floor ms CPU/req |" + "".join(f" {label} ms | {label} / floor |" for label, _ in trees)
    print("\n" + head + " target |")
    print("|---|---:|" + "---:|---:|" * len(trees) + "---|")
    for key, title, target, _signed_in, hit in cases:
        cells = [f" {ms(floor, key):.2f} |"]
        for off, on in projects:
            server = on if hit else off
            cells.append(f" {ms(server, key):.2f} | {ms(server, key) / ms(floor, key):.1f}× |")
        goal = f"≤ {HEALTH_TARGET_MS} ms" if target is None else f"≤ {target}×"
        print(f"| {title} |" + "".join(cells) + f" {goal} |")
    print("\nClient wall time per request, median ms (sequential, keep-alive; for orientation only):\n")
    print("| case | floor |" + "".join(f" {label} |" for label, _ in trees))
    print("|---|---:|" + "---:|" * len(trees))
    for key, title, _target, _signed_in, hit in cases:
        cells = [f" {1000 * statistics.median(floor.wall[key]):.2f} |"]
        for off, on in projects:
            server = on if hit else off
            cells.append(f" {1000 * statistics.median(server.wall[key]):.2f} |")
        print(f"| {title} |" + "".join(cells))


if __name__ == "__main__":
    main()
