from django.apps import AppConfig


class GamificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.gamification"
    label = "gamification"

    def ready(self) -> None:
        from apps.core import seeding
        from apps.gamification import catalogue, seed

        seeding.register_fixture_loader("gamification.activities", seed.load_activities, order=40)
        seeding.register_fixture_loader("gamification.levels", seed.load_levels, order=41)
        seeding.register_fixture_loader("gamification.achievements", seed.load_achievements, order=42)
        catalogue.register()  # per-process, invalidated everywhere on change (apps.core.refcache)
        from apps.gamification import receivers

        receivers.connect_model_signals()
