"""Polling: failover across all three sources, validation, source health, back-off, circuit breaker."""

import logging
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from apps.market import services
from apps.market.models import CircuitState, MarketSnapshot, SourceHealth

from .conftest import MINT, cg_body, dex_body, json_response, solscan_body
from .factories import MarketSnapshotFactory

pytestmark = pytest.mark.django_db


def test_dexscreener_first_when_healthy(sources):
    result = services.poll_once()
    assert result.ok
    assert result.snapshot.source == "dexscreener"
    assert result.snapshot.price_usd == Decimal("0.0004213")
    assert sources["coingecko"].call_count == 0  # fallbacks are not called when the primary answers
    assert MarketSnapshot.objects.count() == 1
    assert SourceHealth.objects.get(source="dexscreener").total_successes == 1


def test_failover_to_coingecko_then_solscan(sources):
    sources["dexscreener"].mock(return_value=httpx.Response(500))
    result = services.poll_once()
    assert result.snapshot.source == "coingecko"
    assert result.snapshot.price_usd == Decimal("0.00042071")

    # Both back off now; a later poll (after the back-off) with CoinGecko rate limited reaches Solscan.
    later = timezone.now() + timedelta(hours=1)
    sources["coingecko"].mock(return_value=json_response("coingecko_429.json", status=429))
    result = services.poll_once(now=later)
    assert result.snapshot.source == "solscan"
    assert result.snapshot.price_usd == Decimal("0.00042102")
    assert [s for s, _ in result.attempts] == ["dexscreener", "coingecko", "solscan"]


@pytest.mark.parametrize(
    "bad_dex",
    [
        json_response("dexscreener_not_found.json"),
        json_response("dexscreener_degraded_price_null.json"),
        json_response(dex_body("0")),
        json_response(dex_body("-0.0004")),
        httpx.Response(200, text="<!doctype html><title>Just a moment</title>", headers={"content-type": "text/html"}),
        httpx.Response(429, headers={"Retry-After": "30"}),
        json_response([{"baseToken": {"address": MINT}, "liquidity": [1, 2], "priceUsd": "0.0004"}]),
        json_response(dex_body("1e15")),
        json_response(dex_body("0.0004213", market_cap=-5)),
    ],
    ids=["pairs-null", "price-null", "zero", "negative", "html", "429", "odd-shape", "absurd", "huge-cap"],
)
def test_bad_primary_answers_fall_over_to_the_next_source(sources, bad_dex):
    sources["dexscreener"].mock(return_value=bad_dex)
    result = services.poll_once()
    assert result.snapshot.source == "coingecko"
    health = SourceHealth.objects.get(source="dexscreener")
    assert health.consecutive_failures == 1
    assert health.backoff_until > timezone.now()


def test_all_sources_failing_records_nothing_and_marks_stale(sources, api_client):
    MarketSnapshotFactory(price_usd=Decimal("0.0004"), taken_at=timezone.now() - timedelta(seconds=10))
    for route in sources.values():
        route.mock(side_effect=httpx.ConnectError("network is unreachable"))
    result = services.poll_once()
    assert not result.ok
    assert MarketSnapshot.objects.count() == 1
    body = api_client.get("/api/market/price").json()["data"]
    assert body["stale"] is True
    assert body["price_usd"] == "0.0004"  # the last good quote, labelled stale


def test_unconfirmed_ninety_percent_drop_is_rejected_and_the_other_source_wins(sources, caplog):
    MarketSnapshotFactory(price_usd=Decimal("0.0004213"), taken_at=timezone.now() - timedelta(seconds=30))
    sources["dexscreener"].mock(return_value=json_response(dex_body("0.00004213")))
    with caplog.at_level(logging.WARNING, logger="apps.market"):
        result = services.poll_once()
    assert result.snapshot.source == "coingecko"  # CoinGecko agrees with the last good quote
    assert result.snapshot.price_usd == Decimal("0.00042071")
    assert any("rejected dexscreener price 0.00004213" in r.getMessage() for r in caplog.records)
    # A quote that was merely unconfirmed does not count against the source's health.
    assert SourceHealth.objects.get(source="dexscreener").consecutive_failures == 0


def test_a_jump_confirmed_by_a_second_source_is_accepted(sources):
    MarketSnapshotFactory(price_usd=Decimal("0.0004213"), taken_at=timezone.now() - timedelta(seconds=30))
    sources["dexscreener"].mock(return_value=json_response(dex_body("0.00004213", 42130000)))
    sources["coingecko"].mock(return_value=json_response(cg_body(0.0000421, 42100000.0)))
    result = services.poll_once()
    assert result.snapshot.source == "dexscreener"
    assert result.snapshot.confirmed_by == "coingecko"
    assert result.snapshot.price_usd == Decimal("0.00004213")


def test_a_jump_confirmed_by_the_third_source_after_the_second_failed(sources):
    MarketSnapshotFactory(price_usd=Decimal("0.0004213"), taken_at=timezone.now() - timedelta(seconds=30))
    sources["dexscreener"].mock(return_value=json_response(dex_body("0.0021")))
    sources["coingecko"].mock(return_value=httpx.Response(503))
    sources["solscan"].mock(return_value=json_response(solscan_body(0.00209)))
    result = services.poll_once()
    assert (result.snapshot.source, result.snapshot.confirmed_by) == ("dexscreener", "solscan")


def test_disagreeing_jumps_are_all_rejected(sources, api_client):
    MarketSnapshotFactory(price_usd=Decimal("0.0004213"), taken_at=timezone.now() - timedelta(seconds=30))
    sources["dexscreener"].mock(return_value=json_response(dex_body("0.00004")))
    sources["coingecko"].mock(return_value=json_response(cg_body(0.004)))
    sources["solscan"].mock(return_value=json_response(solscan_body(0.0000001)))
    result = services.poll_once()
    assert not result.ok
    assert MarketSnapshot.objects.count() == 1
    assert api_client.get("/api/market/price").json()["data"]["stale"] is True


def test_first_quote_ever_has_nothing_to_jump_from(sources):
    sources["dexscreener"].mock(return_value=json_response(dex_body("123.45")))
    assert services.poll_once().snapshot.price_usd == Decimal("123.45")


def test_backing_off_source_is_not_called_and_warns_once_per_back_off(sources, caplog):
    sources["dexscreener"].mock(side_effect=httpx.ConnectError("network is unreachable"))
    now = timezone.now()
    with caplog.at_level(logging.WARNING, logger="apps.market.sources"):
        for i in range(10):  # ten polls, 30 s apart: the first failure backs off 30 s, then 60 s...
            services.poll_once(now=now + timedelta(seconds=30 * i))
    warnings = [r for r in caplog.records if "dexscreener" in r.getMessage()]
    calls = sources["dexscreener"].call_count
    assert len(warnings) == calls  # exactly one warning per back-off, none while backing off
    assert calls < 10 / 2  # exponential back-off: far fewer calls than polls
    assert "backing off" in warnings[0].getMessage()


def test_429_honours_retry_after(sources):
    sources["coingecko"].mock(
        return_value=json_response("coingecko_429.json", status=429, headers={"Retry-After": "120"})
    )
    sources["dexscreener"].mock(return_value=httpx.Response(500))
    now = timezone.now()
    services.poll_once(now=now)
    health = SourceHealth.objects.get(source="coingecko")
    assert health.backoff_until == now + timedelta(seconds=120)
    assert "429" in health.last_error


def test_circuit_opens_after_repeated_failures_and_closes_on_success(sources, settings):
    settings.MARKET_CIRCUIT_THRESHOLD = 3
    sources["dexscreener"].mock(return_value=httpx.Response(502))
    t = timezone.now()
    for _ in range(3):
        health = SourceHealth.objects.filter(source="dexscreener").first()
        if health and health.backoff_until:
            t = health.backoff_until + timedelta(seconds=1)
        services.poll_once(now=t)
    health = SourceHealth.objects.get(source="dexscreener")
    assert health.state == CircuitState.OPEN
    assert health.backoff_until >= t + timedelta(seconds=settings.MARKET_CIRCUIT_COOLDOWN_SECONDS)

    sources["dexscreener"].mock(return_value=json_response("dexscreener_token_pairs_v1.json"))
    before = sources["dexscreener"].call_count
    services.poll_once(now=t + timedelta(seconds=60))  # still open: not called
    assert sources["dexscreener"].call_count == before
    result = services.poll_once(now=health.backoff_until + timedelta(seconds=1))  # probe
    assert result.snapshot.source == "dexscreener"
    health.refresh_from_db()
    assert (health.state, health.consecutive_failures, health.backoff_until) == (CircuitState.CLOSED, 0, None)


def test_market_sources_endpoint_shows_health(sources, api_client):
    sources["dexscreener"].mock(return_value=httpx.Response(500))
    services.poll_once()
    rows = {r["source"]: r for r in api_client.get("/api/market/sources").json()["data"]}
    assert rows["dexscreener"]["consecutive_failures"] == 1
    assert rows["dexscreener"]["last_error"] == "dexscreener: HTTP 500"
    assert rows["coingecko"]["state"] == "closed"


def test_large_but_possible_price_is_stored_exactly(sources):
    sources["dexscreener"].mock(return_value=json_response(dex_body("99999999999.123456789012345678", 10**15)))
    assert services.poll_once().snapshot.price_usd == Decimal("99999999999.123456789012345678")
