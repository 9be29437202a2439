#!/usr/bin/env python
"""The scale-out topology on one machine, without containers (README "Scale-out topology").

    python scripts/topology.py start [--replica-delay 0] [--web-nodes 2] [--base-port 18600]
    python scripts/topology.py status
    python scripts/topology.py stop [--clean]      # --clean also deletes var/topology/

`start` brings up, each on its own port (base port + offset) with its data and logs in var/topology/:

    +0  (none)        reserved
    +1  PostgreSQL primary         initdb, owner `postgres`, database `successkid`
    +2  PostgreSQL replica         pg_basebackup -R from the primary, streaming, replication slot
    +3  PgBouncer (transaction)    databases `successkid` (primary) and `successkid_replica`
    +4  Redis                      channel layer, cache, limiter, Celery broker
    +10 HAProxy                    HTTP and /ws/ on one address, round robin, no sticky sessions
    +11, +12 ...  web nodes        uvicorn (successkid.asgi), through PgBouncer as the app role
          Celery worker and beat  straight to the primary (the market poll holds a session lock)

Migrations run as the owner on the primary, then `create_db_roles`, then the load seed
(bench/load/seed.py: reference data, users with access tokens, posts) on a new database. The web
nodes connect as DATABASE_APP_USER through PgBouncer, so row-level security applies on the replica
too. What it needs from Debian (postgresql, pgbouncer, haproxy, redis-server) is installed with
apt-get when missing. `start` on a running topology starts what is down; `status` says what is up.
The addresses and the environment of every process are written to var/topology/state.json
(tests/topology and bench/load/run.py --topology read it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "successkid"
APP_ROLE = "successkid_app"
SLOT = "topology_replica"
OFFSETS = {"primary": 1, "replica": 2, "pgbouncer": 3, "redis": 4, "haproxy": 10, "web": 11}
# One post only holders may read (tests/topology: the access rules hold on the replica too). Made
# directly: the seeded authors hold no tokens, so the forum's service would refuse them.
HOLDERS_ONLY_POST = """
from apps.accounts.models import User
from apps.forum.models import Category, Post
Post.objects.create(
    author=User.objects.get(username="seed000"), category=Category.objects.get(slug="holders-lounge"),
    title="Holders only", slug="holders-only", body="For holders.", body_html="<p>For holders.</p>",
    excerpt="For holders.",
)
"""
DEBIAN_PACKAGES = {"pgbouncer": "pgbouncer", "haproxy": "haproxy", "redis-server": "redis-server"}


def pg_bindir() -> Path:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return Path(configured)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        install("postgresql")
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return versions[-1]


def install(*packages: str) -> None:
    print(f"installing {' '.join(packages)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


def which(program: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if not found:
        install(DEBIAN_PACKAGES[program])
        found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if not found:
        raise SystemExit(f"{program} is not installed and apt-get did not provide it")
    return found


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_port(port: int, what: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if port_open(port):
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s (logs in var/topology/logs)")


def read_pidfile(path: Path, timeout: float = 10) -> int:
    """A daemon's pid file (it may be written a moment after the daemon listens)."""
    end = time.time() + timeout
    while time.time() < end:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int(path.read_text().split()[0])
        time.sleep(0.1)
    raise SystemExit(f"no pid in {path} after {timeout:.0f} s")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


class Topology:
    def __init__(self, directory: Path, base_port: int, web_nodes: int = 2):
        self.dir = directory
        self.base = base_port
        self.web_nodes = web_nodes
        self.logs = directory / "logs"
        self.run = directory / "run"
        self.state_file = directory / "state.json"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    # ports and addresses
    def port(self, name: str, index: int = 0) -> int:
        return self.base + OFFSETS[name] + index

    def web_ports(self) -> list[int]:
        return [self.port("web", i) for i in range(self.web_nodes)]

    def url(self, name: str, db: str = DB_NAME, user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port(name)}/{db}"

    # environment of the processes
    def secret_key(self) -> str:
        path = self.dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def common_env(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "successkid.settings.production",
            "SECRET_KEY": self.secret_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS belongs to the load balancer
            "DATABASE_APP_USER": APP_ROLE,
            "REDIS_URL": f"redis://127.0.0.1:{self.port('redis')}/0",
            "TRUSTED_PROXIES": "1",  # HAProxy adds X-Forwarded-For
            # The seeded access tokens (bench/load/seed.py) must outlive a test or load run.
            "JWT_ACCESS_MINUTES": "240",
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "consolemail://",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.dir / "celerybeat-schedule"),
        }

    def web_env(self) -> dict[str, str]:
        """The web tier: primary and replica through PgBouncer (transaction mode), small pools."""
        return {
            **self.common_env(),
            **self.load_limits(),
            "DATABASE_URL": self.url("pgbouncer"),
            "DATABASE_REPLICA_URLS": self.url("pgbouncer", db=f"{DB_NAME}_replica"),
            "DB_PGBOUNCER": "true",
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": "4",
            "DB_POOL_TIMEOUT": "5",
            # Tolerate a replica delayed on purpose (--replica-delay, tests/topology) before
            # sending its reads to the primary.
            "DATABASE_REPLICA_MAX_LAG_SECONDS": "30",
        }

    def load_limits(self) -> dict[str, str]:
        """With --load-limits (kept for later starts): the raised throttles of the load runs."""
        if not (self.dir / "load-limits").exists():
            return {}
        sys.path.insert(0, str(ROOT / "bench" / "load"))
        from limits import RAISED_LIMITS

        return dict(RAISED_LIMITS)

    def worker_env(self) -> dict[str, str]:
        """Celery: the primary, directly (the market poll's guard is a session advisory lock)."""
        return {**self.common_env(), "DATABASE_URL": self.url("primary")}

    def owner_env(self) -> dict[str, str]:
        return {**self.worker_env(), "DATABASE_AS_OWNER": "1"}

    # helpers
    def as_pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_postgres, *args], check=check, capture_output=True, text=True)

    def psql(self, port: int, sql: str, db: str = "postgres") -> str:
        out = self.as_pg(
            str(pg_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
            "-XAtq", "-c", sql,
        )  # fmt: skip
        return out.stdout.strip()

    def chown(self, path: Path) -> None:
        if self.as_postgres:
            shutil.chown(path, "postgres", "postgres")

    def log(self, name: str):
        return open(self.logs / f"{name}.log", "a")

    def load_state(self) -> dict:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return json.loads(self.state_file.read_text())
        return {}

    def save_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> int:
        """A process of ours in its own session (so `stop` can end it and its children by its id)."""
        log = self.log(name)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        return proc.pid

    def running(self, state: dict, key: str, port: int, pidfile: Path) -> bool:
        """Is this daemon up already (known from the state, or from its pid file after a start that
        failed before writing the state)? Then it is kept."""
        if not pid_alive(state.get(key)):
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                state[key] = int(pidfile.read_text().split()[0])
        return pid_alive(state.get(key)) and port_open(port)

    # PostgreSQL
    def pg_running(self, name: str) -> bool:
        return (
            self.as_pg(str(pg_bindir() / "pg_ctl"), "-D", str(self.dir / name), "status", check=False).returncode == 0
        )

    def pg_start(self, name: str) -> None:
        if self.pg_running(name):
            return
        opts = f"-p {self.port(name)} -k {self.run} -c listen_addresses=127.0.0.1"
        log = self.logs / f"{name}.log"
        log.touch()
        self.chown(log)
        self.as_pg(str(pg_bindir() / "pg_ctl"), "-D", str(self.dir / name), "-l", str(log), "-o", opts, "-w", "start")

    def start_primary(self) -> bool:
        """Returns True when the database is new (it then gets the seed)."""
        data = self.dir / "primary"
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True)
            self.chown(data)
            self.as_pg(str(pg_bindir() / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
            with open(data / "postgresql.conf", "a") as conf:
                # Streaming replication (pg_hba's default `host replication all 127.0.0.1/32 trust`).
                conf.write(
                    "\n# scripts/topology.py\nwal_level = replica\nmax_wal_senders = 5\nmax_replication_slots = 5\n"
                    "hot_standby = on\nhot_standby_feedback = on\nmax_connections = 200\nfsync = on\n"
                    # Which statements ran on which server (tests/topology reads it on the replica).
                    "shared_preload_libraries = 'pg_stat_statements'\n"
                )
        self.pg_start("primary")
        if self.psql(self.port("primary"), f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") != "1":
            self.psql(self.port("primary"), f'CREATE DATABASE "{DB_NAME}"')
            self.psql(self.port("primary"), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=DB_NAME)
            return True
        return False

    def start_replica(self, delay: str) -> None:
        data = self.dir / "replica"
        if not (data / "PG_VERSION").exists():
            primary = self.port("primary")
            if self.psql(primary, f"SELECT 1 FROM pg_replication_slots WHERE slot_name = '{SLOT}'") != "1":
                self.psql(primary, f"SELECT pg_create_physical_replication_slot('{SLOT}')")
            shutil.rmtree(data, ignore_errors=True)  # what an interrupted base backup left
            data.mkdir(parents=True)
            self.chown(data)
            data.chmod(0o700)
            self.as_pg(
                str(pg_bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary), "-U", "postgres",
                "-D", str(data), "-R", "-X", "stream", "-S", SLOT, "--checkpoint", "fast",
            )  # fmt: skip
        self.set_replica_delay(delay, reload=False)
        self.pg_start("replica")

    def set_replica_delay(self, delay: str, reload: bool = True) -> None:
        """recovery_min_apply_delay on the replica (e.g. "5s"; "0" for none): tests of replica lag."""
        conf = self.dir / "replica" / "postgresql.auto.conf"
        lines = [ln for ln in conf.read_text().splitlines() if not ln.startswith("recovery_min_apply_delay")]
        lines.append(f"recovery_min_apply_delay = '{delay}'")
        conf.write_text("\n".join(lines) + "\n")
        if reload:
            self.as_pg(str(pg_bindir() / "pg_ctl"), "-D", str(self.dir / "replica"), "reload")

    # database set-up, as the owner on the primary
    def migrate_and_seed(self, new_database: bool) -> None:
        env = {**os.environ, **self.owner_env()}
        with self.log("setup") as log:
            for cmd in (["migrate", "--noinput", "-v", "0"], ["create_db_roles"]):
                subprocess.run([PY, "manage.py", *cmd], cwd=ROOT, env=env, check=True, stdout=log, stderr=log)
            if new_database or not (self.dir / "seed.json").exists():
                seed = [PY, "bench/load/seed.py", "--users", "40", "--out", str(self.dir / "seed.json")]
                subprocess.run(seed, cwd=ROOT, env=env, check=True, stdout=log, stderr=log)
                hidden = [PY, "manage.py", "shell", "-c", HOLDERS_ONLY_POST]
                subprocess.run(hidden, cwd=ROOT, env=env, check=True, stdout=log, stderr=log)

    # PgBouncer
    def start_pgbouncer(self, state: dict) -> None:
        if self.running(state, "pgbouncer_pid", self.port("pgbouncer"), self.run / "pgbouncer.pid"):
            return
        ini = self.dir / "pgbouncer.ini"
        userlist = self.dir / "pgbouncer-users.txt"
        userlist.write_text(f'"postgres" ""\n"{APP_ROLE}" ""\n')
        ini.write_text(
            f"""[databases]
{DB_NAME} = host=127.0.0.1 port={self.port("primary")} dbname={DB_NAME}
{DB_NAME}_replica = host=127.0.0.1 port={self.port("replica")} dbname={DB_NAME}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port("pgbouncer")}
unix_socket_dir = {self.run}
auth_type = trust
auth_file = {userlist}
admin_users = postgres
stats_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = {self.logs / "pgbouncer.log"}
pidfile = {self.run / "pgbouncer.pid"}
"""
        )
        for path in (ini, userlist):
            self.chown(path)
        (self.logs / "pgbouncer.log").touch()
        self.chown(self.logs / "pgbouncer.log")
        self.as_pg(which("pgbouncer"), "-d", str(ini))
        wait_port(self.port("pgbouncer"), "PgBouncer")
        state["pgbouncer_pid"] = read_pidfile(self.run / "pgbouncer.pid")

    # Redis
    def start_redis(self, state: dict) -> None:
        if self.running(state, "redis_pid", self.port("redis"), self.run / "redis.pid"):
            return
        pidfile = self.run / "redis.pid"
        subprocess.run(
            [which("redis-server"), "--port", str(self.port("redis")), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(pidfile),
             "--logfile", str(self.logs / "redis.log"), "--dir", str(self.run)],
            check=True,
        )  # fmt: skip
        wait_port(self.port("redis"), "Redis")
        state["redis_pid"] = read_pidfile(pidfile)

    # the app
    def start_app(self, state: dict, web_workers: int) -> None:
        for i, port in enumerate(self.web_ports()):
            key = f"web{i + 1}_pid"
            if pid_alive(state.get(key)) and port_open(port):
                continue
            state[key] = self.spawn(
                f"web{i + 1}",
                [PY, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(web_workers), "--ws", "websockets-sansio", "--lifespan", "on", "--no-access-log",
                 "--timeout-graceful-shutdown", "5"],
                self.web_env(),
            )  # fmt: skip
        if not pid_alive(state.get("worker_pid")):
            state["worker_pid"] = self.spawn(
                "worker", [PY, "-m", "celery", "-A", "successkid", "worker", "-l", "WARNING", "--concurrency", "2"],
                self.worker_env(),
            )  # fmt: skip
        if not pid_alive(state.get("beat_pid")):
            state["beat_pid"] = self.spawn(
                "beat",
                [PY, "-m", "celery", "-A", "successkid", "beat", "-l", "WARNING", "-s", str(self.dir / "celerybeat-schedule")],
                self.worker_env(),
            )  # fmt: skip
        for i, port in enumerate(self.web_ports()):
            wait_port(port, f"web node {i + 1}", timeout=120)

    # HAProxy
    def start_haproxy(self, state: dict) -> None:
        if self.running(state, "haproxy_pid", self.port("haproxy"), self.run / "haproxy.pid"):
            return
        servers = "\n".join(
            f"    server web{i + 1} 127.0.0.1:{port} check inter 2s fall 2 rise 1"
            for i, port in enumerate(self.web_ports())
        )
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(
            f"""global
    maxconn 4000
    stats socket {self.run / "haproxy.sock"} mode 600 level admin
    log stdout format raw local0 warning

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option forwardfor
    option http-server-close

# HTTP and /ws/ on one address; round robin, no sticky sessions.
frontend successkid
    bind 127.0.0.1:{self.port("haproxy")}
    default_backend web

backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /api/health/ready ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
{servers}
"""
        )
        pidfile = self.run / "haproxy.pid"
        subprocess.run([which("haproxy"), "-c", "-q", "-f", str(cfg)], check=True)
        with self.log("haproxy") as log:
            subprocess.run(
                [which("haproxy"), "-D", "-f", str(cfg), "-p", str(pidfile)], check=True, stdout=log, stderr=log
            )
        wait_port(self.port("haproxy"), "HAProxy")
        state["haproxy_pid"] = read_pidfile(pidfile)

    def wait_ready(self, timeout: float = 90) -> None:
        """Every web node answers readiness, and so does HAProxy (which then has them in rotation)."""
        import httpx

        end = time.time() + timeout
        pending = [*self.web_ports(), self.port("haproxy")]
        while pending and time.time() < end:
            port = pending[0]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/api/health/ready", timeout=5).status_code == 200:
                    pending.pop(0)
                    continue
            time.sleep(0.5)
        if pending:
            raise SystemExit(f"not ready within {timeout:.0f} s on ports {pending} (logs in {self.logs})")
        time.sleep(4)  # two HAProxy health checks: both nodes in rotation

    def start(self, delay: str, web_workers: int) -> dict:
        for path in (self.dir, self.logs, self.run):
            path.mkdir(parents=True, exist_ok=True)
            self.chown(path)
        which("pgbouncer"), which("haproxy"), which("redis-server")
        state = self.load_state()
        new_database = self.start_primary()
        self.start_redis(state)
        self.save_state(state)  # from here on `stop` finds what is running, even if a later step fails
        self.migrate_and_seed(new_database)
        self.start_replica(delay)
        self.start_pgbouncer(state)
        self.save_state(state)
        self.start_app(state, web_workers)
        self.save_state(state)
        self.start_haproxy(state)
        state.update(self.describe())
        self.save_state(state)
        self.wait_ready()
        return state

    def describe(self) -> dict:
        return {
            "base_port": self.base,
            "haproxy": f"http://127.0.0.1:{self.port('haproxy')}",
            "web_nodes": [f"http://127.0.0.1:{p}" for p in self.web_ports()],
            "primary_url": self.url("primary"),
            "replica_url": self.url("replica"),
            "pgbouncer_url": self.url("pgbouncer"),
            "pgbouncer_admin_url": self.url("pgbouncer", db="pgbouncer"),
            "pgbouncer_replica_db": f"{DB_NAME}_replica",
            "haproxy_socket": str(self.run / "haproxy.sock"),
            "redis_url": f"redis://127.0.0.1:{self.port('redis')}/0",
            "app_role": APP_ROLE,
            "seed": str(self.dir / "seed.json"),
            "dir": str(self.dir),
            "web_env": self.web_env(),
            "owner_env": self.owner_env(),
        }

    def status(self) -> list[tuple[str, str, bool]]:
        state = self.load_state()
        rows = [
            ("PostgreSQL primary", f"127.0.0.1:{self.port('primary')}", self.pg_running("primary")),
            ("PostgreSQL replica", f"127.0.0.1:{self.port('replica')}", self.pg_running("replica")),
            ("PgBouncer", f"127.0.0.1:{self.port('pgbouncer')}", pid_alive(state.get("pgbouncer_pid"))),
            ("Redis", f"127.0.0.1:{self.port('redis')}", pid_alive(state.get("redis_pid"))),
        ]
        for i, port in enumerate(self.web_ports()):
            rows.append((f"web node {i + 1}", f"http://127.0.0.1:{port}", pid_alive(state.get(f"web{i + 1}_pid"))))
        rows += [
            ("Celery worker", "-", pid_alive(state.get("worker_pid"))),
            ("Celery beat", "-", pid_alive(state.get("beat_pid"))),
            ("HAProxy (HTTP + /ws/)", f"http://127.0.0.1:{self.port('haproxy')}", pid_alive(state.get("haproxy_pid"))),
        ]
        return rows

    def stop(self) -> None:
        state = self.load_state()
        keys = ["haproxy_pid", *[f"web{i + 1}_pid" for i in range(8)], "beat_pid", "worker_pid"]
        keys += ["pgbouncer_pid", "redis_pid"]
        for key in keys:
            pid = state.get(key)
            if not pid_alive(pid):
                continue
            # Our own processes, by id: the web nodes, worker and beat lead their own session
            # (their children with them); the daemons' ids come from their pid files.
            group = key in {"beat_pid", "worker_pid"} or key.startswith("web")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM) if group else os.kill(pid, signal.SIGTERM)
            end = time.time() + 20
            while pid_alive(pid) and time.time() < end:
                time.sleep(0.2)
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
        for name in ("replica", "primary"):
            if (self.dir / name / "PG_VERSION").exists():
                self.as_pg(
                    str(pg_bindir() / "pg_ctl"), "-D", str(self.dir / name), "-m", "fast", "-w", "stop", check=False
                )
        for path in [self.state_file, *self.run.glob("*.pid")]:
            path.unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["start", "stop", "status", "replica-delay"])
    ap.add_argument("value", nargs="?", help="replica-delay: e.g. 5s, or 0")
    ap.add_argument("--dir", default=os.environ.get("TOPOLOGY_DIR", str(ROOT / "var" / "topology")))
    ap.add_argument("--base-port", type=int, default=int(os.environ.get("TOPOLOGY_BASE_PORT", "18600")))
    ap.add_argument("--web-nodes", type=int, default=int(os.environ.get("TOPOLOGY_WEB_NODES", "2")))
    ap.add_argument("--web-workers", type=int, default=1, help="uvicorn worker processes per web node")
    ap.add_argument("--replica-delay", default="0", help="recovery_min_apply_delay on the replica, e.g. 2s")
    ap.add_argument(
        "--load-limits", action="store_true", help="start: the web nodes get the load runs' raised rate limits"
    )
    ap.add_argument("--normal-limits", action="store_true", help="start: back to the app's own rate limits")
    ap.add_argument("--clean", action="store_true", help="stop: also delete the data directory")
    args = ap.parse_args()
    topo = Topology(Path(args.dir).resolve(), args.base_port, args.web_nodes)

    if args.command == "start":
        topo.dir.mkdir(parents=True, exist_ok=True)
        limits_flag = topo.dir / "load-limits"
        if args.load_limits:
            limits_flag.touch()
        elif args.normal_limits:
            limits_flag.unlink(missing_ok=True)
        try:
            state = topo.start(args.replica_delay, args.web_workers)
        except (subprocess.CalledProcessError, SystemExit) as exc:
            detail = getattr(exc, "stderr", None) or ""
            print(
                f"topology did not start: {exc} {detail}\nlogs: {topo.logs}\n"
                "what did start is still running (to look at it): scripts/topology.py stop ends it",
                file=sys.stderr,
            )
            return 1
        width = max(len(name) for name, _, _ in topo.status())
        print("\n  Success Kid scale-out topology is up:")
        for name, where, _ in topo.status():
            print(f"    {name:<{width}}  {where}")
        print(f"\n  API  {state['haproxy']}/api/   WebSocket  ws://127.0.0.1:{topo.port('haproxy')}/ws/")
        print(f"  state and logs: {topo.dir}   stop: {Path(PY).name} scripts/topology.py stop\n", flush=True)
        return 0
    if args.command == "status":
        rows = topo.status()
        for name, where, up in rows:
            print(f"  {'up  ' if up else 'DOWN'}  {name:<22} {where}")
        return 0 if all(up for _, _, up in rows) else 1
    if args.command == "replica-delay":
        topo.set_replica_delay(args.value or "0")
        print(f"replica recovery_min_apply_delay = {args.value or '0'}")
        return 0
    topo.stop()
    if args.clean:
        shutil.rmtree(topo.dir, ignore_errors=True)
    print("topology stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
