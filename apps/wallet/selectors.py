"""Reads of the wallet area."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Max, Min, Prefetch, QuerySet, Sum
from django.utils import timezone

from apps.accounts.identity import Identity
from apps.wallet import tiers
from apps.wallet.models import HolderStatus, TokenBalance, Transaction, WalletConnection, scale


def wallet_list(*, user) -> QuerySet[WalletConnection]:
    return WalletConnection.objects.filter(user=user).prefetch_related(
        Prefetch("balances", queryset=TokenBalance.objects.filter(mint=settings.TOKEN_MINT), to_attr="token_balances")
    )


def wallet_identities(user) -> list[Identity]:
    """Identity source for apps.accounts.identity: every verified wallet is a way into the account."""
    if not getattr(user, "pk", None):
        return []
    return [
        Identity(kind="wallet", uid=address, label=f"{address[:4]}…{address[-4:]}", verified=True)
        for address in WalletConnection.objects.filter(user_id=user.pk, verified=True).values_list("address", flat=True)
    ]


def has_verified_wallet(user) -> bool:
    return bool(getattr(user, "pk", None)) and WalletConnection.objects.filter(user_id=user.pk, verified=True).exists()


def holder_status(*, user) -> HolderStatus:
    status = HolderStatus.objects.filter(user_id=user.pk).first()
    if status is None:
        status = HolderStatus(user_id=user.pk, tier=tiers.lowest(), decimals=settings.TOKEN_DECIMALS)
    return status


def balance_summary(*, user) -> dict[str, Any]:
    """`GET /api/wallet/balance`: per-wallet and total balance, when each was last checked, staleness."""
    wallets = list(wallet_list(user=user).filter(verified=True).order_by("-is_primary", "created_at", "id"))
    status = holder_status(user=user)
    decimals = status.decimals
    rows = []
    total = Decimal(0)
    checked: list[datetime] = []
    stale = False
    for wallet in wallets:
        balance = wallet.token_balances[0] if wallet.token_balances else None
        if balance is not None and balance.amount is not None:
            decimals = balance.decimals
            total += balance.amount
        if balance is None or balance.checked_at is None or balance.stale:
            stale = True
        if balance is not None and balance.checked_at is not None:
            checked.append(balance.checked_at)
        rows.append(wallet_balance_row(wallet, balance))
    upcoming = tiers.next_tier(total, decimals)
    downgrade_at = (
        status.below_since + timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS) if status.below_since else None
    )
    return {
        "mint": settings.TOKEN_MINT,
        "symbol": settings.TOKEN_SYMBOL,
        "decimals": decimals,
        "total": str(scale(total, decimals)),
        "total_base": str(int(total)),
        "holder_tier": status.tier,
        "balance_checked_at": min(checked) if checked else None,
        "stale": stale,
        "wallets": rows,
        "tier": {
            "name": status.tier,
            "exempt": bool(status.exempt_tier),
            "pending_tier": status.pending_tier or None,
            "downgrade_at": downgrade_at,
            "next_tier": upcoming[0] if upcoming else None,
            "next_tier_min": str(upcoming[1]) if upcoming else None,
        },
    }


def wallet_balance_row(wallet: WalletConnection, balance: TokenBalance | None) -> dict[str, Any]:
    has_amount = balance is not None and balance.amount is not None
    return {
        "address": wallet.address,
        "is_primary": wallet.is_primary,
        "balance": str(balance.ui_amount) if has_amount else None,
        "balance_base": str(int(balance.amount)) if has_amount else None,
        "token_accounts": balance.token_accounts if balance else 0,
        "balance_checked_at": balance.checked_at if balance else None,
        "stale": balance is None or balance.checked_at is None or balance.stale,
    }


def transaction_list(
    *,
    user,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    address: str | None = None,
) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(user=user).select_related("wallet")
    if kind:
        qs = qs.filter(kind=kind)
    if since:
        qs = qs.filter(block_time__gte=since)
    if until:
        qs = qs.filter(block_time__lt=until)
    if address:
        qs = qs.filter(wallet__address=address)
    return qs


def transaction_summary(*, user) -> dict[str, Any]:
    """The activity summary, computed from the stored movements only (so it always agrees with
    them): totals in and out, net, distinct counterparties, first and last movement, first acquired,
    30-day net, holding duration."""
    qs = Transaction.objects.filter(user=user, mint=settings.TOKEN_MINT)
    decimals = qs.values_list("decimals", flat=True).first() or settings.TOKEN_DECIMALS
    incoming = qs.filter(amount__gt=0).aggregate(total=Sum("amount"), first=Min("block_time"))
    outgoing = qs.filter(amount__lt=0).aggregate(total=Sum("amount"))
    span = qs.aggregate(first=Min("block_time"), last=Max("block_time"), net=Sum("amount"))
    counterparties = qs.exclude(counterparty="").values("counterparty").distinct().count()
    since = timezone.now() - timedelta(days=30)
    net_30d = qs.filter(block_time__gte=since).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    first = incoming["first"]
    held = balance_summary_total(user=user)
    return {
        "mint": settings.TOKEN_MINT,
        "first_acquired_at": first,
        "first_movement_at": span["first"],
        "last_movement_at": span["last"],
        "total_in": str(scale(incoming["total"] or 0, decimals)),
        "total_out": str(scale(-(outgoing["total"] or 0), decimals)),
        "net": str(scale(span["net"] or 0, decimals)),
        "net_30d": str(scale(net_30d, decimals)),
        "counterparties": counterparties,
        "holding_days": (timezone.now() - first).days if first and held > 0 else 0,
        "transactions": qs.count(),
    }


def balance_summary_total(*, user) -> Decimal:
    total = TokenBalance.objects.filter(
        wallet__user=user, wallet__verified=True, mint=settings.TOKEN_MINT, amount__isnull=False
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)
