import factory

from apps.forum.models import Category, Comment, Post
from apps.moderation.models import WatchedWord
from tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Post number {n}")
    body = factory.Sequence(lambda n: f"Body of post {n}")
    body_html = factory.LazyAttribute(lambda p: f"<p>{p.body}</p>")


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment
        skip_postgeneration_save = True

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment {n}")
    path = "pending"

    @factory.post_generation
    def set_path(obj, create, extracted, **kwargs):
        if create:
            obj.path = f"{obj.pk:010d}."
            Comment.objects.filter(pk=obj.pk).update(path=obj.path)


class ModeratorFactory(UserFactory):
    role = "moderator"
    is_staff = True


class AdminFactory(UserFactory):
    role = "admin"
    is_staff = True


class WatchedWordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WatchedWord

    word = factory.Sequence(lambda n: f"word{n}")
    action = "block"
