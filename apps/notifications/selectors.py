"""Reads of the notifications area."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.notifications.models import Notification, Subscription


def notification_list(*, user, unread: bool | None = None, type: str | None = None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user, in_app=True)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if type:
        qs = qs.filter(type=type)
    return qs


def subscription_list(*, user, target_type: str | None = None, level: str | None = None) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(user=user)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if level:
        qs = qs.filter(level=level)
    return qs
