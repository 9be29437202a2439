"""Solscan Pro (fallback): latest token price; needs an API key (header `token`)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from .base import PriceSource, Quote, SourceError, SourceNotConfigured, from_epoch, get_json, to_decimal


class SolscanSource(PriceSource):
    name = "solscan"

    def fetch_quote(self, client: httpx.Client) -> Quote:
        if not self.api_key:
            raise SourceNotConfigured(f"{self.name}: SOLSCAN_API_KEY is not set")
        body = get_json(
            client,
            f"{self.base_url}/token/price/latest",
            params=[("address[]", self.mint)],
            headers={"token": self.api_key},
            source=self.name,
        )
        if not isinstance(body, dict) or body.get("success") is False:
            raise SourceError(f"{self.name}: request not successful")
        rows = body.get("data")
        if isinstance(rows, dict):
            rows = [rows]
        entry = next(
            (r for r in rows or [] if isinstance(r, dict) and str(r.get("address", "")).lower() == self.mint.lower()),
            None,
        )
        if entry is None:
            raise SourceError(f"{self.name}: token not in the answer")
        return Quote(
            source=self.name,
            price_usd=to_decimal(entry.get("price")),
            as_of=from_epoch(entry.get("updated_time")) or datetime.now(UTC),
            market_cap_usd=to_decimal(entry.get("market_cap")) or None,
            change_24h_pct=to_decimal(entry.get("price_change_24h")),
        )
