"""Topic authorisation, filters, limits, Origin, and the hub's one-subscription-per-topic design."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from apps.core.push import abroadcast_now, broadcast, group_name
from successkid.routing import websocket_application
from tests.realtime.helpers import make_user, next_event, open_socket, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


async def test_user_topic_is_for_its_owner_only():
    alice, bob = await make_user(), await make_user()
    comm = await open_socket(alice)
    assert (await subscribe(comm, f"user:{alice.pk}"))["type"] == "subscribed"
    reply = await subscribe(comm, f"user:{bob.pk}", ref="b")
    assert reply["type"] == "error" and reply["error"]["code"] == "forbidden" and reply["ref"] == "b"
    await abroadcast_now(f"user:{bob.pk}", "notification.created", {"secret": 1})
    await abroadcast_now(f"user:{alice.pk}", "points.awarded", {"amount": 5})
    frame = await next_event(comm)
    assert frame["topic"] == f"user:{alice.pk}" and frame["data"] == {"amount": 5}
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()

    anon = await open_socket()
    reply = await subscribe(anon, f"user:{alice.pk}")
    assert reply["error"]["code"] == "forbidden"
    assert (await subscribe(anon, "leaderboard"))["type"] == "subscribed"
    reply = await subscribe(anon, "presence:lobby")
    assert reply["error"]["code"] == "forbidden"  # presence is for signed-in users
    await anon.disconnect()


async def test_auth_message_upgrades_an_anonymous_socket_to_private_topics():
    from tests.realtime.helpers import token_for

    alice = await make_user()
    comm = await open_socket()
    assert (await subscribe(comm, f"user:{alice.pk}"))["error"]["code"] == "forbidden"
    await comm.send_json_to({"type": "auth", "token": await token_for(alice), "ref": "a"})
    assert (await comm.receive_json_from())["type"] == "authenticated"
    assert (await subscribe(comm, f"user:{alice.pk}"))["type"] == "subscribed"
    await comm.disconnect()


async def test_filtered_subscription_only_delivers_matching_events():
    memes = await open_socket()
    assert (await subscribe(memes, "posts", filter={"category": "memes"}))["type"] == "subscribed"
    tagged = await open_socket()
    assert (await subscribe(tagged, "posts", filter={"tag": ["gm", "wagmi"]}))["type"] == "subscribed"
    everything = await open_socket()
    await subscribe(everything, "posts")
    prices = await open_socket()
    await subscribe(prices, "market", filter={"event": "milestone.reached"})

    post = {"id": 1, "category": {"slug": "general", "name": "General"}, "tags": ["wagmi"]}
    await abroadcast_now("posts", "post.created", post)
    meme = {"id": 2, "category": {"slug": "memes", "name": "Memes"}, "tags": []}
    await abroadcast_now("posts", "post.created", meme)
    await abroadcast_now("market", "price.updated", {"price_usd": "1"})
    await abroadcast_now("market", "milestone.reached", {"id": 7})

    assert (await next_event(memes))["data"]["id"] == 2
    assert await memes.receive_nothing(timeout=0.2)
    assert (await next_event(tagged))["data"]["id"] == 1
    assert await tagged.receive_nothing(timeout=0.2)
    assert [(await next_event(everything))["data"]["id"] for _ in range(2)] == [1, 2]
    assert (await next_event(prices))["event"] == "milestone.reached"
    assert await prices.receive_nothing(timeout=0.2)
    for comm in (memes, tagged, everything, prices):
        await comm.disconnect()


@pytest.mark.parametrize(
    "flt", [{"colour": "red"}, {"category": {"x": 1}}, {"category": []}, "memes", {"category": "a b"}]
)
async def test_bad_filters_are_refused(flt):
    comm = await open_socket()
    reply = await subscribe(comm, "posts", filter=flt)
    assert reply["type"] == "error" and reply["error"]["code"] == "bad_message"
    await comm.disconnect()


async def test_one_layer_subscription_per_process_per_topic():
    layer = get_channel_layer()
    sockets = [await open_socket() for _ in range(5)]
    for comm in sockets:
        await subscribe(comm, "leaderboard")
    assert len(layer.groups[group_name("leaderboard")]) == 1  # the hub's channel, not five
    await abroadcast_now("leaderboard", "leaderboard.changed", {"period": "day"})
    frames = [await next_event(comm) for comm in sockets]
    assert {f["event"] for f in frames} == {"leaderboard.changed"}
    for comm in sockets:
        await comm.disconnect()
    assert group_name("leaderboard") not in layer.groups or not layer.groups[group_name("leaderboard")]


async def test_a_rolled_back_write_broadcasts_nothing():
    comm = await open_socket()
    await subscribe(comm, "market")

    @sync_to_async
    def write(fail: bool):
        try:
            with transaction.atomic():
                broadcast("market", "price.updated", {"price_usd": "2" if fail else "3"})
                if fail:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    await write(True)
    assert await comm.receive_nothing(timeout=0.3)
    await write(False)
    assert (await next_event(comm))["data"] == {"price_usd": "3"}
    await comm.disconnect()


async def test_subscription_limit(settings):
    settings.REALTIME_MAX_SUBSCRIPTIONS = 2
    comm = await open_socket()
    assert (await subscribe(comm, "market"))["type"] == "subscribed"
    assert (await subscribe(comm, "posts"))["type"] == "subscribed"
    reply = await subscribe(comm, "leaderboard")
    assert reply["type"] == "error" and reply["error"]["code"] == "bad_message"
    assert (await subscribe(comm, "market"))["type"] == "subscribed"  # re-subscribing is not a new one
    await comm.disconnect()


async def test_message_flood_is_refused_then_closed(settings):
    settings.REALTIME_RATE_PER_SECOND = 0.001
    settings.REALTIME_RATE_BURST = 3
    settings.REALTIME_FLOOD_CLOSE_AFTER = 5
    comm = await open_socket()
    for i in range(3):
        await comm.send_json_to({"type": "ping", "ref": str(i)})
        assert (await comm.receive_json_from())["type"] == "pong"
    for _ in range(4):
        await comm.send_json_to({"type": "ping"})
        reply = await comm.receive_json_from()
        assert reply["type"] == "error" and reply["error"]["code"] == "rate_limited"
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4429}


async def test_oversized_message_is_refused_and_socket_stays_usable(settings):
    settings.REALTIME_MAX_MESSAGE_BYTES = 100
    comm = await open_socket()
    await comm.send_to(text_data='{"type": "ping", "pad": "' + "é" * 60 + '"}')
    assert (await comm.receive_json_from())["error"]["code"] == "bad_message"
    await comm.send_json_to({"type": "ping", "ref": "ok"})
    assert (await comm.receive_json_from())["type"] == "pong"
    await comm.disconnect()


async def test_origin_allow_list(settings):
    settings.REALTIME_ALLOWED_ORIGINS = ["https://app.successkid.example"]
    ok = WebsocketCommunicator(websocket_application, "/ws/", headers=[(b"origin", b"https://app.successkid.example")])
    assert (await ok.connect())[0]
    await ok.disconnect()
    bad = WebsocketCommunicator(websocket_application, "/ws/", headers=[(b"origin", b"https://successkid.evil")])
    assert not (await bad.connect())[0]


async def test_a_signed_in_socket_closes_when_its_token_expires_unless_refreshed():
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.tokens import issue_token_pair

    alice = await make_user()

    @sync_to_async
    def short_token(seconds: float) -> str:
        token = AccessToken(issue_token_pair(alice)["access"])
        token.set_exp(lifetime=timedelta(seconds=seconds))
        return str(token)

    comm = WebsocketCommunicator(websocket_application, f"/ws/?token={await short_token(0.5)}")
    assert (await comm.connect())[0]
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["error"]["code"] == "token_expired"
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}

    # Refreshed in time: the socket stays open past the first token's expiry.
    fresh = await short_token(600)
    comm = WebsocketCommunicator(websocket_application, f"/ws/?token={await short_token(3)}")
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "auth", "token": fresh, "ref": "r"})
    assert (await comm.receive_json_from())["type"] == "authenticated"
    assert await comm.receive_nothing(timeout=3.5)
    await comm.send_json_to({"type": "ping", "ref": "p"})
    assert (await comm.receive_json_from())["type"] == "pong"
    await comm.disconnect()
