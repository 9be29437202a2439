"""Wallets linked to accounts, their token balances (current and on-change history), their token
transactions, the Sign In With Solana challenges we issued, and each account's holder standing."""

from __future__ import annotations

from decimal import Decimal, localcontext

from django.conf import settings
from django.db import models
from django.db.models import Q

# Base units of an SPL token fit in u64; NUMERIC(40, 0) holds sums over many wallets without loss.
BASE_UNITS = {"max_digits": 40, "decimal_places": 0}


class ChallengePurpose(models.TextChoices):
    LOGIN = "login", "Log in"
    LINK = "link", "Link to an account"


class SiwsChallenge(models.Model):
    """A Sign In With Solana message we issued. Single use: `consumed_at` is set in the transaction
    that accepts its signature, under a row lock."""

    nonce = models.CharField(max_length=64, unique=True)
    address = models.CharField(max_length=44)
    purpose = models.CharField(max_length=8, choices=ChallengePurpose.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    domain = models.CharField(max_length=255)
    uri = models.CharField(max_length=500)
    chain_id = models.CharField(max_length=32)
    statement = models.CharField(max_length=500, blank=True, default="")
    message = models.TextField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wallet_siws_challenges"

    def __str__(self) -> str:
        return f"{self.purpose} challenge for {self.address}"


class WalletConnection(models.Model):
    """A wallet linked to an account. One account per wallet (unique address); one primary per account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallets")
    address = models.CharField(max_length=44, unique=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Refresh bookkeeping: beat claims due rows with FOR UPDATE SKIP LOCKED, ordered by this.
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    # When the history was last synced; the per-address cursors are in WalletSyncCursor.
    tx_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wallet_connections"
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(is_primary=True), name="wallet_one_primary_per_user"),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="wallet_user_created_idx"),
            models.Index(fields=["next_refresh_at"], condition=Q(verified=True), name="wallet_refresh_due_idx"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def short_address(self) -> str:
        return f"{self.address[:4]}…{self.address[-4:]}"


class TokenBalance(models.Model):
    """The last good balance of one mint in one wallet. A failed check keeps the amount and marks it stale."""

    wallet = models.ForeignKey(WalletConnection, on_delete=models.CASCADE, related_name="balances")
    mint = models.CharField(max_length=44)
    amount = models.DecimalField(**BASE_UNITS, null=True, blank=True)  # base units; null until first success
    decimals = models.PositiveSmallIntegerField(default=6)
    token_accounts = models.PositiveSmallIntegerField(default=0)
    slot = models.BigIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # last successful check
    stale = models.BooleanField(default=False)
    last_error = models.CharField(max_length=300, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "token_balances"
        constraints = [models.UniqueConstraint(fields=["wallet", "mint"], name="token_balance_wallet_mint_unique")]

    def __str__(self) -> str:
        return f"{self.wallet_id}:{self.mint}={self.amount}"

    @property
    def ui_amount(self) -> Decimal | None:
        if self.amount is None:
            return None
        return scale(self.amount, self.decimals)


class BalanceHistory(models.Model):
    """One row each time a wallet's balance is seen to change (never on an unchanged check)."""

    wallet = models.ForeignKey(WalletConnection, on_delete=models.CASCADE, related_name="balance_history")
    mint = models.CharField(max_length=44)
    amount = models.DecimalField(**BASE_UNITS)
    decimals = models.PositiveSmallIntegerField()
    slot = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "token_balance_history"
        indexes = [models.Index(fields=["wallet", "mint", "-recorded_at"], name="balance_history_wallet_idx")]

    def __str__(self) -> str:
        return f"{self.wallet_id}:{self.amount} at {self.recorded_at}"


class TransactionKind(models.TextChoices):
    """What a movement was for the wallet's owner. A failed transaction moves nothing and is no movement."""

    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    TRANSFER_IN = "transfer_in", "Transfer in"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    SELF_TRANSFER = "self_transfer", "Between own token accounts"
    ACCOUNT_CREATED = "account_created", "Token account created"
    ACCOUNT_CLOSED = "account_closed", "Token account closed"
    MINT = "mint", "Minted"
    BURN = "burn", "Burned"


class WalletSyncCursor(models.Model):
    """Per address read for a wallet's history (the owner and each of its token accounts): the newest
    signature already examined, so the next sync asks that address only for what came after it."""

    wallet = models.ForeignKey(WalletConnection, on_delete=models.CASCADE, related_name="sync_cursors")
    address = models.CharField(max_length=44)
    # "owner" or the token program the account belongs to (Token or Token-2022).
    role = models.CharField(max_length=44)
    signature = models.CharField(max_length=100, blank=True, default="")
    slot = models.BigIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wallet_sync_cursors"
        constraints = [models.UniqueConstraint(fields=["wallet", "address"], name="wallet_sync_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.wallet_id}:{self.address}@{self.signature[:8]}"


class Transaction(models.Model):
    """A movement of the token in a linked wallet, read once from the chain and kept."""

    wallet = models.ForeignKey(WalletConnection, on_delete=models.CASCADE, related_name="transactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_transactions")
    signature = models.CharField(max_length=100)
    slot = models.BigIntegerField()
    block_time = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=TransactionKind.choices)
    mint = models.CharField(max_length=44)
    amount = models.DecimalField(**BASE_UNITS)  # signed change in base units (post minus pre)
    decimals = models.PositiveSmallIntegerField()
    counterparty = models.CharField(max_length=44, blank=True, default="")  # the other side's owner, when readable
    # The wallet's token account(s) of the mint this transaction touched, comma-separated.
    token_accounts = models.CharField(max_length=200, blank=True, default="")
    fee_lamports = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "transactions"
        constraints = [models.UniqueConstraint(fields=["wallet", "signature"], name="transaction_wallet_sig_unique")]
        indexes = [
            models.Index(fields=["user", "-block_time", "-id"], name="transaction_user_time_idx"),
            models.Index(fields=["user", "kind", "-block_time", "-id"], name="transaction_user_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.signature[:8]}"

    @property
    def ui_amount(self) -> Decimal:
        return scale(self.amount, self.decimals)


class HolderStatus(models.Model):
    """An account's holder standing: the tier (mirrored to profiles.holder_tier), the total it was
    computed from, and the pending downgrade while the grace period runs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="holder_status"
    )
    tier = models.CharField(max_length=32, default="none")
    total_amount = models.DecimalField(**BASE_UNITS, default=0)
    decimals = models.PositiveSmallIntegerField(default=6)
    below_since = models.DateTimeField(null=True, blank=True)  # grace period start
    pending_tier = models.CharField(max_length=32, blank=True, default="")
    # Admin exemption: a special account (team, treasury in cold storage) keeps this tier whatever it holds.
    exempt_tier = models.CharField(max_length=32, blank=True, default="")
    exempt_reason = models.CharField(max_length=200, blank=True, default="")
    changed_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wallet_holder_status"
        verbose_name_plural = "holder statuses"
        indexes = [
            models.Index(fields=["below_since"], condition=Q(below_since__isnull=False), name="holder_grace_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.tier}"


def scale(amount: Decimal | int, decimals: int) -> Decimal:
    """Base units to whole tokens, exactly (no floats)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return (Decimal(amount) / (Decimal(10) ** decimals)).quantize(Decimal(1).scaleb(-decimals))
