from django.apps import AppConfig


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.search"
    label = "search"

    def ready(self) -> None:
        from apps.core import seeding
        from apps.search.seed import refresh_search_after_demo

        seeding.register_demo("search.vocabulary", refresh_search_after_demo, order=90)
