import factory
from django.utils import timezone

from apps.notifications.models import Notification, Subscription
from tests.factories import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    type = "level_up"
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = ""
    link = "/"
    data = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    target_type = "category"
    target_id = 1
    level = "watch"
