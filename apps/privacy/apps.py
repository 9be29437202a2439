from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.privacy"
    label = "privacy"

    def ready(self) -> None:
        from apps.privacy import registry

        registry.autodiscover()
