"""Database settings for scale-out: replicas pooled like the primary; PgBouncer transaction mode."""

import json
import os
import subprocess
import sys

from django.conf import settings

SNIPPET = (
    "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'successkid.settings.base'; "
    "from django.conf import settings; "
    "print(json.dumps({a: {'pool': d['OPTIONS'].get('pool'), 'ssc': d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
    " 'prep': d['OPTIONS'].get('prepare_threshold', 'unset'), 'age': d['CONN_MAX_AGE']}"
    " for a, d in settings.DATABASES.items()}))"
)


def _databases(**env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET],
        env={**os.environ, "DATABASE_REPLICA_URLS": "postgres://ro@replica-host:5432/db", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_replicas_get_the_primarys_pool():
    dbs = _databases(DB_POOL="true", DB_POOL_MAX="7")
    assert dbs["replica0"]["pool"] == dbs["default"]["pool"]
    assert dbs["replica0"]["pool"]["max_size"] == 7
    assert dbs["replica0"]["age"] == 0
    assert dbs["default"]["ssc"] is False and dbs["default"]["prep"] == "unset"


def test_pgbouncer_mode_disables_server_side_cursors():
    dbs = _databases(DB_PGBOUNCER="true")
    for alias in ("default", "replica0"):
        assert dbs[alias]["ssc"] is True
        # Prepared statements stay off (Django's default for psycopg 3: prepare_threshold None).
        assert dbs[alias]["prep"] == "unset"


def test_realtime_redis_can_be_split_from_the_cache():
    snippet = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'successkid.settings.base'; "
        "from django.conf import settings; "
        "print(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0], settings.CACHES['default']['LOCATION'])"
    )
    env = {**os.environ, "REDIS_URL": "redis://cache-host:6379/0", "REALTIME_REDIS_URL": "redis://rt-host:6379/0"}
    out = subprocess.run(
        [sys.executable, "-c", snippet], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert out.stdout.split()[-2:] == ["redis://rt-host:6379/0", "redis://cache-host:6379/0"], out.stderr[-500:]
