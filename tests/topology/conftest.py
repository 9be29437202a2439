"""The scale-out topology (scripts/topology.py) as the tests see it: its state file, and the servers
behind the load balancer to ask what ran where.

These tests run only against a started topology. `.ci/run` starts it and sets TOPOLOGY=1: then a
topology that is not there or does not answer FAILS the module. Without TOPOLOGY=1 and with no
topology running (a plain `make test`), the module is skipped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("TOPOLOGY_STATE", ROOT / "var" / "topology" / "state.json"))


def _required() -> bool:
    return os.environ.get("TOPOLOGY", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def topo() -> dict:
    if not STATE.exists():
        if _required():
            pytest.fail(f"TOPOLOGY=1 but no topology is running ({STATE} is missing): scripts/topology.py start")
        pytest.skip("the scale-out topology is not running (.venv/bin/python scripts/topology.py start)")
    state = json.loads(STATE.read_text())
    try:
        ready = httpx.get(f"{state['haproxy']}/api/health/ready", timeout=10).status_code
    except httpx.HTTPError as exc:
        ready = repr(exc)
    if ready != 200:
        message = f"the topology in {STATE} does not answer through HAProxy ({ready})"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    _forget_limits(state)
    state["seed_data"] = json.loads(Path(state["seed"]).read_text())
    return state


def _forget_limits(state: dict) -> None:
    """Every run starts from no rate-limit counters (a previous run's 404s and wrong passwords would
    count against this one: the limiter's windows outlive a test run)."""
    import redis

    client = redis.Redis.from_url(state["redis_url"])
    for key in client.scan_iter("*lim:*"):
        client.delete(key)


@pytest.fixture(scope="session")
def users(topo) -> list[dict]:
    """Seeded users (bench/load/seed.py: verified, joined 10 days ago) with access tokens."""
    return topo["seed_data"]["users"]


def bearer(user: dict | None) -> dict:
    return {"Authorization": f"Bearer {user['token']}"} if user else {}


def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def pgbouncer(topo: dict, command: str) -> list[dict]:
    """A PgBouncer admin console command (SHOW STATS, SHOW SERVERS), as rows of dicts. The console
    speaks the simple query protocol only: psycopg's client-side-binding cursor uses it."""
    with psycopg.connect(topo["pgbouncer_admin_url"], autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        cur = conn.execute(command)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def statement_calls(url: str, table: str, verb: str = "SELECT") -> int:
    """How many statements of this kind on this table the server has run (pg_stat_statements, per
    server: the replica's counts are the replica's own)."""
    rows = sql(
        url,
        "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE query ILIKE %s AND query ILIKE %s",
        (f"{verb} %", f'%"{table}"%'),
    )
    return int(rows[0][0])


def wait_replayed(topo: dict, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    (position,) = sql(topo["primary_url"], "SELECT pg_current_wal_lsn()::text")[0]
    end = time.time() + timeout
    while time.time() < end:
        if sql(topo["replica_url"], "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))[0][0]:
            return
        time.sleep(0.2)
    raise AssertionError(f"the replica did not replay up to {position} within {timeout} s")


def set_replica_delay(topo: dict, delay: str) -> None:
    subprocess.run(
        [sys.executable, "scripts/topology.py", "replica-delay", delay, "--dir", topo["dir"]],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip


def haproxy_sessions(topo: dict) -> dict[str, int]:
    """Requests each web node got from HAProxy (`show stat`, column stot), and whether it is UP."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(topo["haproxy_socket"])
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    out = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == "web" and row.get("svname", "").startswith("web"):
            out[row["svname"]] = (int(row["stot"]), row["status"])
    return out
