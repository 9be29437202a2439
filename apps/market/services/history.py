"""The stored price history: retention per resolution, CoinGecko backfill and the milestone seed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.market.jobs import INTERVALS, Fold, bucket_start, fold_many, intervals_covering
from apps.market.models import MarketCandle, MarketMilestone, MarketSnapshot
from apps.market.sources import build_source, http_client
from apps.market.sources.base import from_epoch, to_decimal

from .validation import _TICK, ABSURD_PRICE, _lock_market_writes, _quant

logger = logging.getLogger("apps.market")

# --- retention -------------------------------------------------------------------------------


def _delete_in_batches(sql: str, params: list, batch: int = 5000) -> int:
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, batch])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch:
            return total


def enforce_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is older than each resolution's retention (MARKET_RETENTION_DAYS; 0 = forever).
    The newest snapshot always stays: it is the last good quote."""
    now = now or timezone.now()
    deleted: dict[str, int] = {}
    for resolution, days in settings.MARKET_RETENTION_DAYS.items():
        if not days or days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        if resolution == "raw":
            table = MarketSnapshot._meta.db_table
            deleted["raw"] = _delete_in_batches(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE taken_at < %s "  # noqa: S608
                f"AND id <> (SELECT id FROM {table} ORDER BY taken_at DESC, id DESC LIMIT 1) LIMIT %s)",
                [cutoff],
            )
        elif resolution in INTERVALS:
            table = MarketCandle._meta.db_table
            deleted[resolution] = _delete_in_batches(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608
                "WHERE interval = %s AND bucket < %s LIMIT %s)",
                [resolution, cutoff],
            )
    if any(deleted.values()):
        logger.info("market retention: deleted %s", deleted)
    return deleted


# --- backfill --------------------------------------------------------------------------------


def _spacing(stamps: list[int]) -> timedelta:
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False) if b > a)
    return timedelta(milliseconds=gaps[len(gaps) // 2]) if gaps else timedelta(minutes=5)


def backfill(
    *,
    days: int,
    coin_id: str,
    progress: Callable[[Iterable, int], Iterable] | None = None,
    client_factory: Callable = http_client,
) -> dict[str, int]:
    """Fill the candles from CoinGecko's market chart (prices, rolling 24 h volumes) and OHLC
    endpoints. Points go into every interval at least as coarse as their spacing (5-minute points
    into 5m/1h/1d; hourly into 1h/1d), candles into the intervals they fit inside (30-minute candles
    into 1h/1d). Nothing is invented for missing buckets. Idempotent: re-running folds the same
    values into the same buckets."""
    source = build_source("coingecko")
    with client_factory() as client:
        chart = source.market_chart(client, coin_id=coin_id, days=days)
        ohlc = source.ohlc(client, coin_id=coin_id, days=days)
    volumes = {}
    for row in chart.get("total_volumes") or []:
        if isinstance(row, list) and len(row) >= 2:
            volumes[row[0]] = to_decimal(row[1])
    folds: list[tuple[Fold, list[str]]] = []
    points = [r for r in chart.get("prices") or [] if isinstance(r, list) and len(r) >= 2]
    point_intervals = intervals_covering(_spacing([int(r[0]) for r in points if isinstance(r[0], int | float)]))
    skipped = 0
    for ms, raw_price in points:
        price, t = to_decimal(raw_price), from_epoch(ms, millis=True)
        if price is None or price <= 0 or t is None:
            skipped += 1
            continue
        if price >= ABSURD_PRICE:
            skipped += 1
            continue
        volume = volumes.get(ms)
        volume = _quant(volume, 4) if volume is not None and 0 <= volume < Decimal(10) ** 24 else None
        folds.append((Fold.point(_quant(price, 18), t, volume), point_intervals))
    candles = [r for r in ohlc if isinstance(r, list) and len(r) >= 5]
    span = _spacing([int(r[0]) for r in candles if isinstance(r[0], int | float)])
    candle_intervals = intervals_covering(span)
    for ms, *ohlc_values in candles:
        values = [to_decimal(v) for v in ohlc_values[:4]]
        close_at = from_epoch(ms, millis=True)
        if close_at is None or any(v is None or v <= 0 or v >= ABSURD_PRICE for v in values):
            skipped += 1
            continue
        o, h, lo, c = (_quant(v, 18) for v in values)
        if not (lo <= min(o, c) and h >= max(o, c)):
            skipped += 1
            continue
        open_at = close_at - span
        # Only into buckets that hold the whole candle: CoinGecko's 30-minute candles may close at
        # :10 and :40, and one straddling two hours says nothing about either alone.
        inside = [i for i in candle_intervals if bucket_start(open_at, i) == bucket_start(close_at - _TICK, i)]
        if inside:
            folds.append((Fold(o, h, lo, c, open_at, close_at - _TICK), inside))
    chunks = [folds[i : i + 200] for i in range(0, len(folds), 200)]
    iterator = progress(chunks, len(folds)) if progress else chunks
    written = 0
    for chunk in iterator:
        with transaction.atomic():
            _lock_market_writes()
            written += fold_many(chunk)
    return {"points": len(points), "candles": len(candles), "skipped": skipped, "buckets_written": written}


# --- milestones ------------------------------------------------------------------------------


def load_milestones(rows: list[dict]) -> int:
    """Create missing milestones by threshold (natural key). Existing ones keep their admin edits."""
    created = 0
    for row in rows:
        _, was_created = MarketMilestone.objects.get_or_create(
            market_cap_usd=Decimal(str(row["market_cap_usd"])), defaults={"label": row["label"]}
        )
        created += int(was_created)
    return created
