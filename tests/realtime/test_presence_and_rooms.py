"""Presence (state, batched diffs, tabs counted once, expiry by heartbeat) and room broadcast,
with both presence stores (database, Redis)."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async

from apps.realtime.hub import get_hub
from apps.realtime.presence import get_store
from tests.realtime.helpers import make_user, next_event, open_socket, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["database", "redis"])
def presence_backend(request, settings):
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    settings.REALTIME_PRESENCE_BACKEND = request.param
    settings.REALTIME_PRESENCE_BATCH_SECONDS = 0.01
    return request.param


def room() -> str:
    return "r" + uuid.uuid4().hex[:12]


async def join(user, topic):
    """Join a room; return the socket (with its own join diff drained) and its presence.state."""
    comm = await open_socket(user)
    assert (await subscribe(comm, topic))["type"] == "subscribed"
    state = await next_event(comm)
    while state["event"] != "presence.state":  # an earlier member's join diff may come first
        state = await next_event(comm)
    await drain(comm)
    return comm, state


async def drain(comm, quiet=0.15):
    while not await comm.receive_nothing(timeout=quiet):
        await comm.receive_output()


async def test_presence_state_diff_and_tabs_counted_once(presence_backend):
    alice, bob = await make_user(), await make_user()
    topic = f"presence:{room()}"
    a1, state = await join(alice, topic)
    assert [m["id"] for m in state["data"]["members"]] == [alice.pk]
    assert state["data"]["members"][0]["username"] == alice.username

    b1, state = await join(bob, topic)
    assert {m["id"] for m in state["data"]["members"]} == {alice.pk, bob.pk}
    diff = await next_event(a1)
    assert diff["event"] == "presence.diff" and [m["id"] for m in diff["data"]["joins"]] == [bob.pk]
    assert diff["data"]["leaves"] == []

    # A second tab of bob: no new join for anyone, and closing one tab is no leave.
    b2, _ = await join(bob, topic)
    await b2.disconnect()
    assert await a1.receive_nothing(timeout=0.2)

    await b1.send_json_to({"type": "unsubscribe", "topic": topic, "ref": "u"})
    assert (await b1.receive_json_from())["type"] == "unsubscribed"
    diff = await next_event(a1)
    assert [m["id"] for m in diff["data"]["leaves"]] == [bob.pk] and diff["data"]["joins"] == []
    await b1.disconnect()
    await a1.disconnect()


async def test_joins_within_a_window_go_out_as_one_diff(presence_backend, settings):
    watcher = await make_user()
    name = room()
    topic = f"presence:{name}"
    w, _ = await join(watcher, topic)
    settings.REALTIME_PRESENCE_BATCH_SECONDS = 3600  # the window closes when the test says so
    others = [await make_user() for _ in range(5)]
    sockets = []
    for user in others:
        comm, _ = await join(user, topic)
        sockets.append(comm)
    assert await w.receive_nothing(timeout=0.1)  # nothing while the window is open
    await get_hub().flush_diff(name)
    diff = await next_event(w)
    assert {m["id"] for m in diff["data"]["joins"]} == {u.pk for u in others}
    assert await w.receive_nothing(timeout=0.2)  # one frame for five joins
    for comm in [w, *sockets]:
        await comm.disconnect()


async def test_entries_of_a_dead_process_expire_by_heartbeat(presence_backend, settings):
    settings.REALTIME_PRESENCE_TTL_SECONDS = 1
    alice, ghost = await make_user(), await make_user()
    name = room()
    topic = f"presence:{name}"
    a1, _ = await join(alice, topic)
    # Another process joined the ghost and then died: nobody renews its entry.
    await get_store().join(name, ghost.pk, "dead-socket", {"id": ghost.pk, "username": ghost.username})
    assert {m["id"] for m in await get_store().members(name)} == {alice.pk, ghost.pk}
    import asyncio

    await asyncio.sleep(1.2)
    await get_hub().heartbeat_once()  # renews alice, sweeps the ghost
    diff = await next_event(a1)
    assert [m["id"] for m in diff["data"]["leaves"]] == [ghost.pk]
    assert [m["id"] for m in await get_store().members(name)] == [alice.pk]
    await a1.disconnect()


async def test_room_members_api(presence_backend, make_client):
    alice = await make_user()
    name = room()
    a1, _ = await join(alice, f"presence:{name}")
    client = await sync_to_async(make_client)(alice)
    response = await sync_to_async(client.get)(f"/api/realtime/rooms/{name}/members")
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["data"]] == [alice.pk] and body["meta"]["pagination"]["total"] == 1
    anon = await sync_to_async(make_client)()
    assert (await sync_to_async(anon.get)(f"/api/realtime/rooms/{name}/members")).status_code == 401
    bad = await sync_to_async(client.get)("/api/realtime/rooms/no%20spaces/members")
    assert bad.status_code == 404
    await a1.disconnect()


async def test_room_broadcast_reaches_other_members_sanitised_without_echo(settings):
    settings.REALTIME_PRESENCE_BACKEND = "database"
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    topic = f"presence:{room()}"
    a1, _ = await join(alice, topic)
    b1, _ = await join(bob, topic)
    outsider = await open_socket(carol)
    await drain(a1)  # bob's join
    await a1.send_json_to(
        {"type": "broadcast", "topic": topic, "event": "chat.message", "data": {"text": "gm <script>x</script>\x07!"}}
    )
    frame = await next_event(b1)
    assert frame["event"] == "chat.message" and frame["from"] == {"id": alice.pk, "username": alice.username}
    assert "<script>" not in frame["data"]["text"] and "\x07" not in frame["data"]["text"]
    assert frame["data"]["text"].startswith("gm")
    assert await a1.receive_nothing(timeout=0.2)  # not echoed to the sender's socket

    # Not joined, anonymous, bad shapes: error frames, nothing delivered.
    await outsider.send_json_to({"type": "broadcast", "topic": topic, "event": "chat.message", "data": {}, "ref": 1})
    assert (await outsider.receive_json_from())["error"]["code"] == "forbidden"
    anon = await open_socket()
    await anon.send_json_to({"type": "broadcast", "topic": topic, "event": "chat.message", "data": {}})
    assert (await anon.receive_json_from())["error"]["code"] == "forbidden"
    for bad in (
        {"event": "presence.state", "data": {}},
        {"event": "Chat Message", "data": {}},
        {"event": "chat.message", "data": [1]},
        {"event": "chat.message", "data": {"a": {"b": {"c": 1}}}},
        {"event": "chat.message", "data": {"text": "x" * 1001}},
    ):
        await a1.send_json_to({"type": "broadcast", "topic": topic, **bad})
        assert (await a1.receive_json_from())["error"]["code"] == "bad_message"
    assert await b1.receive_nothing(timeout=0.2)
    for comm in (a1, b1, outsider, anon):
        await comm.disconnect()


async def test_room_broadcast_rate_limit(settings):
    settings.REALTIME_PRESENCE_BACKEND = "database"
    settings.REALTIME_BROADCAST_RATE_PER_SECOND = 0.001
    settings.REALTIME_BROADCAST_BURST = 2
    alice = await make_user()
    topic = f"presence:{room()}"
    a1, _ = await join(alice, topic)
    for _ in range(2):
        await a1.send_json_to({"type": "broadcast", "topic": topic, "event": "reaction", "data": {"emoji": "x"}})
    await a1.send_json_to({"type": "broadcast", "topic": topic, "event": "reaction", "data": {"emoji": "x"}})
    assert (await a1.receive_json_from())["error"]["code"] == "rate_limited"
    await a1.disconnect()
