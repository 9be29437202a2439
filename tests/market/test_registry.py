"""A price source is registered in one place (MARKET_SOURCE_REGISTRY): its settings, the poller's
list and the API's help text all follow from that entry."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import respx

from apps.market import services
from apps.market.sources import PriceSource, Quote, build_sources
from apps.market.sources.base import get_json


class EchoSource(PriceSource):
    """A source only this test registers: it asks its base URL for a price."""

    name = "echo"

    def fetch_quote(self, client: httpx.Client) -> Quote:
        body = get_json(client, f"{self.base_url}/price/{self.mint}", source=self.name)
        return Quote(source=self.name, price_usd=Decimal(body["usd"]), as_of=datetime.now(UTC))


def test_the_registry_alone_names_the_sources_and_their_settings(settings):
    registered = list(settings.MARKET_SOURCE_REGISTRY)
    assert registered == ["dexscreener", "coingecko", "solscan"]
    # Test settings put every registered source on an unroutable host, keeping its default path.
    assert settings.DEXSCREENER_BASE_URL == "http://dexscreener.test"
    assert settings.COINGECKO_BASE_URL == "http://coingecko.test/api/v3"
    assert settings.SOLSCAN_BASE_URL == "http://solscan.test/v2.0"
    assert [s.name for s in build_sources()] == settings.MARKET_SOURCES


@pytest.mark.django_db
def test_a_newly_registered_source_is_polled_and_served(settings, api_client, django_capture_on_commit_callbacks):
    settings.MARKET_SOURCE_REGISTRY = {
        **settings.MARKET_SOURCE_REGISTRY,
        "echo": {"class": f"{__name__}.EchoSource", "base_url": "http://echo.test", "api_key": False},
    }
    settings.ECHO_BASE_URL = "http://echo.test"
    settings.MARKET_SOURCES = ["echo"]
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"http://echo.test/price/{settings.TOKEN_MINT}").mock(
            return_value=httpx.Response(200, json={"usd": "0.0005"})
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert services.poll_once().ok
    data = api_client.get("/api/market/price").json()["data"]
    assert (data["source"], data["price_usd"]) == ("echo", "0.0005")


def test_the_price_schema_names_the_registered_sources(api_client):
    schema = json.loads(api_client.get("/api/schema/?format=json").content)
    source = schema["components"]["schemas"]["Price"]["properties"]["source"]
    assert source["description"] == "dexscreener, coingecko or solscan"
