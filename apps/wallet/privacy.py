"""Wallet: linked wallets, balances and their history, on-chain transactions, holder status,
sign-in challenges. All private: erasure deletes them (a wallet address is freed for another
account). The chain itself keeps its own record, which is not ours to erase."""

from __future__ import annotations

from apps.privacy.shaping import deleted, one, rows
from apps.wallet.models import BalanceHistory, HolderStatus, SiwsChallenge, TokenBalance, Transaction, WalletConnection

SECTION = "wallet"
MODELS = ["wallet.SiwsChallenge", "wallet.WalletConnection", "wallet.Transaction", "wallet.HolderStatus"]


def export(user) -> dict:
    return {
        "wallets": rows(
            WalletConnection.objects.filter(user=user).order_by("created_at", "id"),
            "address",
            "verified",
            "verified_at",
            "is_primary",
            "created_at",
        ),  # fmt: skip
        "balances": rows(
            TokenBalance.objects.filter(wallet__user=user).order_by("wallet_id", "mint"),
            "wallet__address",
            "mint",
            "amount",
            "decimals",
            "checked_at",
            "stale",
        ),  # fmt: skip
        "balance_history": rows(
            BalanceHistory.objects.filter(wallet__user=user).order_by("recorded_at", "id"),
            "wallet__address",
            "mint",
            "amount",
            "decimals",
            "recorded_at",
        ),  # fmt: skip
        "transactions": rows(
            Transaction.objects.filter(user=user).order_by("block_time", "id"),
            "wallet__address",
            "signature",
            "slot",
            "block_time",
            "kind",
            "mint",
            "amount",
            "decimals",
            "counterparty",
            "fee_lamports",
        ),  # fmt: skip
        "holder_status": one(HolderStatus.objects.filter(user=user).first(), "tier", "total_amount", "changed_at"),
    }


def erase(user) -> dict:
    return {
        # Balances, balance history and transactions cascade from their wallet.
        "transactions": deleted(Transaction.objects.filter(user=user)),
        "wallets": deleted(WalletConnection.objects.filter(user=user)),
        "holder_status": deleted(HolderStatus.objects.filter(user=user)),
        "challenges": deleted(SiwsChallenge.objects.filter(user=user)),
    }
