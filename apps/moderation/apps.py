from django.apps import AppConfig


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.moderation"
    label = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from apps.core import seeding
        from apps.moderation.seed import make_demo_moderation

        seeding.register_demo("moderation.queue", make_demo_moderation, order=90)
        # Spam controls decide, inside the forum's write, whether new content is published,
        # held for approval or refused.
        from apps.forum import hooks as forum_hooks
        from apps.moderation.gate import SpamControlGate

        forum_hooks.set_content_gate(SpamControlGate())
