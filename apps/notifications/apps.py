from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.core import push
        from apps.notifications import selectors

        push.register_per_user_builder(selectors.BULK_FRAMES, selectors.bulk_frames)
