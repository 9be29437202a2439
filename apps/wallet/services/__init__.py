"""Every write of the wallet area, one module per seam: `challenges` (SIWS messages issued and
accepted), `links` (wallet sign-in, link, unlink, primary), `balances` (reading the chain and
scheduling refreshes), `holder_tiers` (tier from the total held, grace, exemptions) and `history`
(token transactions). Callers import from `apps.wallet.services`."""

from .balances import (
    BalanceCheck,
    claim_due_wallet_users,
    grace_expired_user_ids,
    request_refresh,
    schedule_next_refresh,
    user_balances_refresh,
    wallet_balance_refresh,
)
from .challenges import NONCE_ALPHABET, NONCE_LENGTH, challenge_create, purge_expired_challenges, siws_accept
from .history import wallet_transactions_sync
from .holder_tiers import holder_exemption_set, holder_tier_recompute
from .links import LoginResult, wallet_link, wallet_login, wallet_set_primary, wallet_unlink

__all__ = [
    "BalanceCheck",
    "LoginResult",
    "NONCE_ALPHABET",
    "NONCE_LENGTH",
    "challenge_create",
    "claim_due_wallet_users",
    "grace_expired_user_ids",
    "holder_exemption_set",
    "holder_tier_recompute",
    "purge_expired_challenges",
    "request_refresh",
    "schedule_next_refresh",
    "siws_accept",
    "user_balances_refresh",
    "wallet_balance_refresh",
    "wallet_link",
    "wallet_login",
    "wallet_set_primary",
    "wallet_transactions_sync",
    "wallet_unlink",
]
