"""Factories for forum rows. Posts and comments made here bypass the services (fast setup); tests
of behaviour go through services or the API."""

import factory
from django.utils import timezone

from apps.forum.models import Category, Comment, Post, Tag
from tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    position = factory.Sequence(lambda n: n)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tag-{n}")
    name = factory.LazyAttribute(lambda t: t.slug)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Post number {n}")
    body = "Hello **world**"
    body_html = "<p>Hello <strong>world</strong></p>"
    excerpt = "Hello world"
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda p: p.created_at)


class CommentFactory(factory.django.DjangoModelFactory):
    """Pass `post` and optionally `parent`; id and path are allocated like the service does."""

    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = "A comment"
    body_html = "<p>A comment</p>"
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from apps.forum.services import _next_comment_id, comment_path

        parent = kwargs.get("parent")
        cid = _next_comment_id()
        kwargs.setdefault("id", cid)
        kwargs["depth"] = parent.depth + 1 if parent else 0
        kwargs["path"] = comment_path(parent.path if parent else "", kwargs["id"])
        return super()._create(model_class, *args, **kwargs)
