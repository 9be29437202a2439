from django.apps import AppConfig


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.search"
    label = "search"

    def ready(self) -> None:
        from apps.search import receivers

        receivers.connect()
