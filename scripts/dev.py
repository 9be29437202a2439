#!/usr/bin/env python
"""The two fresh-machine commands behind `make run` and `make test`, and a few helpers.

python scripts/dev.py run        # database, migrations, seed, then API+WS, worker and beat
python scripts/dev.py test [...] # the whole suite (pytest args pass through)
python scripts/dev.py db-url     # print the embedded database URL (starting it if needed)
python scripts/dev.py db-stop    # stop the embedded database
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


def ensure_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        from successkid.embedded_db import ensure_running

        url = ensure_running()
        os.environ["DATABASE_URL"] = url
        print(f"embedded PostgreSQL: {url}", flush=True)
    return url


def manage(*args: str, as_owner: bool = False) -> None:
    env = {**os.environ, "DATABASE_AS_OWNER": "1"} if as_owner else None
    subprocess.run([sys.executable, "manage.py", *args], check=True, env=env)


def cmd_run() -> int:
    ensure_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
    # Row-level security: migrations and role grants run as DATABASE_URL's user (the owner);
    # everything else, including every process below, connects as the unprivileged app role.
    os.environ.setdefault("DATABASE_APP_USER", "successkid_app")
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--noinput", "-v", "0", as_owner=True)
    manage("createcachetable", as_owner=True)
    manage("create_db_roles", as_owner=True)
    manage("collectstatic", "--noinput", "-v", "0")
    manage("seed")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")

    from honcho.manager import Manager

    manager = Manager()
    env = dict(os.environ)
    manager.add_process(
        "web",
        f"{VENV_BIN}/uvicorn successkid.asgi:application --host {host} --port {port} --ws websockets-sansio --lifespan on --no-access-log",
        env=env,
    )
    # No -Q: one worker consumes every queue (CELERY_TASK_QUEUES); at scale each queue gets its own.
    manager.add_process("worker", f"{VENV_BIN}/celery -A successkid worker -l INFO --concurrency 2", env=env)
    manager.add_process(
        "beat", f"{VENV_BIN}/celery -A successkid beat -l INFO -s {ROOT / 'var' / 'celerybeat-schedule'}", env=env
    )
    base = f"http://{host}:{port}"
    print(
        f"\n  Success Kid is starting:\n"
        f"    API        {base}/api/  (health: {base}/api/health)\n"
        f"    API docs   {base}/api/docs/\n"
        f"    Admin      {base}/admin/  (create a login: .venv/bin/python manage.py createsuperuser)\n"
        f"    WebSocket  ws://{host}:{port}/ws/\n"
        f"  Ctrl-C stops everything.\n",
        flush=True,
    )
    manager.loop()  # honcho forwards Ctrl-C/SIGTERM to every process and waits for them
    return manager.returncode or 0


def cmd_test(args: list[str]) -> int:
    ensure_database_url()
    os.environ["DJANGO_SETTINGS_MODULE"] = "successkid.settings.test"
    proc = subprocess.run([sys.executable, "-m", "pytest", *args])
    return proc.returncode


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return cmd_run()
    if command == "test":
        return cmd_test(rest)
    if command == "db-url":
        print(ensure_database_url())
        return 0
    if command == "db-stop":
        from successkid.embedded_db import stop

        stop()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
