"""A task sent by one process runs in a real Celery worker process and its result comes back:
on PostgreSQL alone (kombu's SQLAlchemy transport + database results) and on Redis."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.realtime.test_cross_process import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _roundtrip(redis_url: str) -> None:
    # As deployed: DATABASE_URL is the owner, who prepares the roles (and, without Redis, Celery's
    # tables); the worker and the sender connect as the unprivileged app role (row-level security).
    app_user = connection.settings_dict["USER"]
    owner_url = _test_database_url().replace(f"//{app_user}", f"//{settings.DATABASE_OWNER['USER']}", 1)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DATABASE_URL": owner_url,
        "DATABASE_APP_USER": app_user,
        "REDIS_URL": redis_url,
        "C_FORCE_ROOT": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "create_db_roles"],
        cwd=ROOT,
        env={**env, "DATABASE_AS_OWNER": "1"},
        check=True,
        capture_output=True,
    )
    celery = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen(
        [
            celery,
            "-A",
            "successkid",
            "worker",
            "--pool",
            "solo",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        sender = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from apps.core.tasks import echo; print(echo.delay('gm from another process').get(timeout=60))",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert sender.returncode == 0, sender.stderr
        assert sender.stdout.strip().endswith("gm from another process")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_task_roundtrip_on_postgres_alone():
    _roundtrip("")


def test_task_roundtrip_on_redis(redis_url):
    _roundtrip(redis_url)
