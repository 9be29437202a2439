"""Shapes and cache of the price resource (API.md "price"), shared by services and selectors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.market.models import MarketSnapshot

PRICE_CACHE_KEY = "market:price:v1"
POLL_FAILED_CACHE_KEY = "market:poll-failed-at:v1"
BROADCAST_THROTTLE_KEY = "market:price-broadcast:v1"
CACHE_SECONDS = 7 * 24 * 3600


def dec_str(value: Decimal | None) -> str | None:
    """A decimal as a plain string without exponent or trailing zeros ("0.0004213")."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def snapshot_payload(snapshot: MarketSnapshot) -> dict[str, Any]:
    return {
        "price_usd": dec_str(snapshot.price_usd),
        "market_cap_usd": dec_str(snapshot.market_cap_usd),
        "fdv_usd": dec_str(snapshot.fdv_usd),
        "change_1h_pct": dec_str(snapshot.change_1h_pct),
        "change_24h_pct": dec_str(snapshot.change_24h_pct),
        "volume_24h_usd": dec_str(snapshot.volume_24h_usd),
        "liquidity_usd": dec_str(snapshot.liquidity_usd),
        "source": snapshot.source,
        "confirmed_by": snapshot.confirmed_by or None,
        "as_of": iso(snapshot.as_of),
        "fetched_at": iso(snapshot.taken_at),
        "stale": False,
    }


EMPTY_PAYLOAD: dict[str, Any] = {
    "price_usd": None,
    "market_cap_usd": None,
    "fdv_usd": None,
    "change_1h_pct": None,
    "change_24h_pct": None,
    "volume_24h_usd": None,
    "liquidity_usd": None,
    "source": None,
    "confirmed_by": None,
    "as_of": None,
    "fetched_at": None,
    "stale": True,
}
