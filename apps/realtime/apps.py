from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.realtime"
    label = "realtime"

    def ready(self) -> None:
        pass  # its receivers: apps/realtime/receivers.py SUBSCRIPTIONS
