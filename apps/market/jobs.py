"""OHLCV rollups at 1 m, 5 m, 1 h and 1 d, maintained by one upsert per interval as prices arrive.

Each fold is commutative enough for out-of-order arrivals: high/low take the extremes, open is the
price with the earliest time, close (and volume) the price with the latest time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection

from apps.market.models import Interval

INTERVAL_SECONDS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
INTERVALS = [Interval.M1.value, Interval.M5.value, Interval.H1.value, Interval.D1.value]


def bucket_start(t: datetime, interval: str) -> datetime:
    step = INTERVAL_SECONDS[interval]
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


@dataclass(frozen=True)
class Fold:
    """A price (or a finished candle) to fold into the buckets of some intervals."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    open_at: datetime
    close_at: datetime
    volume: Decimal | None = None

    @classmethod
    def point(cls, price: Decimal, t: datetime, volume: Decimal | None = None) -> Fold:
        return cls(price, price, price, price, t, t, volume)


_UPSERT = """
INSERT INTO market_candles AS c
    (interval, bucket, open, high, low, close, volume, open_at, close_at, samples)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1)
ON CONFLICT (interval, bucket) DO UPDATE SET
    open = CASE WHEN EXCLUDED.open_at < c.open_at THEN EXCLUDED.open ELSE c.open END,
    open_at = LEAST(c.open_at, EXCLUDED.open_at),
    high = GREATEST(c.high, EXCLUDED.high),
    low = LEAST(c.low, EXCLUDED.low),
    close = CASE WHEN EXCLUDED.close_at >= c.close_at THEN EXCLUDED.close ELSE c.close END,
    volume = CASE WHEN EXCLUDED.close_at >= c.close_at THEN COALESCE(EXCLUDED.volume, c.volume)
                  ELSE COALESCE(c.volume, EXCLUDED.volume) END,
    close_at = GREATEST(c.close_at, EXCLUDED.close_at),
    samples = c.samples + 1
"""


def fold_many(folds: list[tuple[Fold, list[str]]]) -> int:
    """Fold each (fold, intervals) into its buckets, in one round trip per batch."""
    rows = []
    for fold, intervals in folds:
        for interval in intervals:
            rows.append(
                (
                    interval,
                    bucket_start(fold.open_at, interval),
                    fold.open,
                    fold.high,
                    fold.low,
                    fold.close,
                    fold.volume,
                    fold.open_at,
                    fold.close_at,
                )
            )
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)
    return len(rows)


def fold_price(price: Decimal, t: datetime, volume: Decimal | None = None) -> None:
    fold_many([(Fold.point(price, t, volume), INTERVALS)])


def intervals_covering(span: timedelta) -> list[str]:
    """The intervals a candle of this span fits inside (a 30-minute candle fits 1 h and 1 d)."""
    return [
        i
        for i in INTERVALS
        if INTERVAL_SECONDS[i] >= span.total_seconds() and INTERVAL_SECONDS[i] % max(1, int(span.total_seconds())) == 0
    ]
