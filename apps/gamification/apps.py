from django.apps import AppConfig


class GamificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.gamification"
    label = "gamification"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from apps.core import events, seeding
        from apps.gamification import receivers, seed
        from apps.gamification.models import Achievement, Activity, Level

        for event_type, receiver in receivers.SUBSCRIPTIONS:
            events.subscribe(event_type, receiver)
        seeding.register_fixture_loader("gamification.activities", seed.load_activities, order=40)
        seeding.register_fixture_loader("gamification.levels", seed.load_levels, order=41)
        seeding.register_fixture_loader("gamification.achievements", seed.load_achievements, order=42)
        for model in (Activity, Level, Achievement):
            post_save.connect(_clear, sender=model, dispatch_uid=f"gamification.clear.{model.__name__}")
            post_delete.connect(_clear, sender=model, dispatch_uid=f"gamification.clear.del.{model.__name__}")


def _clear(sender, **kwargs) -> None:
    from apps.gamification import catalogue

    catalogue.clear()
