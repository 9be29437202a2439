from django.apps import AppConfig


class WalletConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.wallet"
    label = "wallet"

    def ready(self) -> None:
        from apps.accounts import identity
        from apps.core import seeding
        from apps.wallet.seed import make_demo_wallets
        from apps.wallet.selectors import wallet_identities

        # A verified wallet is a way into the account (login, and "never unlink the last way in").
        identity.register_source(wallet_identities)
        seeding.register_demo("wallet.wallets", make_demo_wallets, order=20)
