"""DEXScreener (primary): every pool of the token, pick the one with the most USD liquidity."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from .base import PriceSource, Quote, SourceError, get_json, to_decimal


class DexScreenerSource(PriceSource):
    name = "dexscreener"

    def fetch_quote(self, client: httpx.Client) -> Quote:
        body = get_json(client, f"{self.base_url}/token-pairs/v1/solana/{self.mint}", source=self.name)
        # /token-pairs/v1 answers an array; the older /latest/dex/tokens answers {"pairs": [...] | null}.
        pairs = body.get("pairs") if isinstance(body, dict) else body
        if not isinstance(pairs, list):
            raise SourceError(f"{self.name}: no pairs for the token")
        ours = [
            p
            for p in pairs
            if isinstance(p, dict)
            and p.get("chainId", "solana") == "solana"
            and (p.get("baseToken") or {}).get("address") == self.mint
        ]
        if not ours:
            raise SourceError(f"{self.name}: no pairs for the token")
        best = max(ours, key=lambda p: to_decimal((p.get("liquidity") or {}).get("usd")) or 0)
        change = best.get("priceChange") or {}
        market_cap = to_decimal(best.get("marketCap"))
        fdv = to_decimal(best.get("fdv"))
        return Quote(
            source=self.name,
            price_usd=to_decimal(best.get("priceUsd")),
            as_of=datetime.now(UTC),  # DEXScreener gives no quote time: it is live
            market_cap_usd=market_cap if market_cap is not None else fdv,
            fdv_usd=fdv,
            volume_24h_usd=to_decimal((best.get("volume") or {}).get("h24")),
            liquidity_usd=to_decimal((best.get("liquidity") or {}).get("usd")),
            change_1h_pct=to_decimal(change.get("h1")),
            change_24h_pct=to_decimal(change.get("h24")),
            pair_address=str(best.get("pairAddress") or "")[:64],
        )
