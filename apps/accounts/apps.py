from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from apps.accounts import signals  # noqa: F401
        from apps.accounts.seed import make_demo_users
        from apps.core import seeding

        seeding.register_demo("accounts.users", make_demo_users, order=10)
