"""Holder tiers from the total over verified wallets: upgrades at once, downgrades after a grace period."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Profile
from apps.core.events import emit
from apps.core.exceptions import ApplicationError
from apps.core.push import broadcast
from apps.wallet import tiers
from apps.wallet.events import HolderTierChanged
from apps.wallet.models import HolderStatus, TokenBalance

# --- holder tiers -----------------------------------------------------------------------------------


@transaction.atomic
def holder_tier_recompute(*, user_id: int, immediate: bool = False, now: datetime | None = None) -> HolderStatus:
    """Tier from the total over verified wallets (last good values). Upgrades at once; a downgrade
    waits HOLDER_TIER_GRACE_SECONDS (unless `immediate`), and is dropped if the total recovers."""
    now = now or timezone.now()
    status, _ = HolderStatus.objects.select_for_update().get_or_create(user_id=user_id)
    rows = list(
        TokenBalance.objects.filter(
            wallet__user_id=user_id, wallet__verified=True, mint=settings.TOKEN_MINT, amount__isnull=False
        ).values_list("amount", "decimals")
    )
    decimals = rows[0][1] if rows else settings.TOKEN_DECIMALS
    total = sum((Decimal(a) * (Decimal(10) ** (decimals - d)) for a, d in rows), Decimal(0))
    status.total_amount, status.decimals, status.computed_at = total, decimals, now
    target = status.exempt_tier or tiers.tier_for(total, decimals)
    old = status.tier
    new = old
    if tiers.rank(target) >= tiers.rank(old) or immediate or status.exempt_tier:
        new = target
        status.below_since, status.pending_tier = None, ""
    elif status.below_since is None:
        status.below_since, status.pending_tier = now, target
    elif now - status.below_since >= timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS):
        new = target
        status.below_since, status.pending_tier = None, ""
    else:
        status.pending_tier = target
    if new != old:
        status.tier, status.changed_at = new, now
    status.save()
    Profile.objects.filter(user_id=user_id).exclude(holder_tier=new).update(holder_tier=new)
    if new != old:
        emit(HolderTierChanged(user_id=user_id, old_tier=old, new_tier=new))
        broadcast(
            f"user:{user_id}",
            "holder_tier.changed",
            {"old_tier": old, "new_tier": new, "total": str(_scale(total, decimals))},
        )
    return status


def _scale(amount: Decimal, decimals: int) -> Decimal:
    from apps.wallet.models import scale

    return scale(amount, decimals)


@transaction.atomic
def holder_exemption_set(*, user_id: int, tier: str, reason: str = "") -> HolderStatus:
    """Admin exemption: the account keeps `tier` whatever it holds ("" lifts the exemption)."""
    if tier and tier not in tiers.names():
        raise ApplicationError(f"Unknown tier {tier!r}.", code="validation_error")
    status, _ = HolderStatus.objects.select_for_update().get_or_create(user_id=user_id)
    status.exempt_tier, status.exempt_reason = tier, reason[:200]
    status.save(update_fields=["exempt_tier", "exempt_reason"])
    return holder_tier_recompute(user_id=user_id, immediate=True)
