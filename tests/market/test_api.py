"""The price and history endpoints, moves, and live broadcasts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.market import services
from apps.market.events import MarketMoved, PriceUpdated
from apps.market.jobs import Fold, fold_many
from apps.market.models import MarketCandle, MarketMove
from apps.market.sources import Quote

from .conftest import json_response
from .factories import MarketSnapshotFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def record(price: str, at: datetime, **extra):
    quote = Quote(source="dexscreener", price_usd=Decimal(price), as_of=at, **extra)
    return services.record_quote(quote=quote, taken_at=at)


# --- price ----------------------------------------------------------------------------------


def test_price_is_the_api_resource_served_from_cache(sources, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_once()
    response = api_client.get("/api/market/price/")  # slash optional
    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "price_usd": "0.0004213",
        "market_cap_usd": "421300000",
        "fdv_usd": "421300000",
        "change_1h_pct": "-1.84",
        "change_24h_pct": "12.67",
        "volume_24h_usd": "2210934.12",
        "liquidity_usd": "1843210.55",
        "source": "dexscreener",
        "confirmed_by": None,
        "as_of": data["as_of"],
        "fetched_at": data["fetched_at"],
        "stale": False,
    }
    assert data["as_of"].endswith("Z")
    # Served from the cache: no database query at all.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        api_client.get("/api/market/price")
    assert not [q for q in ctx.captured_queries if "market_" in q["sql"]]


def test_price_from_the_database_when_the_cache_is_cold(api_client):
    MarketSnapshotFactory(price_usd=Decimal("0.00042"), taken_at=timezone.now() - timedelta(seconds=5))
    cache.clear()
    data = api_client.get("/api/market/price").json()["data"]
    assert (data["price_usd"], data["stale"]) == ("0.00042", False)


def test_old_quote_is_stale(api_client, settings):
    settings.MARKET_STALE_SECONDS = 120
    MarketSnapshotFactory(price_usd=Decimal("0.00042"), taken_at=timezone.now() - timedelta(minutes=5))
    data = api_client.get("/api/market/price").json()["data"]
    assert (data["price_usd"], data["stale"]) == ("0.00042", True)


def test_no_quote_ever_is_stale_nulls_not_an_error(api_client):
    response = api_client.get("/api/market/price")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["stale"] is True and data["price_usd"] is None


def test_recovery_clears_stale(sources, api_client, django_capture_on_commit_callbacks):
    import httpx

    MarketSnapshotFactory(price_usd=Decimal("0.00042"), taken_at=timezone.now() - timedelta(seconds=5))
    for route in sources.values():
        route.mock(side_effect=httpx.ConnectError("down"))
    services.poll_once()
    assert api_client.get("/api/market/price").json()["data"]["stale"] is True
    sources["coingecko"].mock(side_effect=None, return_value=json_response("coingecko_simple_token_price_solana.json"))
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_once(now=timezone.now() + timedelta(hours=2))  # after every back-off
    data = api_client.get("/api/market/price").json()["data"]
    assert data["stale"] is False


# --- live -------------------------------------------------------------------------------------


def test_price_updated_is_broadcast_on_change_and_throttled(broadcasts, emitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record("1.00", T0)
        record("1.01", T0 + timedelta(seconds=1))  # changed, but within the throttle
    with django_capture_on_commit_callbacks(execute=True):
        cache.delete("market:price-broadcast:v1")  # the throttle window has passed
        record("1.01", T0 + timedelta(seconds=30))  # unchanged: nothing to say
        record("1.02", T0 + timedelta(seconds=60))
    updates = [b for b in broadcasts if b[1] == "price.updated"]
    assert [(t, d["price_usd"]) for t, _, d in updates] == [("market", "1"), ("market", "1.02")]
    assert len([e for e in emitted if isinstance(e, PriceUpdated)]) == 4  # every accepted quote


def test_significant_move_is_announced_once_per_window(
    broadcasts, emitted, settings, django_capture_on_commit_callbacks
):
    settings.MARKET_MOVE_PCT = 10
    settings.MARKET_MOVE_WINDOW_MINUTES = 60
    with django_capture_on_commit_callbacks(execute=True):
        record("1.00", T0)
        record("1.05", T0 + timedelta(minutes=10))
        record("1.12", T0 + timedelta(minutes=20))  # +12 % within the hour
        record("1.30", T0 + timedelta(minutes=30))  # bigger, but the window already announced
        record("1.00", T0 + timedelta(minutes=90))  # new window: -23 % from 1.30 (oldest in window)
    moves = [b for b in broadcasts if b[1] == "market.moved"]
    assert [(d["change_pct"], d["direction"]) for _, _, d in moves] == [("12", "up"), ("-23.08", "down")]
    assert MarketMove.objects.count() == 2
    assert [e.change_pct for e in emitted if isinstance(e, MarketMoved)] == ["12", "-23.08"]


# --- history ------------------------------------------------------------------------------------


def test_history_returns_candles_with_gaps_left_as_gaps(api_client, django_assert_max_num_queries):
    for minute, price in ((0, "1"), (1, "2"), (5, "3")):  # nothing at minutes 2-4
        record(price, T0 + timedelta(minutes=minute, seconds=10), volume_24h_usd=Decimal("100"))
    with django_assert_max_num_queries(2):
        response = api_client.get(
            "/api/market/history", {"interval": "1m", "from": "2026-11-26T10:00:00Z", "to": "2026-11-26T10:10:00Z"}
        )
    assert response.status_code == 200
    body = response.json()
    assert [p["t"] for p in body["data"]] == ["2026-11-26T10:00:00Z", "2026-11-26T10:01:00Z", "2026-11-26T10:05:00Z"]
    assert body["data"][0] == {
        "t": "2026-11-26T10:00:00Z",
        "open": "1",
        "high": "1",
        "low": "1",
        "close": "1",
        "volume": "100",
    }
    assert body["meta"]["pagination"]["next_cursor"] is None


def test_history_pages_with_cursors_and_caps_at_1000_points(api_client):
    folds = [(Fold.point(Decimal(1 + i), T0 + timedelta(minutes=i)), ["1m"]) for i in range(1005)]
    fold_many(folds)
    params = {"interval": "1m", "from": "2026-11-26T10:00:00Z", "to": "2026-11-27T04:00:00Z"}
    first = api_client.get("/api/market/history", {**params, "limit": 5000}).json()
    assert len(first["data"]) == 1000
    cursor = first["meta"]["pagination"]["next_cursor"]
    second = api_client.get("/api/market/history", {**params, "cursor": cursor}).json()
    assert [p["close"] for p in second["data"]] == ["1001", "1002", "1003", "1004", "1005"]
    assert second["meta"]["pagination"]["next_cursor"] is None
    small = api_client.get("/api/market/history", {**params, "limit": 2}).json()
    assert [p["close"] for p in small["data"]] == ["1", "2"]


def test_history_defaults_to_hourly_up_to_now(api_client):
    record("1", timezone.now() - timedelta(hours=3))
    data = api_client.get("/api/market/history").json()["data"]
    assert len(data) == 1 and MarketCandle.objects.filter(interval="1h").count() == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "2m"}, "interval"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-26T10:00:00Z", "to": "2026-11-25T10:00:00Z"}, "from"),
        ({"interval": "1m", "from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"to": "0001-01-01T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z", "interval": "1d"}, "from"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_history_bad_input_is_400(api_client, params, field):
    response = api_client.get("/api/market/history", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_market_endpoints_are_in_the_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/market/price",
        "/api/market/history",
        "/api/market/milestones",
        "/api/market/milestones/{milestone_id}/card.png",
        "/api/market/alerts",
        "/api/market/alerts/{alert_id}",
    ):
        assert path in schema["paths"], path
    assert (
        "image/png"
        in schema["paths"]["/api/market/milestones/{milestone_id}/card.png"]["get"]["responses"]["200"]["content"]
    )
