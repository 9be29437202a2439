import factory
from django.contrib.auth.hashers import make_password

from apps.accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    email_verified = True
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))
