from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.core import realtime
        from apps.notifications import receivers, selectors

        receivers.connect()
        realtime.register_per_user_builder(selectors.BULK_FRAMES, selectors.bulk_frames)
