"""Market data: accepted quotes, OHLCV rollups, milestones, moves, price alerts and source health."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

PRICE = {"max_digits": 38, "decimal_places": 18}
USD = {"max_digits": 30, "decimal_places": 4}
PCT = {"max_digits": 14, "decimal_places": 4}


class MarketSnapshot(models.Model):
    """One accepted, validated quote (the raw series). Rows older than the raw retention are
    deleted; the candles keep the history."""

    taken_at = models.DateTimeField(help_text="when we fetched it")
    as_of = models.DateTimeField(help_text="the time the source gives for the quote")
    source = models.CharField(max_length=32)
    confirmed_by = models.CharField(max_length=32, blank=True, default="")
    pair_address = models.CharField(max_length=64, blank=True, default="")
    price_usd = models.DecimalField(**PRICE)
    market_cap_usd = models.DecimalField(**USD, null=True, blank=True)
    fdv_usd = models.DecimalField(**USD, null=True, blank=True)
    volume_24h_usd = models.DecimalField(**USD, null=True, blank=True)
    liquidity_usd = models.DecimalField(**USD, null=True, blank=True)
    change_1h_pct = models.DecimalField(**PCT, null=True, blank=True)
    change_24h_pct = models.DecimalField(**PCT, null=True, blank=True)

    class Meta:
        db_table = "market_snapshots"
        indexes = [models.Index(fields=["taken_at"], name="market_snap_taken_idx")]
        constraints = [models.CheckConstraint(condition=Q(price_usd__gt=0), name="market_snap_price_positive")]

    def __str__(self) -> str:
        return f"{self.price_usd} USD from {self.source} at {self.taken_at:%Y-%m-%d %H:%M:%S}"


class Interval(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    H1 = "1h", "1 hour"
    D1 = "1d", "1 day"


class MarketCandle(models.Model):
    """OHLCV rollup of one bucket. `volume` is the rolling 24 h USD volume the sources report, as of
    the candle's close (no source gives per-trade volume). `open_at`/`close_at` are the times of the
    first and last price folded in, so quotes arriving out of order still give the right open/close."""

    interval = models.CharField(max_length=2, choices=Interval.choices)
    bucket = models.DateTimeField(help_text="start of the bucket (UTC)")
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.DecimalField(**USD, null=True, blank=True)
    open_at = models.DateTimeField()
    close_at = models.DateTimeField()
    samples = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "market_candles"
        constraints = [
            models.UniqueConstraint(fields=["interval", "bucket"], name="market_candle_interval_bucket_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.interval} {self.bucket:%Y-%m-%d %H:%M}"


class MarketMilestone(models.Model):
    """A market-cap threshold. Reached once the market cap has held above it for the confirmation
    window; recorded once (reached_at is set by a conditional UPDATE)."""

    market_cap_usd = models.DecimalField(**USD, unique=True)
    label = models.CharField(max_length=120)
    above_since = models.DateTimeField(null=True, blank=True, help_text="start of the current run above")
    reached_at = models.DateTimeField(null=True, blank=True)
    reached_price_usd = models.DecimalField(**PRICE, null=True, blank=True)
    reached_market_cap_usd = models.DecimalField(**USD, null=True, blank=True)
    reached_snapshot_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_milestones"
        ordering = ["market_cap_usd"]
        indexes = [
            models.Index(
                fields=["market_cap_usd"], condition=Q(reached_at__isnull=True), name="market_ms_unreached_idx"
            )
        ]
        constraints = [models.CheckConstraint(condition=Q(market_cap_usd__gt=0), name="market_ms_cap_positive")]

    def __str__(self) -> str:
        return self.label


class MarketMove(models.Model):
    """A significant move that was announced (`market.moved`): at most one per window."""

    detected_at = models.DateTimeField(db_index=True)
    change_pct = models.DecimalField(**PCT)
    window_minutes = models.PositiveIntegerField()
    reference_price_usd = models.DecimalField(**PRICE)
    price_usd = models.DecimalField(**PRICE)
    snapshot_id = models.BigIntegerField()

    class Meta:
        db_table = "market_moves"

    def __str__(self) -> str:
        return f"{self.change_pct}% in {self.window_minutes} min"


class AlertKind(models.TextChoices):
    ABOVE = "above", "Price rises to or above"
    BELOW = "below", "Price falls to or below"
    CHANGE = "change", "Price changes by a percentage"


class AlertStatus(models.TextChoices):
    ARMED = "armed", "Armed"
    WAITING = "waiting", "Fired; re-arms when the price crosses back"
    FIRED = "fired", "Fired (one-shot, done)"


class PriceAlert(models.Model):
    """A user's price alert. Evaluation never loops over alerts: an armed alert stores the price
    bounds that fire it (`trigger_above`, `trigger_below`; NULL once it is not armed, so the column
    statistics describe live alerts only and the planner keeps using the partial indexes), and
    partial indexes answer `bound <= price` / `bound >= price`. A waiting (repeating, fired)
    above/below alert re-arms when the price crosses back over its target."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_alerts")
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    target_price_usd = models.DecimalField(**PRICE, null=True, blank=True)
    change_pct = models.DecimalField(**PCT, null=True, blank=True)
    reference_price_usd = models.DecimalField(**PRICE, null=True, blank=True)
    trigger_above = models.DecimalField(**PRICE, null=True, blank=True)
    trigger_below = models.DecimalField(**PRICE, null=True, blank=True)
    repeating = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.ARMED)
    note = models.CharField(max_length=140, blank=True, default="")
    trigger_count = models.PositiveIntegerField(default=0)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    last_triggered_price_usd = models.DecimalField(**PRICE, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_price_alerts"
        indexes = [
            models.Index(fields=["user", "-id"], name="market_alert_user_idx"),
            models.Index(
                fields=["trigger_above"],
                condition=Q(status="armed", trigger_above__isnull=False),
                name="market_alert_armed_above_idx",
            ),
            models.Index(
                fields=["trigger_below"],
                condition=Q(status="armed", trigger_below__isnull=False),
                name="market_alert_armed_below_idx",
            ),
            models.Index(
                fields=["kind", "target_price_usd"], condition=Q(status="waiting"), name="market_alert_waiting_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger_above__isnull=True) | Q(trigger_above__gt=0), name="market_alert_above_positive"
            ),
            models.CheckConstraint(
                condition=Q(trigger_below__isnull=True) | Q(trigger_below__gt=0), name="market_alert_below_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.id} ({self.kind}) for user {self.user_id}"


class PriceAlertTrigger(models.Model):
    """One firing of an alert on one quote; the unique key makes re-evaluation idempotent."""

    alert = models.ForeignKey(PriceAlert, on_delete=models.CASCADE, related_name="triggers")
    snapshot_id = models.BigIntegerField()
    price_usd = models.DecimalField(**PRICE)
    triggered_at = models.DateTimeField()

    class Meta:
        db_table = "market_price_alert_triggers"
        constraints = [models.UniqueConstraint(fields=["alert", "snapshot_id"], name="market_alert_trigger_once")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} fired at {self.price_usd}"


class CircuitState(models.TextChoices):
    CLOSED = "closed", "Closed (healthy)"
    OPEN = "open", "Open (skipped until the cool-down ends)"
    HALF_OPEN = "half_open", "Half-open (next call is a probe)"


class SourceHealth(models.Model):
    """Health of one price source, shared by every process (web, worker, beat, commands)."""

    source = models.CharField(max_length=32, primary_key=True)
    state = models.CharField(max_length=10, choices=CircuitState.choices, default=CircuitState.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    total_successes = models.PositiveBigIntegerField(default=0)
    total_failures = models.PositiveBigIntegerField(default=0)
    backoff_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "market_source_health"
        verbose_name_plural = "source health"

    def __str__(self) -> str:
        return f"{self.source}: {self.state}"
