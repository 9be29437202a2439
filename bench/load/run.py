"""Load and fault runs against the production topology on this machine (bench/README.md
"Load and fault runs").

    .venv/bin/python bench/load/run.py --fault none     --duration 180
    .venv/bin/python bench/load/run.py --fault redis    --duration 180   # Redis killed, back later
    .venv/bin/python bench/load/run.py --fault postgres --duration 180   # PostgreSQL stopped, started
    .venv/bin/python bench/load/run.py --fault outside  --duration 180   # every outside API down
    .venv/bin/python bench/load/run.py --fault none --duration 30        # smoke run
    .venv/bin/python bench/load/run.py --fault kill          --duration 300  # SIGKILL web/worker/beat
    .venv/bin/python bench/load/run.py --fault kill+postgres --duration 300  # ... and a PostgreSQL restart
    .venv/bin/python bench/load/run.py --fault kill+redis    --duration 300  # ... and Redis killed
    .venv/bin/python bench/load/run.py --topology --duration 60 --nodes 1 --nodes 2 --per-endpoint 15

With --topology the load goes to an already running scale-out topology (scripts/topology.py start:
HAProxy in front of the web nodes, PgBouncer, primary + replica) instead of a topology of its own;
see run_against_topology below.

It starts its OWN PostgreSQL (the system's initdb/pg_ctl, data in --pg-dir, port --pg-port) and
its OWN Redis (--redis-port), never the machine's shared ones; a fresh database per run, migrated
and seeded (bench/load/seed.py); then the app exactly as deployed: `uvicorn --workers N` with
successkid.settings.production (DEBUG off), a Celery worker and Celery beat, plus a stand-in for
the outside market APIs (bench/load/stub_outside.py). The load (bench/load/client.py) runs for
--duration seconds; the fault starts at 35 % of it and lasts --fault-seconds. Afterwards Celery
drains, the app stops and bench/load/check.py compares the database with what the client sent.
Everything lands in var/load/<fault>-<time>/ (summary.json, summary.md, journal, logs).

Fault "kill" (alone or with "+postgres"/"+redis"): --kills SIGKILLs at random instants of the load,
each on a randomly chosen process: a uvicorn worker (uvicorn's own supervisor starts a new one), the
Celery worker or Celery beat (the whole process group, restarted by the harness a second later, as
systemd or a container restart policy would). The outbox's lag (age of the oldest undelivered event)
is sampled every second; after the load the harness waits until the outbox has drained and reports
how long that took.

Ports and the data directory default from the environment (LOAD_PG_PORT, LOAD_PG_DIR,
LOAD_REDIS_PORT, LOAD_PORT, LOAD_STUB_PORT), so each engineer's runs use their own servers.

Runtime vs migration role: migrations, the seed and the checks use --owner-db-user (the
superuser by default: the checks must see every row); the app processes connect as --app-db-user
(`successkid_app`, password from LOAD_APP_DB_PASSWORD), so row-level security applies as in
production, after --setup-cmd (`create_db_roles`, run as the owner) has made that role.

Rate limits: the app's own throttles would answer 429 to a few hundred users sharing one IP, so
THROTTLE_* and the concurrency totals of heavy endpoints are raised for these runs
(bench/load/limits.py, also what `scripts/topology.py start --load-limits` gives the web nodes); nothing
else is tuned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
sys.path.insert(0, str(HERE))


import client as load_client  # noqa: E402
from limits import RAISED_LIMITS  # noqa: E402


def wait_port(port: int, timeout: float = 60) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def port_closed(port: int, timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            time.sleep(0.2)
        except OSError:
            return


def stop(proc: subprocess.Popen | None, sig=signal.SIGTERM, timeout=20) -> None:
    """Stop a process we started, and its children (uvicorn's and Celery's workers), by pid."""
    if proc is None or proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


class Postgres:
    """A private PostgreSQL cluster (system binaries; as the `postgres` user when we are root)."""

    def __init__(self, datadir: Path, port: int, log: Path):
        self.datadir, self.port, self.log = datadir, port, log
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args, check=True):
        return subprocess.run([*self.as_user, *args], check=check, capture_output=True, text=True)

    def init(self) -> None:
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.datadir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        self.log.touch()
        if self.as_user:
            shutil.chown(self.log, "postgres", "postgres")
        opts = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", opts, "-w", "start")

    def stop(self, mode="fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def url(self, user="postgres", password="", db="postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgres://{auth}@127.0.0.1:{self.port}/{db}"


def sql(url: str, statement: str) -> list:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else []


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return values[k]


async def machine_monitor(samples, pids_of, stop_at):
    """Load average and CPU use (machine-wide, and of the app's processes: uvicorn and Celery with
    their children, in % of one core) every 5 seconds."""
    tracked: dict[int, psutil.Process] = {}

    def app_cpu() -> float:
        for pid in pids_of():
            try:
                root = psutil.Process(pid)
                for pr in [root, *root.children(recursive=True)]:
                    if pr.pid not in tracked:
                        tracked[pr.pid] = pr
                        pr.cpu_percent(None)
            except (psutil.NoSuchProcess, ValueError):
                pass
        total = 0.0
        for pid, pr in list(tracked.items()):
            try:
                total += pr.cpu_percent(None)
            except psutil.NoSuchProcess:
                del tracked[pid]
        return total

    psutil.cpu_percent(None)
    app_cpu()
    while time.time() < stop_at:
        await asyncio.sleep(5)
        samples.append(
            {
                "t": time.time(),
                "load1": os.getloadavg()[0],
                "cpu_pct": psutil.cpu_percent(None),
                "app_cpu_pct": app_cpu(),
            }
        )


def summarise(j: load_client.Journal, duration: float, fault: dict, machine: list) -> dict:
    by_kind: dict[str, list] = {}
    for _t, kind, status, ms in j.samples:
        by_kind.setdefault(kind, []).append((status, ms))
    kinds = {}
    for kind, vals in sorted(by_kind.items()):
        lat = [ms for s, ms in vals if 200 <= s < 300]
        errs: dict[str, int] = {}
        for s, _ in vals:
            if not 200 <= s < 300:
                errs[str(s)] = errs.get(str(s), 0) + 1
        kinds[kind] = {
            "count": len(vals),
            "rps": round(len(vals) / duration, 2),
            "p50_ms": round(percentile(lat, 50), 1),
            "p95_ms": round(percentile(lat, 95), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max((ms for _, ms in vals), default=0), 1),
            "errors": errs,
        }
    all_lat = [ms for _t, _k, s, ms in j.samples if 200 <= s < 300]
    errors = sum(1 for _t, _k, s, _ in j.samples if not 200 <= s < 300)
    slow = sum(1 for *_x, ms in j.samples if ms > 10_000)
    # Real time: how many of the sockets saw each acknowledged post's post.created, and how late.
    lags, seen, expected = [], 0, 0
    fault_from, fault_to = fault.get("start", 1e20), fault.get("recovered", fault.get("end", 1e20))
    for pid, (_sent, acked) in j.post_ack_times.items():
        if fault_from - 2 <= acked <= fault_to + 10:
            continue  # during a fault (and just after) delivery is measured separately
        connected = sum(1 for a, b in j.ws_windows if a <= acked - 1 and (b is None or b >= acked + 5))
        got = j.ws_post_created.get(pid, [])
        expected += connected
        seen += min(len(got), connected)
        lags += [(t - acked) * 1000 for t in got]
    ws = {
        "connects": j.ws["connects"],
        "disconnects_and_failed_connects": j.ws["disconnects"],
        "error_frames": j.ws["errors"],
        "events": dict(j.ws["events"]),
        "events_total": sum(j.ws["events"].values()),
        "post_created_delivery_outside_fault": f"{seen}/{expected}",
        "post_created_lag_ms_p50": round(percentile(lags, 50), 1),
        "post_created_lag_ms_p95": round(percentile(lags, 95), 1),
    }
    loads = [m["load1"] for m in machine]
    out = {
        "duration_s": round(duration, 1),
        "requests": len(j.samples),
        "throughput_rps": round(len(j.samples) / duration, 1),
        "errors": errors,
        "requests_over_10s": slow,
        "latency_all_ok_ms": {
            "p50": round(percentile(all_lat, 50), 1),
            "p95": round(percentile(all_lat, 95), 1),
            "p99": round(percentile(all_lat, 99), 1),
        },
        "kinds": kinds,
        "ws": ws,
        "machine": {
            "load1_min": round(min(loads), 2) if loads else None,
            "load1_median": round(statistics.median(loads), 2) if loads else None,
            "load1_max": round(max(loads), 2) if loads else None,
            "cpu_pct_median": round(statistics.median([m["cpu_pct"] for m in machine]), 1) if machine else None,
            "app_cpu_pct_median": round(statistics.median([m["app_cpu_pct"] for m in machine]), 1) if machine else None,
        },
        "error_examples": getattr(j, "error_examples", [])[:15],
        # POSTs sent again with their Idempotency-Key after no answer or a 503, and answers replayed.
        "idempotent_retries": dict(getattr(j, "retries", {})),
        "idempotent_replays": dict(getattr(j, "replayed", {})),
    }
    if "start" in fault:
        out["fault"] = fault_figures(j, fault)
    if j.price_samples:
        out["price"] = price_figures(j, fault)
    return out


def fault_figures(j, fault) -> dict:
    start, end = fault["start"], fault["end"]
    during = [(t, s, ms) for t, _k, s, ms in j.samples if start <= t < end]
    errors_during = sum(1 for _t, s, _ in during if not 200 <= s < 300)
    statuses: dict[str, int] = {}
    for _t, s, _ in during:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    # Recovery: from the moment the dependency is back until the first second after which every
    # request succeeds (checked over the rest of the run, 1-second buckets).
    after = sorted((t, s) for t, _k, s, _ in j.samples if t >= end)
    last_error = max((t for t, s in after if not 200 <= s < 300), default=None)
    recovered_at = None
    if last_error is None:
        recovered_at = end
    else:
        later = [t for t, s in after if t > last_error and 200 <= s < 300]
        recovered_at = later[0] if later else None
    first_ws_after = None
    for pid, (_sent, acked) in sorted(j.post_ack_times.items(), key=lambda kv: kv[1][1]):
        if acked >= end and j.ws_post_created.get(pid):
            first_ws_after = min(j.ws_post_created[pid])
            break
    during_max = max((ms for _t, _s, ms in during), default=0)
    before = [ms for t, _k, s, ms in j.samples if t < start and 200 <= s < 300]
    during_ok = [ms for _t, s, ms in during if 200 <= s < 300]
    first_ws_event = next((sec for sec in sorted(j.timeline) if sec >= end and j.timeline[sec][2]), None)
    return {
        "kind": fault["kind"],
        "window_s": round(end - start, 1),
        "requests_during": len(during),
        "errors_during": errors_during,
        "statuses_during": statuses,
        "max_latency_during_ms": round(during_max, 1),
        "p50_ms_before": round(percentile(before, 50), 1),
        "p50_ms_during_ok": round(percentile(during_ok, 50), 1),
        "ws_first_event_s_after_restore": round(first_ws_event - end, 1) if first_ws_event else None,
        "errors_after_restore": sum(1 for _t, s in after if not 200 <= s < 300),
        "http_recovered_s_after_restore": round(recovered_at - end, 2) if recovered_at else None,
        "ws_first_post_created_s_after_restore": round(first_ws_after - end, 2) if first_ws_after else None,
        "ws_events_during": sum(j.timeline[s][2] for s in range(int(start), int(end))),
    }


def price_figures(j, fault) -> dict:
    start, end = fault.get("start", 1e20), fault.get("end", 1e20)
    out = {}
    for name, sel in (
        ("before", lambda t: t < start),
        ("during", lambda t: start <= t < end),
        ("after", lambda t: t >= end + 15),
    ):
        vals = [(s, stale) for t, s, stale in j.price_samples if sel(t)]
        out[name] = {
            "requests": len(vals),
            "ok": sum(1 for s, _ in vals if s == 200),
            "stale_true": sum(1 for s, st in vals if st is True),
        }
    return out


def markdown(name: str, s: dict, check: dict) -> str:
    lines = [f"### {name}", ""]
    m = s["machine"]
    lines.append(
        f"{s['duration_s']} s, {s['requests']} requests, **{s['throughput_rps']} req/s**, "
        f"**errors {s['errors']}**, requests over 10 s: {s['requests_over_10s']}. Load average "
        f"{m['load1_min']}–{m['load1_max']} (median {m['load1_median']}) on 2 cores; machine CPU median "
        f"{m['cpu_pct_median']} %, the server side (uvicorn, Celery, Redis, PostgreSQL) {m['app_cpu_pct_median']} % "
        "of one core (200 % = both cores)."
    )
    lines += [
        "",
        "| request | count | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, k in s["kinds"].items():
        errs = ", ".join(f"{c}×{n}" for c, n in k["errors"].items()) or "0"
        lines.append(
            f"| {kind} | {k['count']} | {k['rps']} | {k['p50_ms']} | {k['p95_ms']} | {k['p99_ms']} | {k['max_ms']} | {errs} |"
        )
    w = s["ws"]
    lines += [
        "",
        f"WebSocket: {w['connects']} connects, {w['events_total']} events received "
        f"({', '.join(f'{k} {v}' for k, v in sorted(w['events'].items()))}); `post.created` delivered "
        f"{w['post_created_delivery_outside_fault']} (socket × post, outside the fault window); arrival "
        f"relative to the POST's response p50 {w['post_created_lag_ms_p50']} ms, p95 "
        f"{w['post_created_lag_ms_p95']} ms (negative: the broadcast beat the HTTP response).",
    ]
    cpu = m["app_cpu_pct_median"]
    if cpu and s["requests"]:
        lines += [
            "",
            f"Server CPU per request: about {cpu / 100 * s['duration_s'] / s['requests'] * 1000:.0f} ms "
            "(median server-side CPU × duration ÷ requests).",
        ]
    if "fault" in s:
        f = s["fault"]
        lines += ["", "Fault: " + json.dumps(f)]
    if "kills" in s:
        k = s["kills"]
        lines += [
            "",
            f"Kills: {k['count']} SIGKILLs ({', '.join(f'{t} {n}' for t, n in sorted(k['by_target'].items()))}); "
            f"slowest replacement up after {k['restart_s_max']} s; not restarted: {len(k['unrestarted'])}.",
        ]
    if "outbox" in s:
        o = s["outbox"]
        lines += [
            "",
            f"Outbox: maximum lag {o['max_lag_s']} s (oldest undelivered event, sampled every second), "
            f"at most {o['max_pending']} pairs pending, {o['pending_at_load_end']} at the end of the load, "
            f"drained {o['drained_s_after_load']} s after it.",
        ]
    if "price" in s:
        lines += ["", "Price endpoint: " + json.dumps(s["price"])]
    if "celery_after_run" in s:
        lines += ["", "Celery after the run: " + json.dumps(s["celery_after_run"])]
    if s.get("idempotent_retries") or s.get("idempotent_replays"):
        lines += [
            "",
            "Creates retried with their Idempotency-Key: "
            + json.dumps(s.get("idempotent_retries", {}))
            + "; answers replayed (the first attempt had been stored): "
            + json.dumps(s.get("idempotent_replays", {})),
        ]
    lines += [
        "",
        "Exact checks: " + ("**all passed**" if check.get("ok") else f"**FAILED** ({check.get('failure_count')})"),
        "```",
        json.dumps({k: v for k, v in check.items() if k not in ("failures",)}, indent=1),
        "```",
    ]
    if check.get("failures"):
        lines += ["Failures:", "```", "\n".join(check["failures"][:20]), "```"]
    return "\n".join(lines)


def dependency_fault(fault_kind: str) -> str:
    """The dependency a fault takes down ("postgres" for "kill+postgres"), or "" for none."""
    return next((part for part in fault_kind.split("+") if part in ("redis", "postgres", "outside")), "")


async def run_faults(args, fault, pg: Postgres, procs: dict, redis_cmd, stub_cmd, t0):
    kind = dependency_fault(args.fault)
    if not kind:
        return
    await asyncio.sleep(args.duration * 0.35)
    fault["start"] = time.time()
    print(f"[fault] {kind} down at {fault['start'] - t0:.1f}s", flush=True)
    if kind == "redis":
        stop(procs["redis"], signal.SIGKILL)
    elif kind == "postgres":
        await asyncio.to_thread(pg.stop, "fast")
    elif kind == "outside":
        stop(procs["stub"], signal.SIGKILL)
    await asyncio.sleep(args.fault_seconds)
    if kind == "redis":
        procs["redis"] = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.to_thread(wait_port, args.redis_port)
    elif kind == "postgres":
        await asyncio.to_thread(pg.start)
    elif kind == "outside":
        procs["stub"] = subprocess.Popen(stub_cmd)
        await asyncio.to_thread(wait_port, args.stub_port)
    fault["end"] = time.time()
    print(f"[fault] {kind} back at {fault['end'] - t0:.1f}s", flush=True)


def uvicorn_workers(web: subprocess.Popen) -> list[psutil.Process]:
    """uvicorn's worker processes (children of its supervisor; not multiprocessing's helpers)."""
    try:
        children = psutil.Process(web.pid).children()
    except psutil.NoSuchProcess:
        return []
    out = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(child.cmdline()):
                out.append(child)
    return out


async def run_kills(args, procs: dict, starters: dict, kills: list, t0: float) -> None:
    """SIGKILL a random process (uvicorn worker, Celery worker, Celery beat) at --kills random
    instants of the load; the harness restarts Celery's after RESTART_DELAY, uvicorn restarts its
    own workers. Each kill is logged with how long the replacement took to come up."""
    if "kill" not in args.fault.split("+"):
        return
    rng = random.Random(args.kill_seed)
    instants = sorted(rng.uniform(5, args.duration - 5) for _ in range(args.kills))
    for at in instants:
        await asyncio.sleep(max(t0 + at - time.time(), 0))
        target = rng.choice(("web", "worker", "beat"))
        record = {"t": round(time.time() - t0, 1), "target": target}
        if target == "web":
            workers = uvicorn_workers(procs["web"])
            if not workers:
                record["skipped"] = "no uvicorn worker up"
                kills.append(record)
                continue
            victim = rng.choice(workers)
            record["pid"] = victim.pid
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
            killed_at = time.time()
            # uvicorn's supervisor notices the dead worker and starts a new one.
            while time.time() - killed_at < 30:
                alive = [w.pid for w in uvicorn_workers(procs["web"])]
                if victim.pid not in alive and len(alive) >= args.workers:
                    record["restarted_s"] = round(time.time() - killed_at, 2)
                    break
                await asyncio.sleep(0.2)
        else:
            record["pid"] = procs[target].pid
            # A supervisor kills the whole unit (the Celery worker's pool processes too) and restarts it.
            stop(procs[target], signal.SIGKILL)
            killed_at = time.time()
            await asyncio.sleep(RESTART_DELAY)
            procs[target] = starters[target]()
            record["restarted_s"] = round(time.time() - killed_at, 2)
        print(f"[kill] {record}", flush=True)
        kills.append(record)


RESTART_DELAY = 1.0  # seconds between a process's death and its restart (systemd's RestartSec=1)

OUTBOX_LAG_SQL = """
    SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(e.created_at)), 0), count(*)
    FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
    WHERE d.done_at IS NULL AND d.parked_at IS NULL
"""


def outbox_state(url: str) -> tuple[float, int] | None:
    """(age of the oldest undelivered event in seconds, pending pairs), None if unreachable."""
    try:
        lag, pending = sql(url, OUTBOX_LAG_SQL)[0]
        return float(lag), int(pending)
    except Exception:  # PostgreSQL may be down on purpose
        return None


async def outbox_monitor(url: str, samples: list, stop_at: float) -> None:
    while time.time() < stop_at:
        state = await asyncio.to_thread(outbox_state, url)
        if state is not None:
            samples.append((time.time(), *state))
        await asyncio.sleep(1)


def topology_tiers(state: dict) -> dict[str, list[int]]:
    """The processes of a scripts/topology.py topology, by tier."""
    data = Path(state["dir"])

    def postmaster(name: str) -> list[int]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return [int((data / name / "postmaster.pid").read_text().split()[0])]
        return []

    return {
        "web": [state[f"web{i + 1}_pid"] for i in range(len(state["web_nodes"]))],
        "celery": [state["worker_pid"], state["beat_pid"]],
        "primary": postmaster("primary"),
        "replica": postmaster("replica"),
        "pgbouncer": [state["pgbouncer_pid"]],
        "haproxy": [state["haproxy_pid"]],
        "redis": [state["redis_pid"]],
    }


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU of these processes, their live descendants and the children they reaped
    (PostgreSQL backends that ended) from /proc, via psutil."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = proc.cpu_times()
                    total += t.user + t.system
            t = root.cpu_times()
            total += t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def haproxy_command(state: dict, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(state["haproxy_socket"])
        s.sendall(command.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


def pgbouncer_xacts(state: dict) -> dict[str, int]:
    import psycopg

    with psycopg.connect(state["pgbouncer_admin_url"], autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        cur = conn.execute("SHOW STATS")
        names = [c.name for c in cur.description]
        return {
            row["database"]: int(row["total_xact_count"]) for row in (dict(zip(names, r, strict=True)) for r in cur)
        }


def run_against_topology(args) -> None:
    """The load through HAProxy of a running scripts/topology.py, measured per tier.

    --per-endpoint S: one phase of S seconds per request kind (only that kind, 8 workers, no
    sockets): server CPU per request of each tier (web nodes, primary, replica, PgBouncer, HAProxy,
    Redis, Celery) from /proc. Then, per --nodes value (HAProxy's other nodes disabled for the
    round), --rounds rounds of the mixed load (client.py's MIX and sockets), interleaved so that
    the other engineers' load on this machine hits every configuration alike: throughput, latency,
    CPU per request per tier, and the web tier's transactions on the replica vs the primary
    (PgBouncer SHOW STATS; Celery goes to the primary directly and is not in these counts).
    No exact checks (check.py needs a fresh database per run; the topology keeps its data)."""
    import httpx

    state = json.loads(Path(args.topology).read_text())
    seed = json.loads(Path(state["seed"]).read_text())
    tiers = topology_tiers(state)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = ROOT / "var" / "load" / f"topology-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    nodes_all = [f"web{i + 1}" for i in range(len(state["web_nodes"]))]
    base = state["haproxy"]
    results: dict = {"phases": [], "rounds": [], "load": vars(args).copy()}

    def use_nodes(n: int) -> None:
        for i, name in enumerate(nodes_all):
            haproxy_command(state, f"{'enable' if i < n else 'disable'} server web/{name}")
        time.sleep(1)

    def measure(label: str, duration: float, concurrency: int, sockets: int, think: float) -> dict:
        cpu0 = {tier: cpu_seconds(pids) for tier, pids in tiers.items()}
        x0, t0 = pgbouncer_xacts(state), time.time()
        journal = asyncio.run(
            load_client.run_load(
                base=base, seed=seed, duration=duration, concurrency=concurrency, sockets=sockets, think=think,
                run_id=f"{stamp.replace('-', '')}{label}",
            )
        )  # fmt: skip
        elapsed = time.time() - t0 - (5 if sockets else 0)
        time.sleep(1.5)  # PgBouncer folds its counters into SHOW STATS about once a second
        cpu1, x1 = {tier: cpu_seconds(pids) for tier, pids in tiers.items()}, pgbouncer_xacts(state)
        n = len(journal.samples)
        ok = [ms for _t, _k, st, ms in journal.samples if 200 <= st < 300]
        primary = x1.get("successkid", 0) - x0.get("successkid", 0)
        replica = x1.get(state["pgbouncer_replica_db"], 0) - x0.get(state["pgbouncer_replica_db"], 0)
        row = {
            "label": label,
            "requests": n,
            "errors": n - len(ok),
            "rps": round(n / elapsed, 1),
            "p50_ms": round(percentile(ok, 50), 1),
            "p95_ms": round(percentile(ok, 95), 1),
            "cpu_ms_per_request": {t: round((cpu1[t] - cpu0[t]) * 1000 / max(n, 1), 2) for t in tiers},
            "cpu_share_of_machine_pct": round(
                sum(cpu1[t] - cpu0[t] for t in tiers) / elapsed / os.cpu_count() * 100, 1
            ),
            "web_tier_xacts": {"primary": primary, "replica": replica},
            "replica_share_of_web_xacts": round(replica / max(primary + replica, 1), 3),
            "kinds": {k: len(v) for k, v in _by_kind(journal).items()},
            "error_statuses": dict(Counter(str(st) for _t, _k, st, _ms in journal.samples if not 200 <= st < 300)),
        }
        print(json.dumps(row), flush=True)
        return row

    for _ in range(60):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/health/ready", timeout=5).status_code == 200:
                break
        time.sleep(1)
    default_mix = dict(load_client.MIX)
    try:
        use_nodes(len(nodes_all))
        if args.per_endpoint:
            for kind in (
                "feed",
                "post_detail",
                "comments_list",
                "categories",
                "leaderboard",
                "vote",
                "comment",
                "post",
            ):
                load_client.MIX = {kind: 1}
                results["phases"].append(measure(kind, args.per_endpoint, 8, 0, 0.0))
            load_client.MIX = default_mix
        for _round in range(args.rounds):
            for n in args.nodes or [len(nodes_all)]:
                use_nodes(n)
                row = measure(f"{n}-node-r{_round + 1}", args.duration, args.concurrency, args.sockets, args.think)
                row["nodes"] = n
                results["rounds"].append(row)
    finally:
        load_client.MIX = default_mix
        use_nodes(len(nodes_all))
    (out / "summary.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults in {out / 'summary.json'}")


def _by_kind(journal) -> dict[str, list]:
    kinds: dict[str, list] = {}
    for _t, kind, status, ms in journal.samples:
        kinds.setdefault(kind, []).append((status, ms))
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--fault",
        choices=["none", "redis", "postgres", "outside", "kill", "kill+postgres", "kill+redis"],
        default="none",
    )
    ap.add_argument("--kills", type=int, default=24, help="SIGKILLs during the load (fault kill)")
    ap.add_argument("--kill-seed", type=int, default=None, help="seed of the kill instants and targets")
    ap.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for the outbox to drain")
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--fault-seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=3, help="uvicorn worker processes")
    ap.add_argument("--celery-concurrency", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=24, help="HTTP client workers (one request each at a time)")
    ap.add_argument("--sockets", type=int, default=60, help="WebSocket listeners")
    ap.add_argument("--think", type=float, default=0.1, help="mean pause between a worker's requests (s)")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--port", type=int, default=int(os.environ.get("LOAD_PORT", 8790)))
    ap.add_argument("--pg-port", type=int, default=int(os.environ.get("LOAD_PG_PORT", 55432)))
    ap.add_argument("--pg-dir", default=os.environ.get("LOAD_PG_DIR", "/tmp/sk-load-pg"))
    ap.add_argument("--redis-port", type=int, default=int(os.environ.get("LOAD_REDIS_PORT", 6390)))
    ap.add_argument("--stub-port", type=int, default=int(os.environ.get("LOAD_STUB_PORT", 8799)))
    ap.add_argument("--db-name", default="sk_loadrun")
    ap.add_argument("--owner-db-user", default="postgres")
    ap.add_argument(
        "--app-db-user",
        default="successkid_app",
        help="role the app processes connect as (row-level security applies; created by create_db_roles)",
    )
    ap.add_argument("--setup-cmd", default="create_db_roles", help="manage.py arguments run as the owner after migrate")
    ap.add_argument("--keep-servers", action="store_true", help="leave the private PostgreSQL/Redis running")
    ap.add_argument(
        "--topology",
        nargs="?",
        const=str(ROOT / "var" / "topology" / "state.json"),
        help="load a running scripts/topology.py through its HAProxy (its state.json) instead of starting servers",
    )
    ap.add_argument("--nodes", type=int, action="append", help="--topology: web nodes in rotation (repeatable)")
    ap.add_argument("--rounds", type=int, default=1, help="--topology: rounds of the --nodes configurations")
    ap.add_argument("--per-endpoint", type=float, default=0, help="--topology: seconds of load per request kind")
    args = ap.parse_args()
    if args.topology:
        run_against_topology(args)
        return

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = ROOT / "var" / "load" / f"{args.fault.replace('+', '-')}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    logs = {n: open(out / f"{n}.log", "w") for n in ("web", "worker", "beat", "stub", "setup")}  # noqa: SIM115

    pg = Postgres(Path(args.pg_dir), args.pg_port, Path(args.pg_dir + ".log"))
    pg.init()
    if not wait_port(args.pg_port, timeout=0.5):
        pg.start()
    redis_cmd = [
        "redis-server",
        "--port",
        str(args.redis_port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    procs: dict = {"redis": subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)}
    assert wait_port(args.redis_port), "redis did not start"

    owner_url = pg.url(args.owner_db_user, os.environ.get("LOAD_OWNER_DB_PASSWORD", ""), args.db_name)
    # A migrated template per set of migrations: later runs clone it instead of migrating again.
    import hashlib

    digest = hashlib.sha256()
    for f in sorted(ROOT.glob("apps/*/migrations/*.py")):
        digest.update(f.name.encode() + f.read_bytes())
    template = f"sk_load_tpl_{digest.hexdigest()[:12]}"
    sql(pg.url(), f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    if sql(pg.url(), f"SELECT 1 FROM pg_database WHERE datname = '{template}'"):
        sql(pg.url(), f'CREATE DATABASE "{args.db_name}" TEMPLATE "{template}" OWNER "{args.owner_db_user}"')
        template = ""
    else:
        sql(pg.url(), f'CREATE DATABASE "{args.db_name}" OWNER "{args.owner_db_user}"')
    subprocess.run(["redis-cli", "-p", str(args.redis_port), "FLUSHALL"], check=True, capture_output=True)

    mint = os.environ.get("TOKEN_MINT", "4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW")  # settings' default
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.production",
        "SECRET_KEY": "load-run-secret-key-not-for-production-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's job
        "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
        **RAISED_LIMITS,
        "JWT_ACCESS_MINUTES": "240",
        "LOG_LEVEL": "WARNING",
        "MARKET_POLL_SECONDS": "5",
        "DEXSCREENER_BASE_URL": f"http://127.0.0.1:{args.stub_port}",
        "COINGECKO_BASE_URL": f"http://127.0.0.1:{args.stub_port}/coingecko",
        "SOLSCAN_BASE_URL": f"http://127.0.0.1:{args.stub_port}/solscan",
        "SOLANA_RPC_URLS": f"http://127.0.0.1:{args.stub_port}/rpc",
        "MARKET_HTTP_TIMEOUT_SECONDS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(out / "prom"),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(out / "celerybeat-schedule"),
    }
    (out / "prom").mkdir(exist_ok=True)
    # Row-level security: the app processes connect as DATABASE_APP_USER (settings swap the user of
    # DATABASE_URL); migrations, the seed and the checks stay on the owner (DATABASE_AS_OWNER=1).
    role = {"DATABASE_APP_USER": args.app_db_user, "DATABASE_APP_PASSWORD": os.environ.get("LOAD_APP_DB_PASSWORD", "")}
    owner_env = {**base_env, "DATABASE_URL": owner_url, **(role if args.app_db_user else {}), "DATABASE_AS_OWNER": "1"}
    app_env = {**base_env, "DATABASE_URL": owner_url, **(role if args.app_db_user else {})}

    def manage(*cmd, env=owner_env):
        subprocess.run(
            [PY, "manage.py", *cmd], cwd=ROOT, env=env, check=True, stdout=logs["setup"], stderr=logs["setup"]
        )

    t_setup = time.time()
    manage("migrate", "--noinput", "-v", "0")
    if template:  # first run with these migrations: keep a copy
        sql(pg.url(), f'CREATE DATABASE "{template}" TEMPLATE "{args.db_name}"')
    if args.setup_cmd:
        manage(*shlex.split(args.setup_cmd))
    subprocess.run(
        [PY, str(HERE / "seed.py"), "--users", str(args.users), "--out", str(out / "seed.json")],
        cwd=ROOT,
        env=owner_env,
        check=True,
    )
    seed = json.loads((out / "seed.json").read_text())
    print(f"[setup] migrated and seeded in {time.time() - t_setup:.0f}s", flush=True)

    stub_cmd = [PY, str(HERE / "stub_outside.py"), "--port", str(args.stub_port), "--mint", mint]
    procs["stub"] = subprocess.Popen(stub_cmd, stdout=logs["stub"], stderr=logs["stub"])
    procs["web"] = subprocess.Popen(
        [
            PY, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(args.port),
            "--workers", str(args.workers), "--ws", "websockets-sansio", "--no-access-log", "--timeout-graceful-shutdown", "5",
        ],
        cwd=ROOT, env=app_env, stdout=logs["web"], stderr=logs["web"],
    )  # fmt: skip

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(
            [PY, "-m", "celery", "-A", "successkid", "worker", "-l", "WARNING", "--concurrency", str(args.celery_concurrency)],
            cwd=ROOT, env=app_env, stdout=logs["worker"], stderr=logs["worker"],
        )  # fmt: skip

    def start_beat() -> subprocess.Popen:
        return subprocess.Popen(
            [PY, "-m", "celery", "-A", "successkid", "beat", "-l", "WARNING", "-s", str(out / "celerybeat-schedule")],
            cwd=ROOT, env=app_env, stdout=logs["beat"], stderr=logs["beat"],
        )  # fmt: skip

    starters = {"worker": start_worker, "beat": start_beat}
    procs["worker"] = start_worker()
    procs["beat"] = start_beat()
    try:
        import httpx

        assert wait_port(args.port, 90), "uvicorn did not start"
        for _ in range(60):
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/api/health/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        time.sleep(3)  # every worker up
        fault: dict = {"kind": args.fault}

        def app_pids() -> list[int]:
            """uvicorn, Celery, Redis and our PostgreSQL (the whole server side of the run)."""
            pids = [procs[n].pid for n in ("web", "worker", "beat", "redis") if procs[n].poll() is None]
            with contextlib.suppress(OSError, ValueError, IndexError):
                pids.append(int((Path(args.pg_dir) / "postmaster.pid").read_text().split()[0]))
            return pids

        machine: list = []
        kills: list = []
        lag_samples: list = []
        t0 = time.time()

        async def go():
            mon = asyncio.create_task(machine_monitor(machine, app_pids, t0 + args.duration))
            faults = asyncio.create_task(run_faults(args, fault, pg, procs, redis_cmd, stub_cmd + [], t0))
            killer = asyncio.create_task(run_kills(args, procs, starters, kills, t0))
            lags = asyncio.create_task(outbox_monitor(owner_url, lag_samples, t0 + args.duration + 5))
            journal = await load_client.run_load(
                base=f"http://127.0.0.1:{args.port}",
                seed=seed,
                duration=args.duration,
                concurrency=args.concurrency,
                sockets=args.sockets,
                think=args.think,
                run_id=stamp.replace("-", ""),
            )
            await faults
            await killer
            await mon
            await lags
            return journal

        journal = asyncio.run(go())
        load_end = time.time()
        duration = load_end - t0 - 5  # the sockets listen 5 s past the HTTP load
        # The outbox drains: every (event, receiver) pair done (or parked, which the checks fail).
        drained_s = None
        while time.time() - load_end < args.drain_timeout:
            state = outbox_state(owner_url)
            if state is not None:
                lag_samples.append((time.time(), *state))
                if state[1] == 0:
                    drained_s = round(time.time() - load_end, 1)
                    break
            time.sleep(0.5)
        outbox_figures = {
            "max_lag_s": round(max((lag for _t, lag, _n in lag_samples), default=0.0), 1),
            "max_pending": max((n for _t, _l, n in lag_samples), default=0),
            "pending_at_load_end": next((n for t, _l, n in reversed(lag_samples) if t <= load_end), None),
            "drained_s_after_load": drained_s,
            "samples": len(lag_samples),
        }
        print(f"[outbox] {outbox_figures}", flush=True)
        # Is the Celery worker still alive and working after the fault? One task, round trip.
        t_echo = time.time()
        r = subprocess.run(
            [PY, "-c", "from successkid.celery import app; print(app.send_task('core.echo', args=['ok']).get(timeout=60))"],
            cwd=ROOT, env=app_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        celery_after = {
            "worker_process_alive": procs["worker"].poll() is None,
            "beat_process_alive": procs["beat"].poll() is None,
            "echo_task_ok": r.stdout.strip().endswith("ok"),
            "echo_task_s": round(time.time() - t_echo, 2),
        }
        # Let Celery finish what the load enqueued before the checks.
        for _ in range(120):
            depth = 0
            for queue in ("celery", "interactive", "outside", "media", "batch"):
                r = subprocess.run(
                    ["redis-cli", "-p", str(args.redis_port), "LLEN", queue], capture_output=True, text=True
                )
                depth += int(r.stdout.strip() or 0)
            if depth == 0 or procs["worker"].poll() is not None:  # drained, or no worker left to drain it
                break
            time.sleep(1)
        time.sleep(3)
    finally:
        for name in ("web", "worker", "beat", "stub"):
            stop(procs.get(name))

    (out / "journal.json").write_text(
        json.dumps(
            {
                "run_id": journal.run_id,
                "posts": journal.posts,
                "comments": journal.comments,
                "votes": journal.votes,
            }
        )
    )
    summary = summarise(journal, duration, fault, machine)
    summary["config"] = {k: v for k, v in vars(args).items()}
    summary["celery_after_run"] = celery_after
    summary["outbox"] = outbox_figures
    if kills:
        summary["kills"] = {
            "count": sum(1 for k in kills if "pid" in k),
            "by_target": dict(Counter(k["target"] for k in kills if "pid" in k)),
            "restart_s_max": max((k.get("restarted_s", 0) for k in kills), default=0),
            "unrestarted": [k for k in kills if "pid" in k and "restarted_s" not in k],
            "log": kills,
        }
    r = subprocess.run(
        [PY, str(HERE / "check.py"), "--journal", str(out / "journal.json"), "--seed", str(out / "seed.json")],
        cwd=ROOT, env=owner_env, capture_output=True, text=True,
    )  # fmt: skip
    try:
        check = json.loads(r.stdout)
    except ValueError:
        check = {"ok": False, "failure_count": 1, "failures": [r.stdout[-2000:] + r.stderr[-3000:]]}
    summary["check"] = check
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    md = markdown(f"{args.fault} ({stamp})", summary, check)
    (out / "summary.md").write_text(md)
    print(md)
    print(f"\nresults in {out}")
    if not args.keep_servers:
        stop(procs.get("redis"))
        pg.stop()
    sys.exit(0 if check.get("ok") and (summary["errors"] == 0 or args.fault != "none") else 1)


if __name__ == "__main__":
    main()
