"""A broadcast made in another process (a Celery worker, beat, a manage.py command) reaches a
socket served by this one: over PostgreSQL LISTEN/NOTIFY without Redis, and over Redis with it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection

from successkid.routing import websocket_application

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _test_database_url() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or ""
    user = db.get("USER") or "postgres"
    if host.startswith("/"):
        return f"postgres://{user}@/{db['NAME']}?host={host}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def _layer_config(redis_url: str | None) -> dict:
    if redis_url:
        return {
            "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis_url]}}
        }
    db = connection.settings_dict
    return {
        "default": {
            "BACKEND": "apps.realtime.layers.PostgresChannelLayer",
            "CONFIG": {
                **{k: v for k, v in db.items() if k not in ("OPTIONS", "TEST")},
                "OPTIONS": {},
                "TIME_ZONE": None,
            },
        }
    }


async def _broadcast_from_another_process(redis_url: str | None) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url or "",
    }
    code = "from apps.core.push import broadcast_now; broadcast_now('market', 'price.updated', {'price_usd': '0.42', 'pid': %d})"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        code % os.getpid(),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()


async def _assert_cross_process_delivery(settings, redis_url: str | None) -> None:
    settings.CHANNEL_LAYERS = _layer_config(redis_url)
    comm = WebsocketCommunicator(websocket_application, "/ws/")
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "subscribe", "topic": "market", "ref": "m"})
    assert (await comm.receive_json_from(timeout=10))["type"] == "subscribed"
    await _broadcast_from_another_process(redis_url)
    frame = await comm.receive_json_from(timeout=15)
    assert frame["event"] == "price.updated"
    assert frame["data"] == {"price_usd": "0.42", "pid": os.getpid()}
    await comm.disconnect()


async def test_cross_process_broadcast_over_postgres(settings):
    await _assert_cross_process_delivery(settings, None)


async def test_cross_process_broadcast_over_redis(settings, redis_url):
    await _assert_cross_process_delivery(settings, redis_url)
