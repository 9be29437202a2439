#!/usr/bin/env python
"""Forum benchmark: hot feed page 1 and page 50 and a 2,000-comment thread through the real HTTP
stack (uvicorn on 127.0.0.1), on a separate database seeded with >= 100k posts, 1M comments and
1M votes by set-based SQL (bench/forum/seed.sql), plus EXPLAIN ANALYZE of the feed queries.

    .venv/bin/python bench/forum/bench.py seed   # (re)creates the database sk_forum_bench (~5 min)
    .venv/bin/python bench/forum/bench.py run    # starts uvicorn, measures, prints a Markdown report
    .venv/bin/python bench/forum/bench.py writes /tmp/before [/tmp/other ...]  # write paths vs this checkout

`writes <checkout> ...` compares the write paths (a signed-in user posting, commenting, upvoting)
of other checkouts (e.g. `git worktree add /tmp/before <commit>`) with this one, each served by its
own uvicorn process on its own copy of a small database (BENCH_WRITES_DB_URL, default
postgres://postgres@127.0.0.1:5432/sk_writes_bench: the first checkout migrates and seeds it, each
other copy is migrated on top by its checkout). Rounds alternate which server goes first; per request
it records latency and the server process's CPU time (/proc/<pid>/stat utime+stime), so other load
on the machine weighs on both sides alike. BENCH_WRITES_ROUNDS (8) rounds of BENCH_WRITES_PER_CASE
(25) requests per case and server.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sk_forum_bench),
BENCH_PORT (8794), BENCH_REQUESTS (200 per case), sizes BENCH_POSTS/COMMENTS/VOTES/USERS.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_forum_bench")
PORT = int(os.environ.get("BENCH_PORT", "8794"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
SIZES = {
    "users": int(os.environ.get("BENCH_USERS", "20000")),
    "posts": int(os.environ.get("BENCH_POSTS", "100000")),
    "comments": int(os.environ.get("BENCH_COMMENTS", "1000000")),
    "votes": int(os.environ.get("BENCH_VOTES", "1000000")),
    "big_thread": int(os.environ.get("BENCH_BIG_THREAD", "2000")),
}


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        # One client sends thousands of requests: measure the stack, not the rate limiter's refusals.
        **{
            f"THROTTLE_{scope}": "1000000/min"
            for scope in ("ANON_READ", "ANON_WRITE", "USER_READ", "USER_WRITE", "NEW_USER_WRITE")
        },
    }


def psql(*args: str, db: str | None = None) -> None:
    u = urlparse(DB_URL)
    base = ["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    subprocess.run([*base, "-d", db or u.path.lstrip("/"), "-v", "ON_ERROR_STOP=1", *args], check=True)


def step(title: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    print(f"-- {title} ...", flush=True)
    out = fn(*args, **kwargs)
    print(f"   {title}: {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env(), check=True)


def cmd_seed() -> None:
    name = urlparse(DB_URL).path.lstrip("/")
    step(
        "drop/create database",
        psql,
        "-c",
        f"DROP DATABASE IF EXISTS {name}",
        "-c",
        f"CREATE DATABASE {name}",
        db="postgres",
    )
    step("migrate", manage, "migrate", "-v0")
    step("reference data", manage, "seed")
    variables = [x for k, v in SIZES.items() for x in ("-v", f"{k}={v}")]
    step("bulk load (seed.sql)", psql, *variables, "-q", "-f", str(HERE / "seed.sql"))
    code = "from apps.forum import jobs; jobs.recount_all(); jobs.refresh_trending()"
    step("recount counters and ranks", manage, "shell", "-c", code)
    step("vacuum analyze", psql, "-c", "VACUUM ANALYZE")
    psql(
        "-c",
        "SELECT (SELECT count(*) FROM posts) AS posts, (SELECT count(*) FROM comments) AS comments, "
        "(SELECT count(*) FROM votes) AS votes, (SELECT count(*) FROM users) AS users, "
        "(SELECT max(comment_count) FROM posts) AS biggest_thread, pg_size_pretty(pg_database_size(current_database())) AS size",
    )


def measure(client, url: str, n: int) -> dict:
    for _ in range(10):  # warm-up: connections, caches, plans
        client.get(url).raise_for_status()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "min": times[0],
        "max": times[-1],
        "bytes": len(r.content),
        "rows": len(r.json()["data"]),
    }


def cmd_run() -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            sys.exit(f"port {PORT} is already in use: set BENCH_PORT")

    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(PORT),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{PORT}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(100):
                if server.poll() is not None:
                    sys.exit("uvicorn exited")
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            results = run_cases(client)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print_report(results)
    explain()


def run_cases(client) -> list[tuple[str, str, dict]]:
    token = access_token()
    cursor = None
    for _ in range(49):  # walk to page 50 of the hot feed (20 per page)
        r = client.get("/api/posts?sort=hot" + (f"&cursor={cursor}" if cursor else ""))
        cursor = r.json()["meta"]["pagination"]["next_cursor"]
    big_post = client.get("/api/posts?sort=new&limit=1").json()["data"][0]
    assert big_post["comment_count"] >= 2000, big_post["comment_count"]
    thread = f"/api/posts/{big_post['id']}/comments"
    cases = [
        ("baseline: GET /api/health (the stack's floor)", "/api/health", None),
        ("hot feed, page 1 (anonymous)", "/api/posts?sort=hot", None),
        ("hot feed, page 1 (signed in: my_vote)", "/api/posts?sort=hot", token),
        ("hot feed, page 50 (cursor)", f"/api/posts?sort=hot&cursor={cursor}", None),
        ("new feed, page 1, one category", "/api/posts?sort=new&category=memes", None),
        ("top feed, period=week", "/api/posts?sort=top&period=week", None),
        (f"{big_post['comment_count']}-comment thread, sort=best, limit=100", f"{thread}?sort=best&limit=100", None),
        (f"{big_post['comment_count']}-comment thread, sort=old, limit=100", f"{thread}?sort=old&limit=100", token),
        ("categories with counts", "/api/categories", None),
    ]
    results = []
    for title, url, tok in cases:
        client.headers.pop("Authorization", None)
        if tok:
            client.headers["Authorization"] = f"Bearer {tok}"
        results.append((title, url, measure(client, url, REQUESTS)))
        print(f"   {title}: median {results[-1][2]['median']:.1f} ms", flush=True)
    client.headers.pop("Authorization", None)
    return results


def access_token() -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from apps.accounts.models import User; from apps.accounts.tokens import issue_token_pair; "
         "print(issue_token_pair(User.objects.get(username='bench_1'))['access'])"],
        cwd=ROOT, env=env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def print_report(results) -> None:
    load = os.getloadavg()
    print(f"\n{REQUESTS} sequential requests per case after 10 warm-up requests, one uvicorn worker, DEBUG off.")
    print(f"Load average at the end (1/5/15 min, 2 cores): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    print("| case | median ms | p95 ms | min ms | rows | bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for title, _url, m in results:
        print(f"| {title} | {m['median']:.1f} | {m['p95']:.1f} | {m['min']:.1f} | {m['rows']} | {m['bytes']} |")


def explain() -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL the feed endpoints run, captured from Django."""
    os.environ.update(env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.forum import selectors

    viewer = User.objects.get(username="bench_1")

    def feed_sql(cursor: str | None, **kwargs) -> tuple[str, str | None]:
        with CaptureQueriesContext(connection) as ctx:
            page = selectors.post_feed_page(viewer=viewer, cursor=cursor, **kwargs)
        return ctx.captured_queries[-1]["sql"], page.next_cursor

    cursor = None
    for _ in range(49):
        _sql, cursor = feed_sql(cursor, sort="hot")
    thread_post = selectors.Post.objects.order_by("-comment_count").values_list("id", flat=True).first()
    plans = [
        ("hot feed page 1 (signed in)", feed_sql(None, sort="hot")[0]),
        ("hot feed page 50", feed_sql(cursor, sort="hot")[0]),
        ("new feed in one category", feed_sql(None, sort="new", category="memes")[0]),
        (
            "the thread's light tree (ids, parents, scores of every comment)",
            selectors.Comment.objects.filter(post_id=thread_post)
            .order_by()
            .values_list("id", "parent_id", "status", "author_id", "score", "best_rank")
            .query.sql_with_params(),
        ),
    ]
    with connection.cursor() as c:
        for title, sql in plans:
            sql, params = sql if isinstance(sql, tuple) else (sql, ())
            c.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            print(f"\n#### {title}\n```\n" + "\n".join(r[0] for r in c.fetchall()) + "\n```")


WRITES_DB_URL = os.environ.get("BENCH_WRITES_DB_URL", "postgres://postgres@127.0.0.1:5432/sk_writes_bench")
WRITE_SIZES = {"users": 2000, "posts": 5000, "comments": 20000, "votes": 20000, "big_thread": 200}
WRITE_CASES = ("post", "comment", "vote")


def _db_url(name: str) -> str:
    u = urlparse(WRITES_DB_URL)
    return u._replace(path=f"/{name}").geturl()


def _writes_env(db_url: str) -> dict[str, str]:
    return {**env(), "DATABASE_URL": db_url, "JWT_ACCESS_MINUTES": "240"}  # one token for the whole run


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _writes_seed(roots: list[Path], names: list[str]) -> None:
    """The first checkout builds the database (its migrations, reference data, a small bulk load);
    every other checkout's copy gets that checkout's migrations on top."""
    other, before_db = roots[0], names[0]
    python = other / ".venv" / "bin" / "python"
    base = _db_url("postgres")
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{before_db}"')
    other_env = _writes_env(_db_url(before_db))
    subprocess.run([str(python), "manage.py", "migrate", "-v0"], cwd=other, env=other_env, check=True)
    subprocess.run([str(python), "manage.py", "seed"], cwd=other, env=other_env, check=True, capture_output=True)
    u = urlparse(WRITES_DB_URL)
    variables = [x for k, v in WRITE_SIZES.items() for x in ("-v", f"{k}={v}")]
    subprocess.run(
        ["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres",
         "-d", before_db, "-q", *variables, "-f", str(HERE / "seed.sql")],
        check=True,
    )  # fmt: skip
    code = "from apps.forum import jobs; jobs.recount_all(); jobs.refresh_trending()"
    subprocess.run([str(python), "manage.py", "shell", "-c", code], cwd=other, env=other_env, check=True)
    for root, name in zip(roots[1:], names[1:], strict=True):
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{before_db}"')
        python = root / ".venv" / "bin" / "python"
        subprocess.run(
            [str(python), "manage.py", "migrate", "-v0"], cwd=root, env=_writes_env(_db_url(name)), check=True
        )


class WriteServer:
    """One uvicorn process (one worker) of one checkout on its own database."""

    def __init__(self, label: str, root: Path, db_name: str, port: int):
        self.label, self.root, self.port = label, root, port
        self.python = root / ".venv" / "bin" / "python"
        self.env = _writes_env(_db_url(db_name))
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=root, env=self.env,
        )  # fmt: skip
        out = subprocess.run(
            [str(self.python), "manage.py", "shell", "-c",
             "from apps.accounts.models import User; from apps.accounts.tokens import issue_token_pair; "
             "print(issue_token_pair(User.objects.get(username='bench_1'))['access'])"],
            cwd=root, env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        self.token = out.stdout.strip().splitlines()[-1]
        self.samples: dict[str, list[tuple[float, float]]] = {case: [] for case in WRITE_CASES}  # (ms, cpu ms)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _write_request(case: str, n: int, targets: list[int]) -> tuple[str, str, dict]:
    if case == "post":
        return (
            "POST",
            "/api/posts",
            {"title": f"Write bench post {n}", "body": f"Body {n}: a small win.", "category": "memes"},
        )
    if case == "comment":
        return "POST", f"/api/posts/{targets[n % len(targets)]}/comments", {"body": f"Write bench comment {n}"}
    return "POST", f"/api/posts/{targets[n]}/vote", {"value": 1}  # a new upvote each time


def cmd_writes(others: list[Path]) -> None:
    import httpx
    import psycopg

    rounds = int(os.environ.get("BENCH_WRITES_ROUNDS", "8"))
    per_case = int(os.environ.get("BENCH_WRITES_PER_CASE", "25"))
    base_name = urlparse(WRITES_DB_URL).path.lstrip("/")
    roots = [*others, ROOT]
    names = [f"{base_name}_{i}" for i in range(len(roots))]
    step("seed the databases", _writes_seed, roots, names)
    with psycopg.connect(_db_url(names[0])) as conn:
        targets = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM posts WHERE author_id <> (SELECT id FROM users WHERE username = 'bench_1')"
                " AND status = 'published' AND NOT is_locked"
                " AND category_id IN (SELECT id FROM categories WHERE slug IN ('general', 'memes'))"
                " ORDER BY id DESC LIMIT %s",
                [(rounds + 1) * per_case + 50],
            )
        ]

    def revision(root: Path) -> str:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        )
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")

    servers = [
        WriteServer(f"{root.name} ({revision(root)})", root, name, PORT + 1 + i)
        for i, (root, name) in enumerate(zip(roots, names, strict=True))
    ]
    counters = {(s.label, case): 0 for s in servers for case in WRITE_CASES}
    try:
        clients = {s.label: httpx.Client(base_url=f"http://127.0.0.1:{s.port}", timeout=30) for s in servers}
        for s in servers:
            c = clients[s.label]
            for _ in range(100):
                try:
                    if c.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            c.headers["Authorization"] = f"Bearer {s.token}"

        def batch(s: WriteServer, case: str, count: int, record: bool) -> None:
            c = clients[s.label]
            for _ in range(count):
                n = counters[(s.label, case)]
                counters[(s.label, case)] += 1
                method, url, body = _write_request(case, n, targets)
                cpu0, t0 = _cpu_seconds(s.proc.pid), time.perf_counter()
                r = c.request(method, url, json=body)
                ms, cpu_ms = (time.perf_counter() - t0) * 1000, (_cpu_seconds(s.proc.pid) - cpu0) * 1000
                if r.status_code >= 300:
                    raise SystemExit(f"{s.label} {case}: {r.status_code} {r.text[:300]}")
                if record:
                    s.samples[case].append((ms, cpu_ms))

        for s in servers:  # warm-up: connections, caches, first-post achievements
            for case in WRITE_CASES:
                batch(s, case, 5, record=False)
        for r in range(rounds):
            for s in servers if r % 2 == 0 else servers[::-1]:  # who goes first alternates
                for case in WRITE_CASES:
                    batch(s, case, per_case, record=True)
            print(f"   round {r + 1}/{rounds} done", flush=True)
            _writes_report(servers, r + 1, per_case)  # so far (a run cut short still reports)
    finally:
        for s in servers:
            s.stop()
    _writes_report(servers, rounds, per_case)


def _writes_report(servers: list, rounds: int, per_case: int) -> None:
    load = os.getloadavg()
    print(f"\n{rounds} interleaved rounds x {per_case} requests per case and checkout (after 5 warm-up requests each),")
    print("one uvicorn worker per checkout, DEBUG off, no Redis (the default set-up), sequential client.")
    print(f"Load average now (1/5/15 min, 2 cores): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    print("| case | checkout | median ms | p95 ms | CPU ms/request (mean) | CPU vs the first |")
    print("|---|---|---:|---:|---:|---:|")
    for case in WRITE_CASES:
        cpu_before = statistics.mean(c for _, c in servers[0].samples[case])
        for s in servers:
            lat = sorted(ms for ms, _ in s.samples[case])
            cpu = statistics.mean(c for _, c in s.samples[case])
            ratio = f"{cpu / cpu_before:.2f}" if s is not servers[0] and cpu_before else ""
            print(
                f"| {case} | {s.label} | {statistics.median(lat):.1f} | {lat[int(0.95 * (len(lat) - 1))]:.1f} "
                f"| {cpu:.1f} | {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "seed":
        cmd_seed()
    elif command == "run":
        cmd_run()
    elif command == "writes" and len(sys.argv) > 2:
        cmd_writes([Path(a).resolve() for a in sys.argv[2:]])
    else:
        print(__doc__)
        sys.exit(2)
