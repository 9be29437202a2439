"""Milestones: seeded idempotently, confirmed over a window (no flapping), recorded once, announced."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from PIL import Image

from apps.market import services
from apps.market.events import MilestoneReached
from apps.market.models import MarketMilestone
from apps.market.sources import Quote

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def quote_at(cap: int, seconds: int):
    price = Decimal(cap) / Decimal(10**12)
    quote = Quote(source="dexscreener", price_usd=price, as_of=T0, market_cap_usd=Decimal(cap))
    return services.record_quote(quote=quote, taken_at=T0 + timedelta(seconds=seconds))


@pytest.fixture
def billion():
    return MarketMilestone.objects.create(market_cap_usd=Decimal(1_000_000_000), label="$1B market cap")


def test_seed_loads_fixture_milestones_idempotently():
    call_command("seed")
    count = MarketMilestone.objects.count()
    assert count == 9
    MarketMilestone.objects.filter(market_cap_usd=1_000_000_000).update(label="One billion!")  # admin edit
    call_command("seed")
    assert MarketMilestone.objects.count() == count
    assert MarketMilestone.objects.get(market_cap_usd=1_000_000_000).label == "One billion!"


def test_a_single_spike_does_not_reach_a_milestone(billion, settings, emitted, broadcasts):
    settings.MARKET_MILESTONE_CONFIRM_SECONDS = 600
    quote_at(900_000_000, 0)
    quote_at(1_100_000_000, 30)  # spike above
    quote_at(950_000_000, 60)  # back below: the run resets
    quote_at(1_050_000_000, 400)
    quote_at(1_060_000_000, 700)  # above for 300 s only since the reset
    billion.refresh_from_db()
    assert billion.reached_at is None
    assert billion.above_since == T0 + timedelta(seconds=400)
    assert not [e for e in emitted if isinstance(e, MilestoneReached)]
    assert not [b for b in broadcasts if b[1] == "milestone.reached"]


def test_holding_above_for_the_window_reaches_once(billion, settings, emitted, broadcasts):
    settings.MARKET_MILESTONE_CONFIRM_SECONDS = 600
    quote_at(1_010_000_000, 0)
    quote_at(1_020_000_000, 300)
    third = quote_at(1_030_000_000, 600)
    quote_at(1_040_000_000, 900)  # still above: not recorded again
    quote_at(900_000_000, 1200)  # falling back later changes nothing
    billion.refresh_from_db()
    assert billion.reached_at == T0 + timedelta(seconds=600)
    assert billion.reached_market_cap_usd == Decimal(1_030_000_000)
    assert billion.reached_price_usd == third.price_usd
    assert billion.reached_snapshot_id == third.id
    assert billion.above_since is not None
    assert [e for e in emitted if isinstance(e, MilestoneReached)] == [MilestoneReached(milestone_id=billion.id)]
    reached = [b for b in broadcasts if b[1] == "milestone.reached"]
    assert len(reached) == 1
    topic, _, data = reached[0]
    assert topic == "market"
    assert data["id"] == billion.id and data["market_cap_usd"] == "1000000000"
    assert data["reached_at"] == "2026-11-26T10:10:00Z"


def test_milestones_endpoint_with_progress_and_card(billion, settings, api_client, django_assert_max_num_queries):
    settings.MARKET_MILESTONE_CONFIRM_SECONDS = 0
    upper = MarketMilestone.objects.create(market_cap_usd=Decimal(4_000_000_000), label="$4B market cap")
    for i, cap in enumerate((800_000_000, 900_000_000, 1_000_000_000)):
        quote_at(cap, i * 3600)  # hourly run-up for the sparkline
    with django_assert_max_num_queries(3):
        body = api_client.get("/api/market/milestones").json()
    rows = {r["id"]: r for r in body["data"]}
    assert body["meta"]["pagination"]["next_cursor"] is None
    assert rows[billion.id]["reached_at"] == "2026-11-26T12:00:00Z"
    assert rows[billion.id]["progress_pct"] == "100"
    assert rows[billion.id]["card_url"] == f"http://testserver/api/market/milestones/{billion.id}/card.png"
    assert rows[upper.id]["reached_at"] is None
    assert rows[upper.id]["progress_pct"] == "25"
    assert rows[upper.id]["card_url"] is None

    response = api_client.get(f"/api/market/milestones/{billion.id}/card.png", HTTP_ACCEPT="image/png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"  # the one media policy
    png = b"".join(response.streaming_content) if response.streaming else response.content
    image = Image.open(__import__("io").BytesIO(png))
    assert image.size == (1200, 630)
    # Cached and conditional.
    again = api_client.get(f"/api/market/milestones/{billion.id}/card.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304

    missing = api_client.get(f"/api/market/milestones/{upper.id}/card.png", HTTP_ACCEPT="image/png")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
