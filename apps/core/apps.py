from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.logging import install_request_id_record_factory

        install_request_id_record_factory()

        from apps.core.rls import install_admin_system_context

        install_admin_system_context()

        from apps.core.db_router import install_request_routing

        install_request_routing()

        from apps.core import strict_json

        strict_json.install()

        from apps.core import events

        events.connect_receivers()  # every app's receivers.py SUBSCRIPTIONS
