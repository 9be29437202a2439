"""Sockets follow the session: logout, log out everywhere, session revocation, password change,
suspension and account deletion close that user's open sockets (4401) within a second, and other
sessions' sockets stay open where the session survives. Through the HTTP API and the real /ws/ stack."""

import asyncio
import os
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from apps.accounts.events import UserSuspended
from apps.core import events
from successkid.routing import websocket_application
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.realtime.test_cross_process import ROOT, _layer_config, _test_database_url

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def sign_in(username: str) -> dict:
    r = APIClient().post("/api/auth/login", {"login": username, "password": DEFAULT_PASSWORD}, format="json")
    assert r.status_code == 200, r.content
    return r.json()["data"]


@sync_to_async
def call(method: str, path: str, access: str | None = None, body: dict | None = None):
    client = APIClient()
    if access:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return getattr(client, method)(path, body or {}, format="json")


async def socket_for(tokens: dict, user_id: int) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(websocket_application, f"/ws/?token={tokens['access']}")
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "subscribe", "topic": f"user:{user_id}", "ref": "u"})
    assert (await comm.receive_json_from())["type"] == "subscribed"
    return comm


async def assert_closed(comm: WebsocketCommunicator, within: float = 1.0) -> None:
    """The socket gets an error frame and is closed with 4401, within `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        out = await comm.receive_output(timeout=max(0.01, deadline - loop.time()))
        if out["type"] == "websocket.close":
            assert out["code"] == 4401
            return


async def assert_open(comm: WebsocketCommunicator) -> None:
    await comm.send_json_to({"type": "ping", "ref": "p"})
    assert await comm.receive_json_from() == {"type": "pong", "ref": "p"}
    await comm.disconnect()


@pytest.fixture
def alice():
    return UserFactory(username="alice")


async def test_logout_closes_that_sessions_sockets_only(alice):
    one, two = await sign_in("alice"), await sign_in("alice")
    a, b = await socket_for(one, alice.pk), await socket_for(two, alice.pk)
    r = await call("post", "/api/auth/logout", body={"refresh": one["refresh"]})
    assert r.status_code == 200
    await assert_closed(a)
    await assert_open(b)


async def test_log_out_everywhere_closes_every_socket(alice):
    one, two = await sign_in("alice"), await sign_in("alice")
    a, b = await socket_for(one, alice.pk), await socket_for(two, alice.pk)
    assert (await call("post", "/api/auth/logout", body={"refresh": one["refresh"], "all": True})).status_code == 200
    await assert_closed(a)
    await assert_closed(b)


async def test_revoking_a_session_closes_its_sockets(alice):
    one, two = await sign_in("alice"), await sign_in("alice")
    a, b = await socket_for(one, alice.pk), await socket_for(two, alice.pk)
    sessions = (await call("get", "/api/auth/sessions", one["access"])).json()["data"]
    other = next(s["id"] for s in sessions if not s["current"])
    assert (await call("delete", f"/api/auth/sessions/{other}", one["access"])).status_code == 204
    await assert_closed(b)
    await assert_open(a)


async def test_password_change_closes_the_other_sessions_sockets(alice):
    one, two = await sign_in("alice"), await sign_in("alice")
    a, b = await socket_for(one, alice.pk), await socket_for(two, alice.pk)
    body = {"current_password": DEFAULT_PASSWORD, "new_password": "a-much-better-passphrase-42"}
    assert (await call("post", "/api/auth/password/change", one["access"], body)).status_code == 200
    await assert_closed(b)
    await assert_open(a)


async def test_suspension_closes_every_socket(alice):
    admin = await sync_to_async(UserFactory)(username="boss", role="admin")
    tokens = await sign_in("alice")
    a = await socket_for(tokens, alice.pk)
    boss = await sign_in(admin.username)
    r = await call("post", f"/api/users/{alice.pk}/suspend", boss["access"], {"hours": 24, "reason": "spam"})
    assert r.status_code == 200, r.content
    await assert_closed(a)


async def test_the_user_suspended_event_alone_closes_sockets(alice):
    """Whatever service applies a suspension or ban emits UserSuspended; realtime acts on it."""
    a = await socket_for(await sign_in("alice"), alice.pk)
    await sync_to_async(events.dispatch)(UserSuspended(user_id=alice.pk, by_user_id=None, until=None))
    await assert_closed(a)


async def test_account_deletion_closes_every_socket(alice):
    tokens = await sign_in("alice")
    a = await socket_for(tokens, alice.pk)
    r = await sync_to_async(
        lambda: APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").delete(
            "/api/users/me", {"password": DEFAULT_PASSWORD}, format="json"
        )
    )()
    assert r.status_code == 204, r.content
    while True:  # the account.deleted event comes first, then the close
        out = await a.receive_output(timeout=1)
        if out["type"] == "websocket.close":
            assert out["code"] == 4401
            break


async def _logout_everywhere_from_another_process(refresh: str, redis_url: str | None) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "successkid.settings.dev",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url or "",
    }
    code = (  # one transaction, as a request has (the RLS context is transaction-local)
        "from django.db import transaction\nfrom apps.accounts.services import logout\n"
        f"with transaction.atomic():\n    logout(refresh_token={refresh!r}, user=None, all_sessions=True)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "shell", "-c", code, cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["postgres", "redis"])
async def test_logout_in_another_process_closes_sockets_here(alice, settings, layer, request):
    redis_url = request.getfixturevalue("redis_url") if layer == "redis" else None
    settings.CHANNEL_LAYERS = _layer_config(redis_url)
    tokens = await sign_in("alice")
    a = await socket_for(tokens, alice.pk)
    await asyncio.sleep(0.2)  # the hub's group membership is in place (PostgreSQL layer: LISTEN)
    await _logout_everywhere_from_another_process(tokens["refresh"], redis_url)
    await assert_closed(a, within=5)
