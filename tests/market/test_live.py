"""End to end: a poll replayed from the fixtures reaches a WebSocket subscribed to `market`."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.market import services
from apps.market.models import MarketMilestone
from successkid.routing import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)


async def test_poll_broadcasts_price_and_milestone_to_market_subscribers(sources, settings):
    settings.MARKET_MILESTONE_CONFIRM_SECONDS = 0
    await sync_to_async(MarketMilestone.objects.create)(market_cap_usd=400_000_000, label="$400M")
    comm = WebsocketCommunicator(websocket_application, "/ws/")
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "subscribe", "topic": "market", "ref": "1"})
    assert (await comm.receive_json_from())["type"] == "subscribed"

    result = await sync_to_async(services.poll_once)()
    assert result.ok

    frames = [await comm.receive_json_from(timeout=2), await comm.receive_json_from(timeout=2)]
    by_event = {f["event"]: f for f in frames}
    assert by_event["price.updated"]["topic"] == "market"
    assert by_event["price.updated"]["data"]["price_usd"] == "0.0004213"
    assert by_event["price.updated"]["data"]["stale"] is False
    assert by_event["milestone.reached"]["data"]["label"] == "$400M"
    await comm.disconnect()
