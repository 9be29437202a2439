from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from allauth.socialaccount.models import SocialToken

        from apps.accounts import identity, signals, sources  # noqa: F401
        from apps.accounts.seed import make_demo_users
        from apps.core import seeding
        from apps.core.crypto import encrypt_at_rest

        # OAuth tokens are only kept when SOCIALACCOUNT_STORE_TOKENS is on; then they are kept encrypted.
        encrypt_at_rest(SocialToken, "token", "token_secret")

        identity.register_source(sources.password_identities)
        identity.register_source(sources.oauth_identities)
        seeding.register_demo("accounts.users", make_demo_users, order=10)
