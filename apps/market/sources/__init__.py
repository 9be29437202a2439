"""Price sources behind one interface (`PriceSource.fetch_quote`), built from settings."""

from __future__ import annotations

import httpx
from django.conf import settings

from .base import PriceSource, Quote, SourceError, SourceNotConfigured
from .coingecko import CoinGeckoSource
from .dexscreener import DexScreenerSource
from .solscan import SolscanSource

__all__ = ["PriceSource", "Quote", "SourceError", "SourceNotConfigured", "build_sources", "http_client"]

_REGISTRY: dict[str, type[PriceSource]] = {
    DexScreenerSource.name: DexScreenerSource,
    CoinGeckoSource.name: CoinGeckoSource,
    SolscanSource.name: SolscanSource,
}


def build_source(name: str) -> PriceSource:
    mint = settings.TOKEN_MINT
    if name == "dexscreener":
        return DexScreenerSource(base_url=settings.DEXSCREENER_BASE_URL, mint=mint)
    if name == "coingecko":
        return CoinGeckoSource(base_url=settings.COINGECKO_BASE_URL, mint=mint, api_key=settings.COINGECKO_API_KEY)
    if name == "solscan":
        return SolscanSource(base_url=settings.SOLSCAN_BASE_URL, mint=mint, api_key=settings.SOLSCAN_API_KEY)
    raise ValueError(f"unknown market source {name!r}")


def build_sources() -> list[PriceSource]:
    """The configured sources in priority order (MARKET_SOURCES)."""
    return [build_source(n) for n in settings.MARKET_SOURCES if n in _REGISTRY]


def http_client() -> httpx.Client:
    timeout = httpx.Timeout(
        settings.MARKET_HTTP_TIMEOUT_SECONDS, connect=min(3.0, settings.MARKET_HTTP_TIMEOUT_SECONDS)
    )
    return httpx.Client(
        timeout=timeout,
        headers={"User-Agent": "successkid-backend/1.0 (+market)", "Accept": "application/json"},
        follow_redirects=False,
    )
