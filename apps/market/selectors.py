"""Reads of the market area: the cached price (with its stale flag), history, milestones, alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.market.models import MarketCandle, MarketMilestone, MarketSnapshot, PriceAlert
from apps.market.pricing import (
    CACHE_SECONDS,
    EMPTY_PAYLOAD,
    POLL_FAILED_CACHE_KEY,
    PRICE_CACHE_KEY,
    snapshot_payload,
)


def price_current(*, now: datetime | None = None) -> dict[str, Any]:
    """The price resource, from the cache (the database when the cache is cold). `stale` is true
    when the last good quote is older than MARKET_STALE_SECONDS or the latest poll got nothing."""
    now = now or timezone.now()
    payload = cache.get(PRICE_CACHE_KEY)
    if payload is None:
        snapshot = MarketSnapshot.objects.order_by("-taken_at", "-id").first()
        if snapshot is None:
            return dict(EMPTY_PAYLOAD)
        payload = snapshot_payload(snapshot)
        cache.set(PRICE_CACHE_KEY, payload, CACHE_SECONDS)
    payload = dict(payload)
    fetched_at = parse_datetime(payload["fetched_at"])
    failed_at = cache.get(POLL_FAILED_CACHE_KEY)
    too_old = fetched_at < now - timedelta(seconds=settings.MARKET_STALE_SECONDS)
    failed_since = bool(failed_at) and parse_datetime(failed_at) >= fetched_at
    payload["stale"] = too_old or failed_since
    return payload


def current_market_cap() -> Decimal | None:
    payload = price_current()
    cap = payload.get("market_cap_usd")
    return Decimal(cap) if cap else None


def history_candles(*, interval: str, start: datetime, end: datetime) -> QuerySet[MarketCandle]:
    """Candles of one interval whose bucket starts in [start, end]; missing buckets stay missing."""
    return MarketCandle.objects.filter(interval=interval, bucket__gte=start, bucket__lte=end).only(
        "bucket", "open", "high", "low", "close", "volume"
    )


def milestone_list() -> QuerySet[MarketMilestone]:
    return MarketMilestone.objects.all()


def milestone_progress(milestone: MarketMilestone, cap: Decimal | None) -> Decimal | None:
    """Percent of the way to the threshold (100 once reached; None without a market cap)."""
    if milestone.reached_at is not None:
        return Decimal(100)
    if cap is None:
        return None
    return min(Decimal(100), (cap / milestone.market_cap_usd * 100)).quantize(Decimal("0.01"))


def milestone_runup(milestone: MarketMilestone, *, points: int = 96) -> list[Decimal]:
    """Closing prices before the milestone was reached (for the share card's sparkline): hourly over
    the week before, else 5-minute over the day before, else 1-minute over the last hours."""
    if milestone.reached_at is None:
        return []
    end = milestone.reached_at
    for interval, span in (("1h", timedelta(days=7)), ("5m", timedelta(days=1)), ("1m", timedelta(hours=2))):
        closes = list(
            MarketCandle.objects.filter(interval=interval, bucket__gte=end - span, bucket__lte=end)
            .order_by("-bucket")
            .values_list("close", flat=True)[:points]
        )
        if len(closes) >= 2:
            return closes[::-1]
    return []


def alert_list(*, user) -> QuerySet[PriceAlert]:
    return PriceAlert.objects.filter(user=user)
