"""Rollups: a known series gives known candles; retention per resolution."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.market import services
from apps.market.models import MarketCandle, MarketSnapshot
from apps.market.sources import Quote

from .factories import MarketSnapshotFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def record(price: str, at: datetime, volume: str | None = None):
    quote = Quote(
        source="dexscreener",
        price_usd=Decimal(price),
        as_of=at,
        market_cap_usd=Decimal(price) * 10**12,
        volume_24h_usd=Decimal(volume) if volume else None,
    )
    return services.record_quote(quote=quote, taken_at=at)


def candles(interval: str):
    return [
        (c.bucket, c.open, c.high, c.low, c.close, c.volume)
        for c in MarketCandle.objects.filter(interval=interval).order_by("bucket")
    ]


def test_known_series_gives_known_candles():
    series = [
        ("1.00", 0, "100"),
        ("1.50", 20, "110"),
        ("0.90", 50, "120"),
        ("1.20", 70, "130"),  # next minute
        ("1.10", 310, "140"),  # next 5-minute bucket
        ("2.00", 3650, "150"),  # next hour
    ]
    for price, seconds, volume in series:
        record(price, T0 + timedelta(seconds=seconds), volume)
    D = Decimal
    assert candles("1m") == [
        (T0, D("1"), D("1.5"), D("0.9"), D("0.9"), D("120")),
        (T0 + timedelta(minutes=1), D("1.2"), D("1.2"), D("1.2"), D("1.2"), D("130")),
        (T0 + timedelta(minutes=5), D("1.1"), D("1.1"), D("1.1"), D("1.1"), D("140")),
        (T0 + timedelta(minutes=60), D("2"), D("2"), D("2"), D("2"), D("150")),
    ]
    assert candles("5m") == [
        (T0, D("1"), D("1.5"), D("0.9"), D("1.2"), D("130")),
        (T0 + timedelta(minutes=5), D("1.1"), D("1.1"), D("1.1"), D("1.1"), D("140")),
        (T0 + timedelta(minutes=60), D("2"), D("2"), D("2"), D("2"), D("150")),
    ]
    assert candles("1h") == [
        (T0, D("1"), D("1.5"), D("0.9"), D("1.1"), D("140")),
        (T0 + timedelta(hours=1), D("2"), D("2"), D("2"), D("2"), D("150")),
    ]
    assert candles("1d") == [(T0 - timedelta(hours=10), D("1"), D("2"), D("0.9"), D("2"), D("150"))]
    assert MarketCandle.objects.get(interval="1d").samples == 6


def test_out_of_order_quote_keeps_open_and_close_by_time():
    record("2.00", T0 + timedelta(seconds=30))
    record("3.00", T0 + timedelta(seconds=50))
    record("1.00", T0 + timedelta(seconds=10))  # arrives late, but is the earliest
    c = MarketCandle.objects.get(interval="1m")
    assert (c.open, c.high, c.low, c.close) == (Decimal("1"), Decimal("3"), Decimal("1"), Decimal("3"))


def test_retention_per_resolution(settings):
    settings.MARKET_RETENTION_DAYS = {"raw": 7, "1m": 21, "5m": 90, "1h": 365, "1d": 0}
    now = T0
    for days in (400, 100, 30, 10, 1):
        record("1.00", now - timedelta(days=days))
    # Make every raw snapshot older than the raw retention, the newest being `latest` (50 days old):
    # polling stopped long ago, yet the last good quote must survive.
    MarketSnapshot.objects.filter(taken_at__gt=now - timedelta(days=60)).update(taken_at=now - timedelta(days=60))
    latest = MarketSnapshotFactory(taken_at=now - timedelta(days=50))
    deleted = services.enforce_retention(now=now)
    # raw: everything older than 7 days goes except the newest snapshot (the last good quote).
    remaining = list(MarketSnapshot.objects.values_list("taken_at", flat=True))
    assert remaining == [latest.taken_at]
    assert deleted["raw"] == 5
    ages = lambda interval: sorted(  # noqa: E731
        (now - c.bucket).days for c in MarketCandle.objects.filter(interval=interval)
    )
    assert ages("1m") == [1, 10]  # 21 days
    assert ages("5m") == [1, 10, 30]  # 90 days
    assert ages("1h") == [1, 10, 30, 100]  # a year
    assert len(ages("1d")) == 5  # forever
    # Idempotent.
    assert services.enforce_retention(now=now) == {"raw": 0, "1m": 0, "5m": 0, "1h": 0}
