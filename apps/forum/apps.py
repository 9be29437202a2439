from django.apps import AppConfig


class ForumConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.forum"
    label = "forum"

    def ready(self) -> None:
        from apps.core import seeding
        from apps.forum import reference
        from apps.forum.api import payloads
        from apps.forum.realtime_topics import register_topics
        from apps.forum.seed import load_categories, load_tags, make_demo_forum

        register_topics()
        payloads.register()  # the API layer shapes what the domain broadcasts
        reference.register()
        seeding.register_fixture_loader("forum.categories", load_categories, order=20)
        seeding.register_fixture_loader("forum.tags", load_tags, order=21)
        seeding.register_demo("forum.content", make_demo_forum, order=30)
