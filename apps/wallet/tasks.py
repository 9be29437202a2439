"""Celery tasks: thin, idempotent, by id."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from apps.wallet import services
from apps.wallet.clients.solana_rpc import RpcError, get_client
from apps.wallet.models import WalletConnection

logger = logging.getLogger(__name__)


@shared_task(name="wallet.refresh_wallet", ignore_result=True)
def refresh_wallet(wallet_id: int) -> None:
    """First check of a newly linked wallet (and any on-demand single refresh)."""
    user_id = WalletConnection.objects.filter(pk=wallet_id, verified=True).values_list("user_id", flat=True).first()
    if user_id is not None:
        services.user_balances_refresh(user_id=user_id)


@shared_task(name="wallet.sync_transactions", ignore_result=True)
def sync_transactions(wallet_id: int) -> None:
    wallet = WalletConnection.objects.filter(pk=wallet_id, verified=True).first()
    if wallet is None:
        return
    try:
        services.wallet_transactions_sync(wallet=wallet)
    except RpcError as exc:
        logger.warning("transaction sync for %s failed: %s", wallet.address, exc)


@shared_task(name="wallet.refresh_due", ignore_result=True)
def refresh_due(limit: int | None = None) -> dict:
    return refresh_due_batch(limit=limit)


def refresh_due_batch(*, limit: int | None = None, pause: float | None = None) -> dict:
    """One beat tick: refresh the accounts whose wallets are due (oldest first), pacing the RPC and
    stopping the batch early when every endpoint rate-limits us; then settle ended grace periods."""
    limit = limit or settings.WALLET_REFRESH_BATCH
    pause = settings.WALLET_REFRESH_PAUSE_SECONDS if pause is None else pause
    done = 0
    users = services.claim_due_wallet_users(limit=limit)
    with get_client() as client:
        for index, user_id in enumerate(users):
            if index and pause:
                time.sleep(pause)
            try:
                services.user_balances_refresh(user_id=user_id, client=client)
            except Exception:  # one broken account must not stall everyone else's refresh
                logger.exception("refresh of account %s failed", user_id)
                continue
            done += 1
            if all(state["open"] for state in client.endpoint_states()):
                logger.warning("every RPC endpoint is benched: stopping the batch after %d accounts", done)
                # The unrefreshed ones were pushed back by the claim; they come round again.
                break
    settled = 0
    for user_id in services.grace_expired_user_ids():
        services.holder_tier_recompute(user_id=user_id)
        settled += 1
    purged = services.purge_expired_challenges()
    return {"refreshed": done, "claimed": len(users), "grace_settled": settled, "challenges_purged": purged}
