"""Reading one token's movement out of a jsonParsed `getTransaction` answer (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.wallet.models import TransactionKind

# Programs whose presence in a transaction makes a token movement a trade rather than a transfer.
DEX_PROGRAMS = {
    "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",  # Raydium AMM v4
    "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK",  # Raydium CLMM
    "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",  # Raydium CPMM
    "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",  # Jupiter v6
    "JUP4Fb2cqiRUcaTHdrPC8h2gNsA2ETXiPDD33WcGuJB",  # Jupiter v4
    "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc",  # Orca Whirlpool
    "9W959DqEETiGZocYWCQPaJ6sBmUzgfxXfqGeTEdp3aQP",  # Orca v2
    "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",  # Meteora DLMM
    "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB",  # Meteora pools
    "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",  # pump.fun
    "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA",  # pump.fun AMM
}
# Net SOL paid (or received) beyond the fee that marks a trade even through an unknown program.
TRADE_LAMPORTS = 5_000_000


@dataclass(frozen=True)
class Movement:
    amount: int  # signed base units for the owner (post minus pre)
    decimals: int
    kind: str
    counterparty: str
    fee_lamports: int
    error: Any


def _token_sums(balances: list[dict[str, Any]] | None, mint: str) -> tuple[dict[str, int], int | None]:
    per_owner: dict[str, int] = {}
    decimals = None
    for entry in balances or []:
        if entry.get("mint") != mint:
            continue
        amount = entry.get("uiTokenAmount", {})
        owner = entry.get("owner") or ""
        per_owner[owner] = per_owner.get(owner, 0) + int(amount.get("amount", "0"))
        decimals = int(amount.get("decimals", decimals or 0))
    return per_owner, decimals


def _account_keys(tx: dict[str, Any]) -> list[str]:
    keys = tx.get("transaction", {}).get("message", {}).get("accountKeys", []) or []
    return [k.get("pubkey", "") if isinstance(k, dict) else str(k) for k in keys]


def _programs(tx: dict[str, Any]) -> set[str]:
    found = {
        ix.get("programId", "") for ix in tx.get("transaction", {}).get("message", {}).get("instructions", []) or []
    }
    for inner in tx.get("meta", {}).get("innerInstructions", []) or []:
        found |= {ix.get("programId", "") for ix in inner.get("instructions", []) or []}
    return found


def token_movement(tx: dict[str, Any], *, owner: str, mint: str, default_decimals: int) -> Movement | None:
    """The owner's movement of `mint` in `tx`, categorised; None if the token did not move for them.
    Raises KeyError/TypeError/ValueError on a malformed answer (the caller treats it as such)."""
    meta = tx["meta"]
    if not isinstance(meta, dict):
        raise TypeError("meta is not an object")
    pre, pre_dec = _token_sums(meta.get("preTokenBalances"), mint)
    post, post_dec = _token_sums(meta.get("postTokenBalances"), mint)
    decimals = post_dec if post_dec is not None else pre_dec if pre_dec is not None else default_decimals
    error = meta.get("err")
    fee = int(meta.get("fee") or 0)
    if error is not None:
        if owner in pre or owner in post:
            return Movement(0, decimals, TransactionKind.FAILED, "", fee, error)
        return None
    delta = post.get(owner, 0) - pre.get(owner, 0)
    if delta == 0:
        return None
    others = {o: post.get(o, 0) - pre.get(o, 0) for o in set(pre) | set(post) if o != owner}
    opposite = {o: d for o, d in others.items() if (d < 0) == (delta > 0) and d != 0}
    counterparty = max(opposite, key=lambda o: abs(opposite[o])) if opposite else ""

    keys = _account_keys(tx)
    sol_change = 0
    if owner in keys:
        index = keys.index(owner)
        sol_change = int(meta["postBalances"][index]) - int(meta["preBalances"][index])
        if index == 0:
            sol_change += fee  # the fee payer's fee is not a price
    traded = bool(_programs(tx) & DEX_PROGRAMS)
    if delta > 0:
        kind = TransactionKind.BUY if traded or sol_change <= -TRADE_LAMPORTS else TransactionKind.TRANSFER_IN
    else:
        kind = TransactionKind.SELL if traded or sol_change >= TRADE_LAMPORTS else TransactionKind.TRANSFER_OUT
    return Movement(delta, decimals, kind, counterparty, fee, None)
