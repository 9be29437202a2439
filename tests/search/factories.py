"""Forum rows for search tests, written through the ORM (the forum services live elsewhere)."""

import factory
from django.utils import timezone

from apps.forum.models import Category, Comment, Post, Tag
from tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tag-{n}")
    name = factory.LazyAttribute(lambda t: t.slug)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Post number {n}")
    body = "Some body text."
    tag_slugs = factory.LazyFunction(list)
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def make_tags(obj, create, extracted, **kwargs):
        for slug in obj.tag_slugs:
            TagFactory(slug=slug)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = "A comment."
    path = "0000000000."
