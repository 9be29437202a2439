"""Price sources behind one interface (`PriceSource.fetch_quote`), built from settings: a source is
registered once, in MARKET_SOURCE_REGISTRY (successkid/settings/components/market.py)."""

from __future__ import annotations

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from .base import PriceSource, Quote, SourceError, SourceNotConfigured

__all__ = [
    "PriceSource",
    "Quote",
    "SourceError",
    "SourceNotConfigured",
    "build_source",
    "build_sources",
    "http_client",
    "source_names",
]


def source_names() -> list[str]:
    """Every registered source (MARKET_SOURCE_REGISTRY in the market's settings), in its order."""
    return list(settings.MARKET_SOURCE_REGISTRY)


def build_source(name: str) -> PriceSource:
    """A registered source, configured from its NAME_BASE_URL (and NAME_API_KEY) settings."""
    spec = settings.MARKET_SOURCE_REGISTRY.get(name)
    if spec is None:
        raise ValueError(f"unknown market source {name!r}")
    prefix = name.upper()
    return import_string(spec["class"])(
        base_url=getattr(settings, f"{prefix}_BASE_URL"),
        mint=settings.TOKEN_MINT,
        api_key=getattr(settings, f"{prefix}_API_KEY", ""),
    )


def build_sources() -> list[PriceSource]:
    """The configured sources in priority order (MARKET_SOURCES)."""
    return [build_source(n) for n in settings.MARKET_SOURCES if n in settings.MARKET_SOURCE_REGISTRY]


def http_client() -> httpx.Client:
    timeout = httpx.Timeout(
        settings.MARKET_HTTP_TIMEOUT_SECONDS, connect=min(3.0, settings.MARKET_HTTP_TIMEOUT_SECONDS)
    )
    return httpx.Client(
        timeout=timeout,
        headers={"User-Agent": "successkid-backend/1.0 (+market)", "Accept": "application/json"},
        follow_redirects=False,
    )
