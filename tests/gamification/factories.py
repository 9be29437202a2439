import datetime as dt

import factory
from django.utils import timezone

from apps.gamification.models import Achievement
from tests.factories import UserFactory


class VeteranFactory(UserFactory):
    """A verified account old enough for its votes to count."""

    date_joined = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))


class AchievementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Achievement

    code = factory.Sequence(lambda n: f"test_achievement_{n}")
    name = factory.Sequence(lambda n: f"Test achievement {n}")
    description = "For tests."
    criteria_type = "counter"
    criteria = factory.LazyFunction(lambda: {"stat": "posts_created", "target": 2})
    bonus_points = 0
