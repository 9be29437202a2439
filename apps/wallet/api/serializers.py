from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer


class AddressInput(serializers.Serializer):
    address = serializers.CharField(max_length=64, help_text="Base58 Solana public key.")


class SignedMessageInput(serializers.Serializer):
    address = serializers.CharField(max_length=64, help_text="Base58 Solana public key that signed.")
    message = serializers.CharField(
        max_length=4096, trim_whitespace=False, help_text="The SIWS message exactly as the wallet signed it."
    )
    signature = serializers.CharField(max_length=200, help_text="ed25519 signature, base58 (or base64).")


@extend_schema_field({"type": "boolean", "enum": [True]})
class OnlyTrueField(serializers.BooleanField):
    """Only true: a wallet stops being primary when another one becomes it."""


class PrimaryInput(serializers.Serializer):
    is_primary = OnlyTrueField()


class ChallengeSerializer(serializers.Serializer):
    message = serializers.CharField()
    nonce = serializers.CharField()
    expires_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    address = serializers.CharField()


class OwnUserSerializer(PublicUserSerializer):
    holder_tier = serializers.CharField(source="profile.holder_tier", read_only=True)  # their own, always

    class Meta(PublicUserSerializer.Meta):
        fields = [*PublicUserSerializer.Meta.fields, "email", "email_verified"]
        read_only_fields = fields


class WalletLoginSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = OwnUserSerializer()
    created = serializers.BooleanField(help_text="True when this sign-in created the account.")


class WalletSerializer(serializers.Serializer):
    """API.md "wallet": address, verified, is_primary, balance, holder_tier, balance_checked_at."""

    address = serializers.CharField()
    label = serializers.CharField(source="short_address")
    verified = serializers.BooleanField()
    is_primary = serializers.BooleanField()
    balance = serializers.SerializerMethodField()
    holder_tier = serializers.SerializerMethodField()
    balance_checked_at = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()
    verified_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()

    def _balance(self, wallet):
        rows = getattr(wallet, "token_balances", None)
        if rows is None:
            from django.conf import settings

            return wallet.balances.filter(mint=settings.TOKEN_MINT).first()
        return rows[0] if rows else None

    def get_balance(self, wallet) -> str | None:
        balance = self._balance(wallet)
        return str(balance.ui_amount) if balance is not None and balance.amount is not None else None

    def get_balance_checked_at(self, wallet) -> str | None:
        balance = self._balance(wallet)
        field = serializers.DateTimeField()
        return field.to_representation(balance.checked_at) if balance is not None and balance.checked_at else None

    def get_stale(self, wallet) -> bool:
        balance = self._balance(wallet)
        return balance is None or balance.checked_at is None or balance.stale

    def get_holder_tier(self, wallet) -> str:
        return self.context.get("holder_tier", "none")


class WalletBalanceRowSerializer(serializers.Serializer):
    address = serializers.CharField()
    is_primary = serializers.BooleanField()
    balance = serializers.CharField(allow_null=True)
    balance_base = serializers.CharField(allow_null=True)
    token_accounts = serializers.IntegerField()
    balance_checked_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField()


class TierInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    exempt = serializers.BooleanField()
    pending_tier = serializers.CharField(allow_null=True)
    downgrade_at = serializers.DateTimeField(allow_null=True)
    next_tier = serializers.CharField(allow_null=True)
    next_tier_min = serializers.CharField(allow_null=True)


class BalanceSerializer(serializers.Serializer):
    mint = serializers.CharField()
    symbol = serializers.CharField()
    decimals = serializers.IntegerField()
    total = serializers.CharField(help_text="Whole tokens, decimal string.")
    total_base = serializers.CharField(help_text="Base units, integer string.")
    holder_tier = serializers.CharField()
    balance_checked_at = serializers.DateTimeField(allow_null=True, help_text="Oldest successful check.")
    stale = serializers.BooleanField(help_text="True if any wallet's last check failed or never ran.")
    wallets = WalletBalanceRowSerializer(many=True)
    tier = TierInfoSerializer()


class TransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    signature = serializers.CharField()
    address = serializers.CharField(source="wallet.address")
    kind = serializers.CharField()
    type = serializers.CharField(source="kind")
    amount = serializers.SerializerMethodField()
    amount_base = serializers.SerializerMethodField()
    counterparty = serializers.CharField()
    fee_lamports = serializers.IntegerField()
    slot = serializers.IntegerField()
    block_time = serializers.DateTimeField()

    def get_amount(self, tx) -> str:
        return str(tx.ui_amount)

    def get_amount_base(self, tx) -> str:
        return str(int(tx.amount))


class TransactionSummarySerializer(serializers.Serializer):
    mint = serializers.CharField()
    first_acquired_at = serializers.DateTimeField(allow_null=True)
    first_movement_at = serializers.DateTimeField(allow_null=True)
    last_movement_at = serializers.DateTimeField(allow_null=True)
    total_in = serializers.CharField(help_text="Whole tokens received (transfers in, buys, mints).")
    total_out = serializers.CharField(help_text="Whole tokens sent (transfers out, sells, burns).")
    net = serializers.CharField(help_text="total_in minus total_out: what the movements added to the balance.")
    net_30d = serializers.CharField()
    counterparties = serializers.IntegerField(help_text="Distinct owners on the other side of a movement.")
    holding_days = serializers.IntegerField()
    transactions = serializers.IntegerField()
