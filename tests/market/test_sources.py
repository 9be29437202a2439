"""Each adapter's real HTTP code against the recorded answers (respx at the transport level)."""

from decimal import Decimal

import httpx
import pytest
import respx

from apps.market.sources import SourceError, SourceNotConfigured, build_source, http_client

from .conftest import CG_URL, DEX_URL, MINT, SOLSCAN_URL, fixture_json, json_response


def fetch(name: str):
    with http_client() as client:
        return build_source(name).fetch_quote(client)


@respx.mock
def test_dexscreener_picks_the_pair_with_most_liquidity_not_the_first():
    pairs = fixture_json("dexscreener_token_pairs_v1.json")
    pairs.reverse()  # the small orca pool first: order must not matter
    respx.get(DEX_URL).mock(return_value=json_response(pairs))
    quote = fetch("dexscreener")
    assert quote.source == "dexscreener"
    assert quote.pair_address == "AQcSGRCYV78YundSsmR85Q98v8LRdxNnMufabQ1G5xvd"
    assert quote.price_usd == Decimal("0.0004213")
    assert quote.market_cap_usd == Decimal("421300000")
    assert quote.fdv_usd == Decimal("421300000")
    assert quote.volume_24h_usd == Decimal("2210934.12")
    assert quote.liquidity_usd == Decimal("1843210.55")
    assert quote.change_1h_pct == Decimal("-1.84")
    assert quote.change_24h_pct == Decimal("12.67")


@respx.mock
def test_dexscreener_accepts_the_older_pairs_object_shape():
    respx.get(DEX_URL).mock(return_value=json_response("dexscreener_latest_dex_tokens.json"))
    assert fetch("dexscreener").price_usd == Decimal("0.0004213")


@respx.mock
def test_dexscreener_pairs_null_is_a_source_error():
    respx.get(DEX_URL).mock(return_value=json_response("dexscreener_not_found.json"))
    with pytest.raises(SourceError, match="no pairs"):
        fetch("dexscreener")


@respx.mock
def test_dexscreener_null_price_and_missing_windows_are_none():
    body = fixture_json("dexscreener_degraded_price_null.json")
    del body[0]["priceChange"]["h1"]
    respx.get(DEX_URL).mock(return_value=json_response(body))
    quote = fetch("dexscreener")
    assert quote.price_usd is None
    assert quote.market_cap_usd is None
    assert quote.change_1h_pct is None
    assert quote.liquidity_usd == Decimal("1843210.55")


@respx.mock
def test_coingecko_matches_the_address_without_regard_to_case():
    body = {MINT.lower(): fixture_json("coingecko_simple_token_price_solana.json")[MINT]}
    route = respx.get(CG_URL).mock(return_value=json_response(body))
    quote = fetch("coingecko")
    assert quote.price_usd == Decimal("0.00042071")
    assert quote.market_cap_usd == Decimal("420710000.0")
    assert quote.volume_24h_usd == Decimal("2301776.5")
    assert quote.change_24h_pct == Decimal("11.93")
    assert quote.as_of.timestamp() == 1764149940
    params = route.calls.last.request.url.params
    assert params["contract_addresses"] == MINT
    assert params["include_last_updated_at"] == "true"


@respx.mock
def test_coingecko_unlisted_token_is_a_source_error():
    respx.get(CG_URL).mock(return_value=json_response({}))
    with pytest.raises(SourceError, match="not listed"):
        fetch("coingecko")


@respx.mock
def test_coingecko_sends_the_demo_key_header(settings):
    settings.COINGECKO_API_KEY = "cg-key"
    route = respx.get(CG_URL).mock(return_value=json_response("coingecko_simple_token_price_solana.json"))
    fetch("coingecko")
    assert route.calls.last.request.headers["x-cg-demo-api-key"] == "cg-key"


@respx.mock
def test_solscan_sends_its_key_and_parses():
    route = respx.get(SOLSCAN_URL).mock(return_value=json_response("solscan_token_price_latest.json"))
    quote = fetch("solscan")
    assert quote.price_usd == Decimal("0.00042102")
    assert quote.market_cap_usd == Decimal("421020000")
    assert quote.as_of.timestamp() == 1764149960
    request = route.calls.last.request
    assert request.headers["token"] == "solscan-test-key"
    assert request.url.params.get_list("address[]") == [MINT]


def test_solscan_without_a_key_is_not_configured(settings):
    settings.SOLSCAN_API_KEY = ""
    with respx.mock(assert_all_mocked=True), pytest.raises(SourceNotConfigured):
        fetch("solscan")


@respx.mock
def test_429_carries_retry_after():
    respx.get(CG_URL).mock(return_value=json_response("coingecko_429.json", status=429, headers={"Retry-After": "45"}))
    with pytest.raises(SourceError) as info:
        fetch("coingecko")
    assert info.value.rate_limited and info.value.retry_after == 45


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, text="oops"), "HTTP 500"),
        (httpx.Response(200, text="<html>Cloudflare</html>", headers={"content-type": "text/html"}), "not JSON"),
        (httpx.ConnectError("no route to host"), "unreachable"),
        (httpx.ReadTimeout("slow"), "timed out"),
    ],
)
def test_transport_and_body_failures_are_source_errors(response, message):
    with respx.mock:
        route = respx.get(DEX_URL)
        if isinstance(response, Exception):
            route.mock(side_effect=response)
        else:
            route.mock(return_value=response)
        with pytest.raises(SourceError, match=message):
            fetch("dexscreener")
