"""WebSocket broadcast benchmark: the project's real consumer against the floor, same run.

For each repetition, back to back: FLOOR (plain `websockets`, ../shared/bench/wsfloor's
floor_server.py, copied here), PROJECT-1 (the real ASGI app in one uvicorn process, Redis channel
layer, every socket authenticated and subscribed to a topic through the consumer), PROJECT-2 (two
uvicorn processes sharing Redis; receivers split between them, the broadcast published in one).
Every server is started fresh and stopped by pid; the load client runs as a separate process.

    ulimit -n 20000
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_realtime
    .venv/bin/python bench/ws/run.py --n 2000 --reps 2 --out /tmp/wsbench-project

A private redis-server is started on --redis-port (default 6391) so that nothing else on the
machine publishes into the measured topic; it is stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PY = sys.executable
NAMES = {
    "floor": "FLOOR (websockets)",
    "project1": "PROJECT, 1 process (Redis layer)",
    "project2": "PROJECT, 2 processes sharing Redis",
    "project1pg": "PROJECT, 1 process (PostgreSQL layer, no Redis)",
}


def wait_port(port: int, timeout: float = 60) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def django_env(redis_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DEBUG": "false",
        "REDIS_URL": redis_url,
        "JWT_ACCESS_MINUTES": "240",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def make_tokens(path: Path, users: int, redis_url: str) -> None:
    code = f"""
from apps.accounts.models import User
from apps.accounts.tokens import issue_token_pair
names = [f"wsbench{{i}}" for i in range({users})]
have = set(User.objects.filter(username__in=names).values_list("username", flat=True))
for name in names:
    if name not in have:
        User.objects.create_user(name, f"{{name}}@bench.invalid", None)
with open({str(path)!r}, "w") as f:
    for user in User.objects.filter(username__in=names):
        f.write(issue_token_pair(user)["access"] + "\\n")
"""
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=django_env(redis_url), check=True)
    subprocess.run([PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=django_env(redis_url), check=True)


def start_project(port: int, redis_url: str, log) -> subprocess.Popen:
    cmd = [PY, "-m", "uvicorn", "bench.ws.bench_asgi:app", "--host", "127.0.0.1", "--port", str(port),
           "--loop", "asyncio", "--ws", "websockets-sansio", "--lifespan", "off", "--ws-ping-interval", "0",
           "--log-level", "warning", "--no-access-log", "--backlog", "2048"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=django_env(redis_url), stdout=log, stderr=subprocess.STDOUT)
    if not wait_port(port):
        stop(proc)
        raise RuntimeError(f"project server on {port} did not start")
    return proc


def run_one(kind: str, n: int, rep: int, a, out: Path) -> dict:
    label = f"{kind}_n{n}_r{rep}"
    log = open(out / f"{label}.server.log", "w")  # noqa: SIM115 (closed in finally)
    redis_url = f"redis://127.0.0.1:{a.redis_port}/0" if kind != "project1pg" else ""
    procs = []
    client = [PY, str(HERE / "load_client.py"), "--n", str(n), "--label", label, "--out", str(out / f"{label}.json")]
    if kind == "floor":
        procs.append(subprocess.Popen([PY, str(HERE / "floor_server.py"), "--port", "8001"], stdout=log, stderr=log))
        wait_port(8001)
        client += ["--url", "ws://127.0.0.1:8001/"]
    else:
        ports = [8101, 8102] if kind == "project2" else [8101]
        for port in ports:
            procs.append(start_project(port, redis_url, log))
        client += ["--mode", "project", "--topic", a.topic, "--tokens-file", str(out / "tokens.txt")]
        for port in ports:
            client += ["--url", f"ws://127.0.0.1:{port}/ws/"]
    for proc in procs:
        client += ["--server-pid", str(proc.pid)]
    if kind != "floor" and redis_url and a.redis_pid:
        client += ["--extra-pid", f"redis={a.redis_pid}"]
    time.sleep(1)
    try:
        done = subprocess.run(client, capture_output=True, text=True, timeout=600)
        sys.stderr.write(done.stderr)
        result = json.loads((out / f"{label}.json").read_text())
    finally:
        for proc in procs:
            stop(proc)
        log.close()
    result.update(kind=kind, rep=rep)
    return result


def run_presence(a, out: Path) -> dict:
    """Presence storm check against one project process (see presence.py)."""
    log = open(out / "presence.server.log", "w")  # noqa: SIM115 (closed in finally)
    proc = start_project(8101, f"redis://127.0.0.1:{a.redis_port}/0", log)
    try:
        done = subprocess.run(
            [PY, str(HERE / "presence.py"), "--url", "ws://127.0.0.1:8101/ws/", "--tokens-file",
             str(out / "tokens.txt"), "--users", str(a.users), "--server-pid", str(proc.pid)],
            capture_output=True, text=True, timeout=600, check=True,
        )  # fmt: skip
    finally:
        stop(proc)
        log.close()
    (out / "presence.json").write_text(done.stdout)
    print(done.stdout, flush=True)
    return json.loads(done.stdout)


def table(results: list[dict]) -> str:
    head = (
        "| server | N | run | connected | delivered/expected | p50 ms | p95 ms | p99 ms | max ms "
        "| server CPU ms/bcast | CPU × floor | p99 × floor |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    floors = {(r["n"], r["rep"]): r for r in results if r["kind"] == "floor"}
    for r in results:
        f = floors.get((r["n"], r["rep"]))
        cpu = r["cpu_ms_per_broadcast"].get("server")
        lat = r["lat_ms"]
        cpu_ratio = f"{cpu / f['cpu_ms_per_broadcast']['server']:.2f}×" if f and cpu else "–"
        p99_ratio = f"{lat['p99'] / f['lat_ms']['p99']:.2f}×" if f and lat["p99"] else "–"
        lines.append(
            f"| {NAMES[r['kind']]} | {r['n']} | {r['rep']} | {r['connected']}/{r['n']} | {r['delivered']}/{r['expected']} "
            f"| {lat['p50']} | {lat['p95']} | {lat['p99']} | {lat['max']} | {cpu} | {cpu_ratio} | {p99_ratio} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--kinds", default="floor,project1,project2")
    ap.add_argument("--topic", default="posts")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--redis-port", type=int, default=6391)
    ap.add_argument("--out", default="/tmp/wsbench-project")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    redis = subprocess.Popen(
        ["redis-server", "--port", str(a.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    a.redis_pid = redis.pid
    try:
        wait_port(a.redis_port)
        make_tokens(out / "tokens.txt", a.users, f"redis://127.0.0.1:{a.redis_port}/0")
        if a.kinds == "presence":
            run_presence(a, out)
            return
        results = []
        for rep in range(1, a.reps + 1):
            for kind in a.kinds.split(","):
                result = run_one(kind, a.n, rep, a, out)
                results.append(result)
                with open(out / "results.jsonl", "a") as f:
                    f.write(json.dumps(result) + "\n")
                print(table([r for r in results if r["rep"] == rep]), flush=True)
        (out / "table.md").write_text(table(results))
        print(table(results))
    finally:
        stop(redis)


if __name__ == "__main__":
    main()
