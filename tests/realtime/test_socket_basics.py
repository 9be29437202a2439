"""The /ws/ consumer basics through channels' WebsocketCommunicator and the real ASGI stack."""

import json

import pytest
from channels.testing import WebsocketCommunicator

from apps.accounts.tokens import issue_token_pair
from apps.core.push import abroadcast_now
from successkid.routing import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(path="/ws/", headers=None):
    comm = WebsocketCommunicator(websocket_application, path, headers=headers or [])
    connected, _ = await comm.connect()
    return comm, connected


async def test_ping_pong():
    comm, connected = await connect()
    assert connected
    await comm.send_json_to({"type": "ping", "ref": "1"})
    assert await comm.receive_json_from() == {"type": "pong", "ref": "1"}
    await comm.disconnect()


async def test_subscribe_public_topics_and_receive_events():
    comm, _ = await connect()
    for ref, topic in enumerate(["market", "posts"]):
        await comm.send_json_to({"type": "subscribe", "topic": topic, "ref": str(ref)})
        assert await comm.receive_json_from() == {"type": "subscribed", "topic": topic, "ref": str(ref)}
    await abroadcast_now("market", "price.updated", {"price_usd": "0.0001"})
    frame = await comm.receive_json_from()
    assert frame["type"] == "event" and frame["topic"] == "market" and frame["event"] == "price.updated"
    assert frame["data"] == {"price_usd": "0.0001"} and frame["ts"].endswith("Z")
    await comm.disconnect()


async def test_unsubscribe_stops_events():
    comm, _ = await connect()
    await comm.send_json_to({"type": "subscribe", "topic": "posts", "ref": "a"})
    await comm.receive_json_from()
    await comm.send_json_to({"type": "unsubscribe", "topic": "posts", "ref": "b"})
    assert await comm.receive_json_from() == {"type": "unsubscribed", "topic": "posts", "ref": "b"}
    await abroadcast_now("posts", "post.created", {"id": 1})
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.parametrize(
    "frame, code",
    [
        ("not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        (json.dumps({"type": "dance"}), "bad_message"),
        (json.dumps({"type": "subscribe", "topic": "nope"}), "unknown_topic"),
        (json.dumps({"type": "subscribe", "topic": "market:extra"}), "unknown_topic"),
        (json.dumps({"type": "subscribe", "topic": 42}), "unknown_topic"),
        (json.dumps({"type": "ping", "pad": "x" * 5000}), "bad_message"),
    ],
)
async def test_bad_frames_get_error_frames_and_socket_stays_usable(frame, code):
    comm, _ = await connect()
    await comm.send_to(text_data=frame)
    reply = await comm.receive_json_from()
    assert reply["type"] == "error" and reply["error"]["code"] == code
    await comm.send_json_to({"type": "ping", "ref": "still-alive"})
    assert await comm.receive_json_from() == {"type": "pong", "ref": "still-alive"}
    await comm.disconnect()


async def test_query_token_authenticates_and_bad_token_closes_with_distinct_codes(django_user_model):
    from datetime import timedelta

    from asgiref.sync import sync_to_async
    from rest_framework_simplejwt.tokens import AccessToken

    user = await sync_to_async(django_user_model.objects.create_user)("wsuser", "ws@example.com", "pw-long-enough-1")
    tokens = await sync_to_async(issue_token_pair)(user)
    comm, connected = await connect(f"/ws/?token={tokens['access']}")
    assert connected
    assert await comm.receive_nothing(timeout=0.2)  # accepted and left open
    await comm.disconnect()

    comm, _ = await connect()
    await comm.send_json_to({"type": "auth", "token": tokens["access"], "ref": "x"})
    assert await comm.receive_json_from() == {"type": "authenticated", "ref": "x", "user_id": user.pk}
    await comm.disconnect()

    comm, _ = await connect("/ws/?token=garbage")
    assert (await comm.receive_output()) == {"type": "websocket.close", "code": 4403}

    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(minutes=1))
    comm, _ = await connect(f"/ws/?token={expired}")
    assert (await comm.receive_output()) == {"type": "websocket.close", "code": 4401}


async def test_foreign_browser_origin_is_refused():
    comm = WebsocketCommunicator(websocket_application, "/ws/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await comm.connect()
    assert not connected
