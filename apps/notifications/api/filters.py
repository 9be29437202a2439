"""Query filters of the notifications' list endpoints (see apps.core.filters)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import StrictBooleanFilter
from apps.notifications import types
from apps.notifications.models import Level, Notification, Subscription, TargetType


class NotificationFilter(filters.FilterSet):
    """`GET /api/notifications`."""

    unread = StrictBooleanFilter(help_text="Only unread (true) or only read (false).")
    type = filters.ChoiceFilter(choices=[(k, k) for k in types.KEYS], help_text="One notification type.")

    class Meta:
        model = Notification
        fields: list[str] = []


class SubscriptionFilter(filters.FilterSet):
    """`GET /api/notifications/subscriptions`."""

    target_type = filters.ChoiceFilter(choices=TargetType.choices)
    level = filters.ChoiceFilter(choices=Level.choices)

    class Meta:
        model = Subscription
        fields: list[str] = []
