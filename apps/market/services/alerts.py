"""Price alerts: create, update, delete, with the rules on targets and percentages."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.core.exceptions import Conflict, ValidationFailed
from apps.market.models import AlertKind, AlertStatus, MarketSnapshot, PriceAlert
from apps.market.pricing import PRICE_CACHE_KEY

from .validation import ABSURD_PRICE, _quant

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


def _bounds(kind: str, *, target: Decimal | None, pct: Decimal | None, reference: Decimal | None):
    """(trigger_above, trigger_below) for an alert."""
    if kind == AlertKind.ABOVE:
        return target, None
    if kind == AlertKind.BELOW:
        return None, target
    level = _quant(reference * (1 + pct / 100), 18)
    return (level, None) if pct > 0 else (None, level)
