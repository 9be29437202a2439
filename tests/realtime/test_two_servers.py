"""Two real ASGI server processes (uvicorn) sharing Redis: a room broadcast and a presence join
published by a socket on server A reach a socket on server B, and B's presence.state lists A's
member (presence is shared, not per process)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from tests.realtime.helpers import make_user, token_for
from tests.realtime.test_cross_process import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _start_server(port: int, redis_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url,
        "REALTIME_PRESENCE_BACKEND": "redis",
        "REALTIME_PRESENCE_BATCH_SECONDS": "0.01",
        "DEBUG": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--log-level", "warning", "--ws", "websockets-sansio"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    for _ in range(900):
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


async def _next(ws, event: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if frame.get("type") == "event" and frame["event"] == event:
            return frame


async def test_two_server_processes_share_topics_and_presence_over_redis(redis_url):
    alice, bob = await make_user(), await make_user()
    port_a, port_b = _free_port(), _free_port()
    servers = [await _start_server(port_a, redis_url), await _start_server(port_b, redis_url)]
    topic = f"presence:two{uuid.uuid4().hex[:10]}"
    try:
        async with (
            connect(f"ws://127.0.0.1:{port_b}/ws/?token={await token_for(bob)}") as on_b,
            connect(f"ws://127.0.0.1:{port_a}/ws/?token={await token_for(alice)}") as on_a,
        ):
            await on_b.send(json.dumps({"type": "subscribe", "topic": topic}))
            state = await _next(on_b, "presence.state")
            assert [m["id"] for m in state["data"]["members"]] == [bob.pk]

            await on_a.send(json.dumps({"type": "subscribe", "topic": topic}))
            state = await _next(on_a, "presence.state")
            assert {m["id"] for m in state["data"]["members"]} == {alice.pk, bob.pk}  # bob is on server B
            joined: list[int] = []
            while alice.pk not in joined:  # bob's own join diff may come first
                joined = [m["id"] for m in (await _next(on_b, "presence.diff"))["data"]["joins"]]

            await on_a.send(
                json.dumps({"type": "broadcast", "topic": topic, "event": "chat.message", "data": {"text": "gm"}})
            )
            frame = await _next(on_b, "chat.message")
            assert frame["data"] == {"text": "gm"} and frame["from"]["id"] == alice.pk

            # And a server-side broadcast from yet another process reaches both servers' sockets.
            for ws in (on_a, on_b):
                await ws.send(json.dumps({"type": "subscribe", "topic": "market"}))
            code = "from apps.core.push import broadcast_now; broadcast_now('market', 'market.moved', {'change_pct': '5.0'})"
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
                   "DATABASE_URL": _test_database_url(), "REDIS_URL": redis_url}  # fmt: skip
            await asyncio.sleep(0.3)  # both subscriptions acknowledged by Redis
            await sync_to_async(subprocess.run)(
                [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
            )
            for ws in (on_a, on_b):
                assert (await _next(ws, "market.moved"))["data"] == {"change_pct": "5.0"}

            # An announcement made by the operator's command (a third process) reaches each user on
            # the server holding their socket, with their own notification row.
            for ws, user in ((on_a, alice), (on_b, bob)):
                await ws.send(json.dumps({"type": "subscribe", "topic": f"user:{user.pk}"}))
            await asyncio.sleep(0.3)
            command = ["notify_announce", "--key", f"two-{uuid.uuid4().hex[:8]}", "--title", "Two servers"]
            done = await sync_to_async(subprocess.run)(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            ids = set()
            for ws, user in ((on_a, alice), (on_b, bob)):
                frame = await _next(ws, "notification.created")
                assert frame["topic"] == f"user:{user.pk}"
                assert frame["data"]["notification"]["title"] == "Two servers"
                ids.add(frame["data"]["notification"]["id"])
            assert len(ids) == 2  # each their own row
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
