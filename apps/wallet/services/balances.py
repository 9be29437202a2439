"""Balances read from the chain (last good value kept on failure) and when each account is refreshed next."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import Profile, User
from apps.core import limits
from apps.core.push import broadcast
from apps.wallet import tiers
from apps.wallet.clients.solana_rpc import RpcError, SolanaRpcClient, TokenHolding, get_client
from apps.wallet.models import BalanceHistory, HolderStatus, TokenBalance, WalletConnection

from .history import wallet_transactions_sync
from .holder_tiers import holder_tier_recompute
from .links import _safe_delay

logger = logging.getLogger("apps.wallet.services")

# --- balances ---------------------------------------------------------------------------------------


def _holding(client: SolanaRpcClient, address: str, mint: str, *, use_cache: bool) -> TokenHolding:
    key = f"wallet:holding:{mint}:{address}"
    if use_cache:
        cached = cache.get(key)
        if isinstance(cached, dict):
            return TokenHolding(**cached)
    holding = client.get_token_holding(address, mint)
    cache.set(key, holding.__dict__, timeout=settings.SOLANA_RPC_BALANCE_CACHE_SECONDS)
    return holding


@dataclass
class BalanceCheck:
    balance: TokenBalance
    ok: bool  # the chain answered (or a fresh cached answer was used)
    changed: bool = False


def wallet_balance_refresh(
    *, wallet: WalletConnection, client: SolanaRpcClient | None = None, use_cache: bool = True, skip_reason: str = ""
) -> BalanceCheck:
    """Ask the chain for the wallet's TOKEN_MINT balance. On any RPC failure (or when told to skip
    the chain because it just failed for another wallet) the last good value is kept and marked stale;
    never an exception to the caller."""
    mint = settings.TOKEN_MINT
    error: str = skip_reason
    holding: TokenHolding | None = None
    if not skip_reason:
        own_client = client is None
        client = client or get_client()
        try:
            holding = _holding(client, wallet.address, mint, use_cache=use_cache)
        except RpcError as exc:
            error = str(exc)[:300]
            logger.warning("balance check for %s failed: %s", wallet.address, error)
        finally:
            if own_client:
                client.close()
    now = timezone.now()
    with transaction.atomic():
        balance, _ = TokenBalance.objects.select_for_update().get_or_create(
            wallet=wallet, mint=mint, defaults={"decimals": settings.TOKEN_DECIMALS}
        )
        if holding is None:
            balance.stale, balance.last_error, balance.last_error_at = True, error, now
            balance.save(update_fields=["stale", "last_error", "last_error_at"])
            return BalanceCheck(balance=balance, ok=False)
        if holding.slot is not None and balance.slot is not None and holding.slot < balance.slot:
            # An endpoint lagging behind the one we read last: an older view, not a change.
            logger.info("ignoring balance at slot %s older than %s for %s", holding.slot, balance.slot, wallet.address)
            return BalanceCheck(balance=balance, ok=True)
        decimals = holding.decimals if holding.decimals is not None else balance.decimals
        changed = balance.amount is None or Decimal(holding.amount) != balance.amount or decimals != balance.decimals
        balance.amount = Decimal(holding.amount)
        balance.decimals = decimals
        balance.token_accounts = holding.accounts
        balance.slot = holding.slot
        balance.checked_at = now
        balance.stale = False
        balance.last_error = ""
        balance.save()
        if changed:
            BalanceHistory.objects.create(
                wallet=wallet, mint=mint, amount=balance.amount, decimals=decimals, slot=holding.slot, recorded_at=now
            )
            broadcast(
                f"user:{wallet.user_id}",
                "wallet.balance_changed",
                {"address": wallet.address, "balance": str(balance.ui_amount), "balance_checked_at": now},
            )
    return BalanceCheck(balance=balance, ok=True, changed=changed)


def user_balances_refresh(
    *, user_id: int, client: SolanaRpcClient | None = None, use_cache: bool = True, sync_transactions: bool = False
) -> HolderStatus:
    """Refresh every verified wallet of the account, then its tier and its next refresh time."""
    own_client = client is None
    client = client or get_client()
    try:
        skip_reason = ""
        for wallet in WalletConnection.objects.filter(user_id=user_id, verified=True).order_by("id"):
            check = wallet_balance_refresh(wallet=wallet, client=client, use_cache=use_cache, skip_reason=skip_reason)
            if not check.ok:
                # The RPC just failed after its retries: don't make every other wallet wait for it too.
                skip_reason = skip_reason or "not asked: the RPC was unavailable for this account's previous wallet"
                continue
            if sync_transactions or check.changed or wallet.tx_synced_at is None:
                try:
                    wallet_transactions_sync(wallet=wallet, client=client)
                except RpcError as exc:
                    logger.warning("transaction sync for %s failed: %s", wallet.address, exc)
    finally:
        if own_client:
            client.close()
    status = holder_tier_recompute(user_id=user_id)
    schedule_next_refresh(user_id=user_id, status=status)
    return status


def request_refresh(*, user: User) -> HolderStatus:
    """`POST /api/wallet/refresh`: on demand, at most once per WALLET_REFRESH_COOLDOWN_SECONDS."""
    if settings.WALLET_REFRESH_COOLDOWN_SECONDS > 0:
        limits.hit("wallet_refresh", f"u{user.pk}")
    with get_client(interactive=True) as client:
        status = user_balances_refresh(user_id=user.pk, client=client, use_cache=False, sync_transactions=False)
    # History can take many calls: a worker fetches it, the user does not wait for it.
    from apps.wallet.tasks import sync_transactions

    for wallet_id in WalletConnection.objects.filter(user=user, verified=True).values_list("id", flat=True):
        transaction.on_commit(lambda wallet_id=wallet_id: _safe_delay(sync_transactions, wallet_id))
    return status


def schedule_next_refresh(*, user_id: int, status: HolderStatus | None = None) -> None:
    """More often near a tier threshold, in a grace period, or for active users; jittered to spread load."""
    status = status or HolderStatus.objects.filter(user_id=user_id).first()
    interval = settings.WALLET_REFRESH_INTERVAL_SECONDS
    if status is not None and (
        status.below_since is not None
        or tiers.near_threshold(status.total_amount, status.decimals, settings.WALLET_NEAR_THRESHOLD_PCT)
    ):
        interval = settings.WALLET_REFRESH_NEAR_SECONDS
    else:
        last_seen = Profile.objects.filter(user_id=user_id).values_list("last_seen_at", flat=True).first()
        if last_seen and last_seen > timezone.now() - timedelta(days=1):
            interval = settings.WALLET_REFRESH_ACTIVE_SECONDS
    if status is not None and status.below_since is not None:
        grace_end = status.below_since + timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS)
        interval = min(interval, max(60, int((grace_end - timezone.now()).total_seconds()) + 5))
    seconds = interval * random.uniform(0.85, 1.15)
    WalletConnection.objects.filter(user_id=user_id, verified=True).update(
        next_refresh_at=timezone.now() + timedelta(seconds=seconds)
    )


def claim_due_wallet_users(*, limit: int) -> list[int]:
    """Claim up to `limit` accounts with a wallet due for a refresh (FOR UPDATE SKIP LOCKED, so two
    beat workers never take the same rows) and push their next time back while they are worked on."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WalletConnection.objects.select_for_update(skip_locked=True)
            .filter(verified=True)
            .filter(Q(next_refresh_at__lte=now) | Q(next_refresh_at__isnull=True))
            .order_by(F("next_refresh_at").asc(nulls_first=True), "id")
            .values_list("id", "user_id")[:limit]
        )
        WalletConnection.objects.filter(id__in=[i for i, _ in due]).update(
            next_refresh_at=now + timedelta(seconds=settings.WALLET_REFRESH_NEAR_SECONDS)
        )
    seen: list[int] = []
    for _, user_id in due:
        if user_id not in seen:
            seen.append(user_id)
    return seen


def grace_expired_user_ids() -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS)
    return list(HolderStatus.objects.filter(below_since__lte=cutoff).values_list("user_id", flat=True)[:500])
