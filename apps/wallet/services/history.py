"""Token transactions of a wallet, synced from the chain through its token accounts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.wallet.clients.solana_rpc import RpcError, SolanaRpcClient, get_client
from apps.wallet.models import Transaction, WalletConnection, WalletSyncCursor
from apps.wallet.transactions import owner_token_accounts, token_movement

logger = logging.getLogger("apps.wallet.services")

# --- transactions -----------------------------------------------------------------------------------


def _block_time(value: object) -> datetime:
    if isinstance(value, (int, float)) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return timezone.now()


def _signatures_since(client: SolanaRpcClient, address: str, cursor: str) -> tuple[list[dict], bool]:
    """`address`'s signatures newer than `cursor`, newest first; and whether the list is whole (a
    busy address, an exchange or a bot, keeps only its newest WALLET_TX_MAX_PAGES pages here)."""
    found: list[dict] = []
    before = None
    page_size = settings.WALLET_TX_PAGE_SIZE
    for _page in range(max(1, settings.WALLET_TX_MAX_PAGES)):
        page = client.get_signatures(address, limit=page_size, before=before, until=cursor or None)
        found.extend(page)
        if len(page) < page_size:
            return found, True
        before = page[-1]["signature"]
    logger.info("%s: more than %d signatures since the last sync; older ones skipped", address, len(found))
    return found, False


def wallet_transactions_sync(*, wallet: WalletConnection, client: SolanaRpcClient | None = None) -> int:
    """Store this token's movements in the wallet since the last sync. Returns how many rows were added.

    A transfer into an existing token account lists the token account, not the owner, among its
    keys: so the signatures of every token account the wallet holds for the mint (Token and
    Token-2022) are read, plus the owner's own (they carry account creation and closing), plus any
    token account of the owner's found in those transactions (a closed one). They are merged by slot
    and signature, each transaction is asked for once, failed ones are skipped (they move nothing),
    and each address keeps its own cursor, advanced only when everything after it was read."""
    own_client = client is None
    client = client or get_client()
    mint = settings.TOKEN_MINT
    owner = wallet.address
    cursors = {c.address: c for c in WalletSyncCursor.objects.filter(wallet=wallet)}
    rows: list[Transaction] = []
    newest: dict[str, dict] = {}
    roles: dict[str, str] = {}
    complete, stopped = True, False
    try:
        roles[owner] = "owner"
        for account in client.get_token_accounts(owner, mint):
            roles.setdefault(account.pubkey, account.program)
        queue = list(roles)
        examined: set[str] = set()
        while queue:
            found: dict[str, dict] = {}
            for address in queue:
                cursor = cursors[address].signature if address in cursors else ""
                page, whole = _signatures_since(client, address, cursor)
                complete = complete and whole
                if page:
                    newest[address] = page[0]
                for info in page:
                    found.setdefault(info["signature"], info)
            queue = []
            # Oldest first by (slot, signature): one order whatever address listed it.
            ordered = sorted(
                (i for sig, i in found.items() if sig not in examined),
                key=lambda i: (i.get("slot") or 0, i["signature"]),
            )
            known = set(
                Transaction.objects.filter(wallet=wallet, signature__in=[i["signature"] for i in ordered]).values_list(
                    "signature", flat=True
                )
            )
            for info in ordered:
                sig = info["signature"]
                examined.add(sig)
                if sig in known or info.get("err") is not None:
                    continue  # stored already, or failed: a failed transaction moves nothing
                try:
                    tx = client.get_transaction(sig)
                except RpcError as exc:
                    # Keep what was read; the cursors stay put, so the rest is asked for next time
                    # (and what is stored now is never asked for again).
                    logger.warning("transaction sync for %s stopped at %s: %s", owner, sig, exc)
                    complete, stopped = False, True
                    break
                if tx is None:
                    continue  # not available on this node (pruned or not yet): not a movement we can read
                try:
                    movement = token_movement(tx, owner=owner, mint=mint, default_decimals=settings.TOKEN_DECIMALS)
                    accounts = owner_token_accounts(tx, owner=owner, mint=mint)
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    logger.warning("skipping malformed transaction %s: %s", sig, exc)
                    continue
                for account in accounts - set(roles):  # a token account no longer listed (closed)
                    roles[account] = "closed"
                    queue.append(account)
                if movement is None:
                    continue
                rows.append(
                    Transaction(
                        wallet=wallet,
                        user_id=wallet.user_id,
                        signature=sig,
                        slot=int(tx.get("slot") or info.get("slot") or 0),
                        block_time=_block_time(tx.get("blockTime") or info.get("blockTime")),
                        kind=movement.kind,
                        mint=mint,
                        amount=Decimal(movement.amount),
                        decimals=movement.decimals,
                        counterparty=movement.counterparty,
                        token_accounts=",".join(movement.token_accounts)[:200],
                        fee_lamports=movement.fee_lamports,
                    )
                )
            if stopped:
                break
    finally:
        if own_client:
            client.close()
    now = timezone.now()
    with transaction.atomic():
        before = Transaction.objects.filter(wallet=wallet).count()
        Transaction.objects.bulk_create(rows, ignore_conflicts=True)
        added = Transaction.objects.filter(wallet=wallet).count() - before
        if complete:
            for address, role in roles.items():
                values = {"role": role, "synced_at": now}
                if address in newest:
                    values |= {"signature": newest[address]["signature"], "slot": newest[address].get("slot")}
                WalletSyncCursor.objects.update_or_create(wallet=wallet, address=address, defaults=values)
        WalletConnection.objects.filter(pk=wallet.pk).update(tx_synced_at=now)
        wallet.tx_synced_at = now
    return added
