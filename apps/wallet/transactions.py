"""Reading one wallet's movement of one token out of a jsonParsed `getTransaction` answer (pure functions).

The movement is read from `preTokenBalances`/`postTokenBalances`, keeping only the entries whose
`owner` is the wallet and whose `mint` is the token: that sees every token account the wallet holds
(an incoming transfer lists the token account, not the owner, among the account keys) and never
depends on instruction layouts. Instructions are looked at only to tell a mint from a transfer in, a
burn from a transfer out, and a trade from a transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.wallet.models import TransactionKind

TOKEN_PROGRAMS = {
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",  # SPL Token
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",  # Token-2022
}
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
MINT_INSTRUCTIONS = {"mintTo", "mintToChecked"}
BURN_INSTRUCTIONS = {"burn", "burnChecked"}
# Net SOL paid (or received) beyond the fee that marks a trade even through an unknown program.
TRADE_LAMPORTS = 5_000_000


@dataclass(frozen=True)
class Movement:
    amount: int  # signed base units for the owner (post minus pre, over all their token accounts)
    decimals: int
    kind: str
    counterparty: str  # the owner on the other side, "" when it cannot be read
    fee_lamports: int  # the fee, when the wallet paid it
    token_accounts: tuple[str, ...]  # the wallet's token accounts of the mint this transaction touched


def account_keys(tx: dict[str, Any]) -> list[str]:
    """Every account of a (version 0) transaction in index order: the static keys, then the ones
    loaded from address-lookup tables (jsonParsed lists them already, marked `lookupTable`)."""
    message = tx.get("transaction", {}).get("message", {})
    raw = message.get("accountKeys", []) or []
    keys = [k.get("pubkey", "") if isinstance(k, dict) else str(k) for k in raw]
    if not any(isinstance(k, dict) and k.get("source") == "lookupTable" for k in raw):
        loaded = (tx.get("meta") or {}).get("loadedAddresses") or {}
        keys += list(loaded.get("writable", []) or []) + list(loaded.get("readonly", []) or [])
    return keys


def _instructions(tx: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(tx.get("transaction", {}).get("message", {}).get("instructions", []) or [])
    for inner in (tx.get("meta") or {}).get("innerInstructions", []) or []:
        found += list(inner.get("instructions", []) or [])
    return [ix for ix in found if isinstance(ix, dict)]


def _token_instruction_types(tx: dict[str, Any], mint: str) -> set[str]:
    kinds = set()
    for ix in _instructions(tx):
        parsed = ix.get("parsed")
        if ix.get("programId") in TOKEN_PROGRAMS and isinstance(parsed, dict):
            info = parsed.get("info") or {}
            if info.get("mint") in (mint, None):
                kinds.add(str(parsed.get("type", "")))
    return kinds


def _balances(
    entries: list[dict[str, Any]] | None, keys: list[str], mint: str
) -> tuple[dict[str, tuple[str, int]], int | None]:
    """token account -> (owner, amount in base units) for `mint`; and the decimals seen."""
    out: dict[str, tuple[str, int]] = {}
    decimals = None
    for entry in entries or []:
        if entry.get("mint") != mint:
            continue
        amount = entry["uiTokenAmount"]
        raw = amount["amount"]
        if not isinstance(raw, str) or not raw.isdigit():
            raise ValueError("uiTokenAmount.amount is not a string of digits")
        account = keys[int(entry["accountIndex"])]
        out[account] = (entry.get("owner") or "", int(raw))
        decimals = int(amount.get("decimals", decimals or 0))
    return out, decimals


def owner_token_accounts(tx: dict[str, Any], *, owner: str, mint: str) -> set[str]:
    """The owner's token accounts of `mint` that this transaction touched (to find closed ones)."""
    keys = account_keys(tx)
    meta = tx.get("meta") or {}
    pre, _ = _balances(meta.get("preTokenBalances"), keys, mint)
    post, _ = _balances(meta.get("postTokenBalances"), keys, mint)
    return {a for a, (o, _) in (pre | post).items() if o == owner}


def token_movement(tx: dict[str, Any], *, owner: str, mint: str, default_decimals: int) -> Movement | None:
    """The owner's movement of `mint` in `tx`, categorised; None if nothing of theirs moved (a failed
    transaction moves nothing). Raises KeyError/TypeError/ValueError/IndexError on a malformed answer."""
    meta = tx["meta"]
    if not isinstance(meta, dict):
        raise TypeError("meta is not an object")
    if meta.get("err") is not None:
        return None
    keys = account_keys(tx)
    pre, pre_dec = _balances(meta.get("preTokenBalances"), keys, mint)
    post, post_dec = _balances(meta.get("postTokenBalances"), keys, mint)
    mine_pre = {a: amount for a, (o, amount) in pre.items() if o == owner}
    mine_post = {a: amount for a, (o, amount) in post.items() if o == owner}
    touched = set(mine_pre) | set(mine_post)
    if not touched:
        return None
    decimals = post_dec if post_dec is not None else pre_dec if pre_dec is not None else default_decimals
    delta = sum(mine_post.values()) - sum(mine_pre.values())

    others: dict[str, int] = {}
    for account in set(pre) | set(post):
        who = (post.get(account) or pre.get(account) or ("", 0))[0]
        if who == owner:
            continue
        change = post.get(account, ("", 0))[1] - pre.get(account, ("", 0))[1]
        others[who] = others.get(who, 0) + change
    opposite = {o: d for o, d in others.items() if d != 0 and (d < 0) == (delta > 0) and o}
    counterparty = max(opposite, key=lambda o: abs(opposite[o])) if opposite else ""

    fee = int(meta.get("fee") or 0)
    paid_fee = bool(keys) and keys[0] == owner
    sol_change = 0
    if owner in keys:
        index = keys.index(owner)
        sol_change = int(meta["postBalances"][index]) - int(meta["preBalances"][index])
        if paid_fee:
            sol_change += fee  # the fee payer's fee is not a price
    programs = {ix.get("programId", "") for ix in _instructions(tx)}
    traded = bool(programs & DEX_PROGRAMS)
    types = _token_instruction_types(tx, mint)

    if delta > 0:
        if not opposite and types & MINT_INSTRUCTIONS:
            kind = TransactionKind.MINT
        elif traded or sol_change <= -TRADE_LAMPORTS:
            kind = TransactionKind.BUY
        else:
            kind = TransactionKind.TRANSFER_IN
    elif delta < 0:
        if not opposite and types & BURN_INSTRUCTIONS:
            kind = TransactionKind.BURN
        elif traded or sol_change >= TRADE_LAMPORTS:
            kind = TransactionKind.SELL
        else:
            kind = TransactionKind.TRANSFER_OUT
    elif any(mine_post.get(a, 0) != mine_pre.get(a, 0) for a in touched):
        kind = TransactionKind.SELF_TRANSFER
    elif set(mine_post) - set(mine_pre):
        kind = TransactionKind.ACCOUNT_CREATED
    elif set(mine_pre) - set(mine_post):
        kind = TransactionKind.ACCOUNT_CLOSED
    else:
        return None  # e.g. an approve or a failed-free no-op: nothing of the owner's moved
    return Movement(
        amount=delta,
        decimals=decimals,
        kind=kind,
        counterparty=counterparty,
        fee_lamports=fee if paid_fee else 0,
        token_accounts=tuple(sorted(touched)),
    )
