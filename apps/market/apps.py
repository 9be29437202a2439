from django.apps import AppConfig


class MarketConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.market"
    label = "market"

    def ready(self) -> None:
        from apps.core import seeding
        from apps.market.seed import load_milestone_fixture

        seeding.register_fixture_loader("market.milestones", load_milestone_fixture, order=40)
