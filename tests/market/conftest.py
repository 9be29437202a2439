from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from django.core.cache import cache

FIXTURES = Path(__file__).parent / "fixtures"
MINT = "4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW"
DEX_URL = f"http://dexscreener.test/token-pairs/v1/solana/{MINT}"
CG_URL = "http://coingecko.test/api/v3/simple/token_price/solana"
SOLSCAN_URL = "http://solscan.test/v2.0/token/price/latest"


def fixture_json(name: str):
    return json.loads((FIXTURES / name).read_text())


def json_response(name_or_body, status: int = 200, **kwargs) -> httpx.Response:
    body = fixture_json(name_or_body) if isinstance(name_or_body, str) else name_or_body
    return httpx.Response(status, json=body, **kwargs)


def dex_body(price: str, market_cap: float = 421300000) -> list:
    """The token-pairs fixture with the most liquid pair's price (and market cap) replaced."""
    pairs = fixture_json("dexscreener_token_pairs_v1.json")
    pairs[0]["priceUsd"] = price
    pairs[0]["marketCap"] = market_cap
    pairs[0]["fdv"] = market_cap
    return pairs


def cg_body(price: float, market_cap: float = 420710000.0) -> dict:
    body = fixture_json("coingecko_simple_token_price_solana.json")
    body[MINT]["usd"] = price
    body[MINT]["usd_market_cap"] = market_cap
    return body


def solscan_body(price: float, market_cap: float = 421020000) -> dict:
    body = fixture_json("solscan_token_price_latest.json")
    body["data"][0]["price"] = price
    body["data"][0]["market_cap"] = market_cap
    return body


@pytest.fixture(autouse=True)
def market_settings(settings):
    settings.SOLSCAN_API_KEY = "solscan-test-key"
    settings.COINGECKO_API_KEY = ""
    settings.MARKET_SOURCES = ["dexscreener", "coingecko", "solscan"]
    settings.MARKET_MILESTONE_CONFIRM_SECONDS = 600
    settings.MARKET_BROADCAST_MIN_SECONDS = 5
    settings.MARKET_MOVE_PCT = 10.0
    settings.MARKET_MOVE_WINDOW_MINUTES = 60
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def sources():
    """A respx router with one route per source (all answering their fixtures by default); no
    request can leave the process."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        routes = {
            "dexscreener": router.get(DEX_URL).mock(return_value=json_response("dexscreener_token_pairs_v1.json")),
            "coingecko": router.get(CG_URL).mock(
                return_value=json_response("coingecko_simple_token_price_solana.json")
            ),
            "solscan": router.get(SOLSCAN_URL).mock(return_value=json_response("solscan_token_price_latest.json")),
        }
        yield routes


@pytest.fixture
def broadcasts(monkeypatch):
    """Every realtime broadcast that actually leaves (after commit), as (topic, event, data)."""
    from apps.core import push

    sent: list[tuple] = []
    monkeypatch.setattr(push, "broadcast_now", lambda topic, event, data: sent.append((topic, event, data)))
    return sent


@pytest.fixture
def emitted():
    """Every market domain event delivered to receivers."""
    from apps.core import events
    from apps.market import events as market_events

    got: list = []
    kinds = [
        market_events.PriceUpdated,
        market_events.MilestoneReached,
        market_events.MarketMoved,
        market_events.PriceAlertTriggered,
    ]
    for kind in kinds:
        events.subscribe(kind, got.append)
    yield got
    for kind in kinds:
        events.unsubscribe(kind, got.append)
