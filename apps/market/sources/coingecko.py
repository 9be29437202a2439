"""CoinGecko (fallback, and the backfill's history): simple token price by contract address."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from .base import PriceSource, Quote, SourceError, from_epoch, get_json, to_decimal


class CoinGeckoSource(PriceSource):
    name = "coingecko"

    def headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}
        # Paid plans use pro-api.coingecko.com and another header name than the demo plan.
        header = "x-cg-pro-api-key" if "pro-api" in self.base_url else "x-cg-demo-api-key"
        return {header: self.api_key}

    def fetch_quote(self, client: httpx.Client) -> Quote:
        params = {
            "contract_addresses": self.mint,
            "vs_currencies": "usd",
            "include_market_cap": "true",
            "include_24hr_vol": "true",
            "include_24hr_change": "true",
            "include_last_updated_at": "true",
        }
        body = get_json(
            client,
            f"{self.base_url}/simple/token_price/solana",
            params=params,
            headers=self.headers(),
            source=self.name,
        )
        if not isinstance(body, dict):
            raise SourceError(f"{self.name}: unexpected answer")
        # Keyed by contract address, in whatever case CoinGecko stores it; an unlisted token is {}.
        entry = next((v for k, v in body.items() if k.lower() == self.mint.lower()), None)
        if not isinstance(entry, dict):
            raise SourceError(f"{self.name}: token not listed")
        return Quote(
            source=self.name,
            price_usd=to_decimal(entry.get("usd")),
            as_of=from_epoch(entry.get("last_updated_at")) or datetime.now(UTC),
            market_cap_usd=to_decimal(entry.get("usd_market_cap")) or None,  # 0 means "unknown" here
            volume_24h_usd=to_decimal(entry.get("usd_24h_vol")),
            change_24h_pct=to_decimal(entry.get("usd_24h_change")),
        )

    def market_chart(self, client: httpx.Client, *, coin_id: str, days: int) -> dict[str, list[list[Any]]]:
        """`{"prices": [[ms, price]...], "total_volumes": [[ms, vol]...], ...}`."""
        body = get_json(
            client,
            f"{self.base_url}/coins/{coin_id}/market_chart",
            params={"vs_currency": "usd", "days": str(days)},
            headers=self.headers(),
            source=self.name,
        )
        if not isinstance(body, dict) or not isinstance(body.get("prices"), list):
            raise SourceError(f"{self.name}: unexpected market_chart answer")
        return body

    def ohlc(self, client: httpx.Client, *, coin_id: str, days: int) -> list[list[Any]]:
        """`[[ms_close, open, high, low, close], ...]`."""
        body = get_json(
            client,
            f"{self.base_url}/coins/{coin_id}/ohlc",
            params={"vs_currency": "usd", "days": str(days)},
            headers=self.headers(),
            source=self.name,
        )
        if not isinstance(body, list):
            raise SourceError(f"{self.name}: unexpected ohlc answer")
        return body
