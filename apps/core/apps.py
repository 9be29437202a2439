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

        from apps.core import strict_json

        strict_json.install()

        from apps.core import events

        events.connect_receivers()  # every app's receivers.py SUBSCRIPTIONS

        from django.core.signals import request_finished, request_started

        from apps.core import autocommit

        request_started.connect(autocommit.release, dispatch_uid="autocommit.release.started")
        request_finished.connect(autocommit.release, dispatch_uid="autocommit.release.finished")
