"""Every write of the market area: polling with failover and validation, recording a quote (with
its rollups, milestones, moves, alerts and broadcasts), retention, backfill and alert CRUD."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core import events, realtime
from apps.core.exceptions import Conflict, ValidationFailed
from apps.market import health as source_health
from apps.market.events import MarketMoved, MilestoneReached, PriceAlertTriggered, PriceUpdated
from apps.market.models import (
    AlertKind,
    AlertStatus,
    MarketCandle,
    MarketMilestone,
    MarketMove,
    MarketSnapshot,
    PriceAlert,
)
from apps.market.pricing import (
    BROADCAST_THROTTLE_KEY,
    CACHE_SECONDS,
    POLL_FAILED_CACHE_KEY,
    PRICE_CACHE_KEY,
    dec_str,
    iso,
    snapshot_payload,
)
from apps.market.rollups import INTERVALS, Fold, bucket_start, fold_many, fold_price, intervals_covering
from apps.market.sources import PriceSource, Quote, SourceError, SourceNotConfigured, build_sources, http_client
from apps.market.sources.base import from_epoch, to_decimal
from apps.market.sources.coingecko import CoinGeckoSource

logger = logging.getLogger("apps.market")

# Serialises every write to the market series (any process), so rollups, milestones and alerts see
# quotes one at a time. Arbitrary constants, unique within this project.
_WRITE_LOCK = 0x5C1D_0001
_POLL_LOCK = 0x5C1D_0002
ABSURD_PRICE = Decimal(10) ** 12  # no token quote is this large; the price columns stop at 10^20
MAX_STORED_PCT = Decimal("9999999999.99")


def _quant(value: Decimal, places: int) -> Decimal:
    """Round to `places` decimals with enough precision for any value the columns can hold (the
    default context's 28 digits cannot quantize 10^11 to 18 places)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


_TICK = timedelta(microseconds=1)
# A jump is judged against the last good quote only while that quote is this recent.
JUMP_REFERENCE_MAX_AGE = timedelta(hours=6)


def _lock_market_writes() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_WRITE_LOCK])


# --- validation ------------------------------------------------------------------------------


def quote_problem(quote: Quote) -> str | None:
    """Why a quote is unusable on its own (None if it is fine)."""
    if quote.price_usd is None:
        return "price is null"
    if quote.price_usd <= 0:
        return f"price is not positive ({quote.price_usd})"
    if quote.price_usd >= ABSURD_PRICE:
        return f"price is absurd ({quote.price_usd})"
    for name in ("market_cap_usd", "fdv_usd", "volume_24h_usd", "liquidity_usd"):
        value = getattr(quote, name)
        if value is not None and value < 0:
            return f"{name} is negative ({value})"
    return None


def change_pct(new: Decimal, old: Decimal) -> Decimal:
    return (new - old) / old * 100


def is_jump(price: Decimal, reference: Decimal) -> bool:
    return abs(change_pct(price, reference)) > Decimal(str(settings.MARKET_MAX_JUMP_PCT))


def agree(a: Decimal, b: Decimal) -> bool:
    return abs(change_pct(a, b)) <= Decimal(str(settings.MARKET_CONFIRM_TOLERANCE_PCT))


def _sanitise(quote: Quote) -> Quote:
    """Fit numbers into the columns (18 decimal places for prices, 4 for the rest)."""

    def q(value: Decimal | None, places: int) -> Decimal | None:
        if value is None:
            return None
        value = _quant(value, places)
        return value if abs(value) < Decimal(10) ** (30 - places - 4) else None

    return quote.with_(
        price_usd=_quant(quote.price_usd, 18) if quote.price_usd else None,
        market_cap_usd=q(quote.market_cap_usd, 4),
        fdv_usd=q(quote.fdv_usd, 4),
        volume_24h_usd=q(quote.volume_24h_usd, 4),
        liquidity_usd=q(quote.liquidity_usd, 4),
        change_1h_pct=q(quote.change_1h_pct, 4)
        if quote.change_1h_pct is None or abs(quote.change_1h_pct) < 10**9
        else None,
        change_24h_pct=q(quote.change_24h_pct, 4)
        if quote.change_24h_pct is None or abs(quote.change_24h_pct) < 10**9
        else None,
    )


# --- polling ---------------------------------------------------------------------------------


@dataclass
class PollResult:
    snapshot: MarketSnapshot | None = None
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (source, outcome)

    @property
    def ok(self) -> bool:
        return self.snapshot is not None


def poll_once(
    *, now: datetime | None = None, sources: list[PriceSource] | None = None, force: bool = False
) -> PollResult:
    """Ask the sources in order until one gives a valid quote; a quote that jumps absurdly from the
    last good one is accepted only when another source agrees with it. Records the accepted quote,
    or marks the price stale when every source failed. `force` (an operator's `market_poll
    --once`) asks sources that are still backing off too."""
    now = now or timezone.now()
    sources = build_sources() if sources is None else sources
    result = PollResult()
    rows = source_health.health_rows([s.name for s in sources])
    last = MarketSnapshot.objects.order_by("-taken_at", "-id").first()
    reference = last.price_usd if last and last.taken_at >= now - JUMP_REFERENCE_MAX_AGE else None
    jumpy: list[Quote] = []
    accepted: Quote | None = None
    confirmed_by = ""
    with http_client() as client:
        for source in sources:
            health = rows[source.name]
            if not force and not source_health.may_call(health, now=now):
                result.attempts.append((source.name, "backing off"))
                continue
            source_health.mark_probe(health, now=now)
            started = time.monotonic()
            try:
                quote = source.fetch_quote(client)
            except SourceNotConfigured as exc:
                result.attempts.append((source.name, f"not configured: {exc}"))
                continue
            except SourceError as exc:
                source_health.record_failure(source=source.name, now=now, error=str(exc), retry_after=exc.retry_after)
                result.attempts.append((source.name, str(exc)))
                continue
            except Exception as exc:  # an answer shaped like nothing we know: a failure, not a crash
                error = f"{source.name}: unexpected answer ({type(exc).__name__}: {exc})"
                logger.debug("market source %s parse failure", source.name, exc_info=True)
                source_health.record_failure(source=source.name, now=now, error=error)
                result.attempts.append((source.name, error))
                continue
            problem = quote_problem(quote)
            if problem:
                error = f"{source.name}: rejected quote: {problem}"
                source_health.record_failure(source=source.name, now=now, error=error)
                result.attempts.append((source.name, error))
                continue
            source_health.record_success(
                source=source.name, now=now, latency_ms=int((time.monotonic() - started) * 1000)
            )
            quote = _sanitise(quote)
            if reference is None or not is_jump(quote.price_usd, reference):
                result.attempts.append((source.name, "accepted"))
                accepted = quote
                break
            confirming = next((q for q in jumpy if agree(q.price_usd, quote.price_usd)), None)
            if confirming is not None:
                result.attempts.append((source.name, f"confirms {confirming.source}"))
                accepted, confirmed_by = confirming, source.name
                break
            jumpy.append(quote)
            result.attempts.append(
                (source.name, f"unconfirmed jump of {change_pct(quote.price_usd, reference):.1f}%: held back")
            )
    for quote in jumpy:
        if accepted is not quote:
            logger.warning(
                "market: rejected %s price %s: %.1f%% from the last good %s and no other source confirms",
                quote.source,
                dec_str(quote.price_usd),
                change_pct(quote.price_usd, reference),
                dec_str(reference),
            )
    if accepted is None:
        cache.set(POLL_FAILED_CACHE_KEY, iso(now), CACHE_SECONDS)
        return result
    # Never date a quote in the future of when we fetched it (source clocks drift).
    accepted = accepted.with_(as_of=min(accepted.as_of, now))
    result.snapshot = record_quote(quote=accepted, taken_at=now, confirmed_by=confirmed_by)
    return result


def poll_guarded(**kwargs) -> PollResult | None:
    """poll_once unless another process is polling right now (then None)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_POLL_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("market: a poll is already running; skipped")
            return None
    try:
        return poll_once(**kwargs)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_POLL_LOCK])


# --- recording a quote -----------------------------------------------------------------------


@transaction.atomic
def record_quote(*, quote: Quote, taken_at: datetime, confirmed_by: str = "") -> MarketSnapshot:
    """Store an accepted quote and do everything that follows from it: rollups, cache, milestones,
    moves, alerts, `PriceUpdated` and a throttled `price.updated` broadcast."""
    if quote_problem(quote):
        raise ValidationFailed(f"Invalid quote: {quote_problem(quote)}")
    _lock_market_writes()
    previous = MarketSnapshot.objects.order_by("-taken_at", "-id").first()
    snapshot = MarketSnapshot.objects.create(
        taken_at=taken_at,
        as_of=quote.as_of,
        source=quote.source,
        confirmed_by=confirmed_by,
        pair_address=quote.pair_address,
        price_usd=quote.price_usd,
        market_cap_usd=quote.market_cap_usd,
        fdv_usd=quote.fdv_usd,
        volume_24h_usd=quote.volume_24h_usd,
        liquidity_usd=quote.liquidity_usd,
        change_1h_pct=quote.change_1h_pct,
        change_24h_pct=quote.change_24h_pct,
    )
    fold_price(snapshot.price_usd, snapshot.taken_at, snapshot.volume_24h_usd)
    payload = snapshot_payload(snapshot)
    if previous is None or snapshot.taken_at >= previous.taken_at:

        def _cache() -> None:
            cache.set(PRICE_CACHE_KEY, payload, CACHE_SECONDS)
            cache.delete(POLL_FAILED_CACHE_KEY)

        transaction.on_commit(_cache)
    _check_milestones(snapshot)
    _check_move(snapshot)
    _evaluate_alerts(snapshot)
    events.emit(PriceUpdated(snapshot_id=snapshot.id))
    if (previous is None or previous.price_usd != snapshot.price_usd) and cache.add(
        BROADCAST_THROTTLE_KEY, 1, settings.MARKET_BROADCAST_MIN_SECONDS
    ):
        realtime.broadcast("market", "price.updated", payload)
    return snapshot


def _check_milestones(snapshot: MarketSnapshot) -> None:
    cap, t = snapshot.market_cap_usd, snapshot.taken_at
    if cap is None:
        return  # no market cap in this quote: neither confirms nor breaks a run
    open_ = MarketMilestone.objects.filter(reached_at__isnull=True)
    # Fell back below: the run restarts (one spike never confirms a milestone).
    open_.filter(above_since__isnull=False, market_cap_usd__gt=cap).update(above_since=None)
    open_.filter(above_since__isnull=True, market_cap_usd__lte=cap).update(above_since=t)
    window = timedelta(seconds=settings.MARKET_MILESTONE_CONFIRM_SECONDS)
    due = list(
        open_.filter(market_cap_usd__lte=cap, above_since__lte=t - window)
        .order_by("market_cap_usd")
        .values_list("id", "label", "market_cap_usd")
    )
    for milestone_id, label, threshold in due:
        # Conditional on still being unreached: recorded exactly once, whoever gets here first.
        recorded = MarketMilestone.objects.filter(id=milestone_id, reached_at__isnull=True).update(
            reached_at=t,
            reached_price_usd=snapshot.price_usd,
            reached_market_cap_usd=cap,
            reached_snapshot_id=snapshot.id,
        )
        if not recorded:
            continue
        logger.info("market: milestone %s reached at %s (market cap %s)", label, iso(t), dec_str(cap))
        events.emit(MilestoneReached(milestone_id=milestone_id))
        realtime.broadcast(
            "market",
            "milestone.reached",
            {
                "id": milestone_id,
                "label": label,
                "market_cap_usd": dec_str(threshold),
                "reached_at": iso(t),
                "price_usd": dec_str(snapshot.price_usd),
                "reached_market_cap_usd": dec_str(cap),
                "card_url": f"/api/market/milestones/{milestone_id}/card.png",
            },
        )


def _check_move(snapshot: MarketSnapshot) -> None:
    window = settings.MARKET_MOVE_WINDOW_MINUTES
    since = snapshot.taken_at - timedelta(minutes=window)
    reference = (
        MarketSnapshot.objects.filter(taken_at__gte=since, taken_at__lt=snapshot.taken_at)
        .order_by("taken_at", "id")
        .only("price_usd")
        .first()
    )
    if reference is None:
        return
    change = change_pct(snapshot.price_usd, reference.price_usd)
    if abs(change) < Decimal(str(settings.MARKET_MOVE_PCT)):
        return
    if MarketMove.objects.filter(detected_at__gt=since).exists():
        return  # at most one announcement per window
    change = max(min(_quant(change, 2), MAX_STORED_PCT), -MAX_STORED_PCT)
    MarketMove.objects.create(
        detected_at=snapshot.taken_at,
        change_pct=change,
        window_minutes=window,
        reference_price_usd=reference.price_usd,
        price_usd=snapshot.price_usd,
        snapshot_id=snapshot.id,
    )
    events.emit(MarketMoved(change_pct=dec_str(change), window_minutes=window, snapshot_id=snapshot.id))
    realtime.broadcast(
        "market",
        "market.moved",
        {
            "change_pct": dec_str(change),
            "window_minutes": window,
            "direction": "up" if change > 0 else "down",
            "price_usd": dec_str(snapshot.price_usd),
            "reference_price_usd": dec_str(reference.price_usd),
            "at": iso(snapshot.taken_at),
        },
    )


def _bounds(kind: str, *, target: Decimal | None, pct: Decimal | None, reference: Decimal | None):
    """(trigger_above, trigger_below) for an alert."""
    if kind == AlertKind.ABOVE:
        return target, None
    if kind == AlertKind.BELOW:
        return None, target
    level = _quant(reference * (1 + pct / 100), 18)
    return (level, None) if pct > 0 else (None, level)


_FIRE_SQL = """
WITH fired AS (
    UPDATE market_price_alerts SET
        trigger_count = trigger_count + 1,
        last_triggered_at = %(t)s,
        last_triggered_price_usd = %(p)s,
        updated_at = %(now)s,
        status = CASE WHEN NOT repeating THEN 'fired' WHEN kind = 'change' THEN 'armed' ELSE 'waiting' END,
        reference_price_usd = CASE WHEN repeating AND kind = 'change' THEN %(p)s ELSE reference_price_usd END,
        trigger_above = CASE WHEN repeating AND kind = 'change' AND change_pct > 0
                             THEN round(%(p)s * (1 + change_pct / 100), 18) END,
        trigger_below = CASE WHEN repeating AND kind = 'change' AND change_pct < 0
                             THEN round(%(p)s * (1 + change_pct / 100), 18) END
    WHERE status = 'armed' AND {condition}
    RETURNING id, user_id
), recorded AS (
    INSERT INTO market_price_alert_triggers (alert_id, snapshot_id, price_usd, triggered_at)
    SELECT id, %(snapshot)s, %(p)s, %(t)s FROM fired
    ON CONFLICT (alert_id, snapshot_id) DO NOTHING
)
SELECT id, user_id FROM fired ORDER BY id
"""
_FIRE_CONDITIONS = ("trigger_above <= %(p)s", "trigger_below >= %(p)s")


def _evaluate_alerts(snapshot: MarketSnapshot) -> None:
    """Set-based, never a loop over alerts: one statement per side finds the armed alerts through a
    partial index (`trigger_above <= price`, `trigger_below >= price`), fires them and records the
    firing. One-shot alerts are then done; repeating ones wait to re-arm (above/below, once the price
    crosses back) or re-anchor at this price (percent change)."""
    params = {"p": snapshot.price_usd, "t": snapshot.taken_at, "now": timezone.now(), "snapshot": snapshot.id}
    fired: list[tuple[int, int]] = []
    with connection.cursor() as cursor:
        for condition in _FIRE_CONDITIONS:
            cursor.execute(_FIRE_SQL.format(condition=condition), params)
            fired.extend(cursor.fetchall())
    for alert_id, user_id in fired:
        events.emit(PriceAlertTriggered(alert_id=alert_id, user_id=user_id, snapshot_id=snapshot.id))
    price = snapshot.price_usd
    waiting = PriceAlert.objects.filter(status=AlertStatus.WAITING)
    waiting.filter(kind=AlertKind.ABOVE, target_price_usd__gt=price).update(
        status=AlertStatus.ARMED, trigger_above=F("target_price_usd")
    )
    waiting.filter(kind=AlertKind.BELOW, target_price_usd__lt=price).update(
        status=AlertStatus.ARMED, trigger_below=F("target_price_usd")
    )


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
    source = CoinGeckoSource(
        base_url=settings.COINGECKO_BASE_URL, mint=settings.TOKEN_MINT, api_key=settings.COINGECKO_API_KEY
    )
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


# --- price alerts ----------------------------------------------------------------------------

MAX_CHANGE_PCT = Decimal(1000)
MIN_CHANGE_PCT = Decimal(-95)
ABSURD_FACTOR = Decimal(1000)


def current_price() -> Decimal | None:
    cached = cache.get(PRICE_CACHE_KEY)
    if cached and cached.get("price_usd"):
        return Decimal(cached["price_usd"])
    last = MarketSnapshot.objects.order_by("-taken_at", "-id").only("price_usd").first()
    return last.price_usd if last else None


def _validated_alert_fields(
    *, kind: str, target_price_usd: Decimal | None, change_pct: Decimal | None
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(target, pct, reference) after the rules; raises ValidationFailed with per-field details."""
    price = current_price()
    if kind in (AlertKind.ABOVE, AlertKind.BELOW):
        if target_price_usd is None:
            raise ValidationFailed(
                "target_price_usd is required for this kind of alert.",
                details={"target_price_usd": ["Required for above/below alerts."]},
            )
        if target_price_usd <= 0:
            raise ValidationFailed(
                "target_price_usd must be positive.", details={"target_price_usd": ["Must be greater than 0."]}
            )
        if price is not None and not (price / ABSURD_FACTOR <= target_price_usd <= price * ABSURD_FACTOR):
            raise ValidationFailed(
                "target_price_usd is absurdly far from the current price.",
                details={"target_price_usd": [f"Must be within a factor of {ABSURD_FACTOR} of the current price."]},
            )
        if target_price_usd >= ABSURD_PRICE:
            raise ValidationFailed(
                "target_price_usd is absurd.", details={"target_price_usd": ["Must be below 1000000000000."]}
            )
        return _quant(target_price_usd, 18), None, price
    if kind == AlertKind.CHANGE:
        if change_pct is None:
            raise ValidationFailed(
                "change_pct is required for a change alert.", details={"change_pct": ["Required for change alerts."]}
            )
        if change_pct == 0 or not (MIN_CHANGE_PCT <= change_pct <= MAX_CHANGE_PCT):
            raise ValidationFailed(
                "change_pct must be non-zero, from -95 to 1000.",
                details={"change_pct": ["Must be non-zero, from -95 to 1000."]},
            )
        if price is None:
            raise Conflict("No price is known yet, so a percent-change alert has nothing to compare with.")
        return None, change_pct, price
    raise ValidationFailed("Unknown alert kind.", details={"kind": ["Must be one of above, below, change."]})


@transaction.atomic
def alert_create(
    *,
    user,
    kind: str,
    target_price_usd: Decimal | None = None,
    change_pct: Decimal | None = None,
    repeating: bool = False,
    note: str = "",
) -> PriceAlert:
    target, pct, reference = _validated_alert_fields(
        kind=kind, target_price_usd=target_price_usd, change_pct=change_pct
    )
    # Lock the owner so two concurrent creates cannot both squeeze under the maximum.
    type(user).objects.select_for_update().filter(pk=user.pk).first()
    limit = settings.MARKET_ALERTS_PER_USER
    if PriceAlert.objects.filter(user=user).count() >= limit:
        raise Conflict(f"You can have at most {limit} price alerts; delete one first.")
    above, below = _bounds(kind, target=target, pct=pct, reference=reference)
    return PriceAlert.objects.create(
        user=user,
        kind=kind,
        target_price_usd=target,
        change_pct=pct,
        reference_price_usd=reference,
        trigger_above=above,
        trigger_below=below,
        repeating=repeating,
        note=note,
    )


@transaction.atomic
def alert_update(
    *,
    alert: PriceAlert,
    target_price_usd: Decimal | None = None,
    change_pct: Decimal | None = None,
    repeating: bool | None = None,
    note: str | None = None,
) -> PriceAlert:
    """Change an alert; a new target or percentage re-arms it (from the current price)."""
    alert = PriceAlert.objects.select_for_update().get(pk=alert.pk)
    if target_price_usd is not None or change_pct is not None:
        target, pct, reference = _validated_alert_fields(
            kind=alert.kind,
            target_price_usd=target_price_usd if target_price_usd is not None else alert.target_price_usd,
            change_pct=change_pct if change_pct is not None else alert.change_pct,
        )
        alert.target_price_usd, alert.change_pct, alert.reference_price_usd = target, pct, reference
        alert.trigger_above, alert.trigger_below = _bounds(alert.kind, target=target, pct=pct, reference=reference)
        alert.status = AlertStatus.ARMED
    if repeating is not None:
        alert.repeating = repeating
    if note is not None:
        alert.note = note
    alert.save()
    return alert


@transaction.atomic
def alert_delete(*, alert: PriceAlert) -> None:
    alert.delete()


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
