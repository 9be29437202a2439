from django.contrib import admin

from apps.accounts.admin import ReadOnlyInline, register_user_inline
from apps.wallet import services
from apps.wallet.models import BalanceHistory, HolderStatus, SiwsChallenge, TokenBalance, Transaction, WalletConnection


class TokenBalanceInline(admin.TabularInline):
    model = TokenBalance
    extra = 0
    readonly_fields = ["mint", "amount", "decimals", "token_accounts", "slot", "checked_at", "stale", "last_error"]
    can_delete = False


@admin.register(WalletConnection)
class WalletConnectionAdmin(admin.ModelAdmin):
    list_display = ["address", "user", "verified", "is_primary", "created_at", "next_refresh_at"]
    list_filter = ["verified", "is_primary"]
    search_fields = ["address", "user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["verified_at", "created_at", "tx_synced_at"]
    inlines = [TokenBalanceInline]


@admin.register(HolderStatus)
class HolderStatusAdmin(admin.ModelAdmin):
    list_display = ["user", "tier", "total_amount", "below_since", "pending_tier", "exempt_tier"]
    list_filter = ["tier", "exempt_tier"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["tier", "total_amount", "decimals", "below_since", "pending_tier", "changed_at", "computed_at"]
    fields = ["user", "exempt_tier", "exempt_reason", *readonly_fields]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Apply an exemption (or its removal) at once, through the service, so events go out.
        services.holder_exemption_set(user_id=obj.user_id, tier=obj.exempt_tier, reason=obj.exempt_reason)


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["signature", "wallet", "kind", "amount", "block_time"]
    list_filter = ["kind"]
    search_fields = ["signature", "wallet__address"]
    raw_id_fields = ["wallet", "user"]


@admin.register(BalanceHistory)
class BalanceHistoryAdmin(admin.ModelAdmin):
    list_display = ["wallet", "amount", "decimals", "recorded_at"]
    raw_id_fields = ["wallet"]


@admin.register(SiwsChallenge)
class SiwsChallengeAdmin(admin.ModelAdmin):
    list_display = ["address", "purpose", "issued_at", "expires_at", "consumed_at"]
    search_fields = ["address", "nonce"]
    raw_id_fields = ["user"]


class UserWalletInline(ReadOnlyInline):
    """The member's wallets on the accounts User page (read-only: links change through the API)."""

    model = WalletConnection
    fk_name = "user"
    fields = ["address", "verified", "is_primary", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "wallets"


register_user_inline(UserWalletInline)
