from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.core import realtime
        from apps.notifications import receivers, services

        receivers.connect()
        realtime.register_per_user_builder(services.BULK_FRAMES, services.bulk_frames)
