"""Recording an accepted quote and what follows from it: rollups, cache, milestones, moves, alerts,
events and the throttled live broadcast."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core import events, push
from apps.core.exceptions import ValidationFailed
from apps.market.events import MarketMoved, MilestoneReached, PriceAlertTriggered, PriceUpdated
from apps.market.jobs import fold_price
from apps.market.models import AlertKind, AlertStatus, MarketMilestone, MarketMove, MarketSnapshot, PriceAlert
from apps.market.pricing import (
    BROADCAST_THROTTLE_KEY,
    CACHE_SECONDS,
    POLL_FAILED_CACHE_KEY,
    PRICE_CACHE_KEY,
    dec_str,
    iso,
    snapshot_payload,
)
from apps.market.sources import Quote

from .validation import MAX_STORED_PCT, _lock_market_writes, _quant, change_pct, quote_problem

logger = logging.getLogger("apps.market")

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
        push.broadcast("market", "price.updated", payload)
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
        push.broadcast(
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
    push.broadcast(
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
