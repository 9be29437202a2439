from django.apps import AppConfig


class MediaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.media"
    label = "media"
    verbose_name = "Media"

    def ready(self) -> None:
        from apps.forum import hooks as forum_hooks

        forum_hooks.on_content_saved(attach_uploads_used_in)


def attach_uploads_used_in(kind: str, obj) -> None:
    """Uploads a post or comment links to are no longer orphans (the cleanup job keeps them)."""
    from apps.media.services import media_attach_from_text

    media_attach_from_text(owner=obj.author, text=obj.body, target=f"{kind}:{obj.pk}")
