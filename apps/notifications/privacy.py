"""Notifications: the user's notifications, settings and subscriptions (watch/track/mute).
All private: deleted on erasure. Notifications other people received about something the user
did (e.g. "alice replied") belong to those people and stay."""

from __future__ import annotations

from apps.notifications.models import Notification, NotificationSettings, Subscription
from apps.privacy.shaping import deleted, one, rows

SECTION = "notifications"
MODELS = ["notifications.Notification", "notifications.NotificationSettings", "notifications.Subscription"]


def export(user) -> dict:
    return {
        "notifications": rows(
            Notification.objects.filter(user=user).order_by("created_at", "id"),
            "id",
            "type",
            "title",
            "body",
            "link",
            "data",
            "count",
            "read_at",
            "emailed_at",
            "created_at",
        ),  # fmt: skip
        "settings": one(
            NotificationSettings.objects.filter(user=user).first(), "types", "email_frequency", "dnd_until"
        ),
        "subscriptions": rows(
            Subscription.objects.filter(user=user).order_by("created_at", "id"),
            "target_type",
            "target_id",
            "level",
            "created_at",
        ),  # fmt: skip
    }


def erase(user) -> dict:
    return {
        "notifications": deleted(Notification.objects.filter(user=user)),
        "settings": deleted(NotificationSettings.objects.filter(user=user)),
        "subscriptions": deleted(Subscription.objects.filter(user=user)),
    }


def detach(user, ghost) -> dict:
    # Other people's follows and mutes of this user name a person who is gone: drop them.
    return {"others_user_subscriptions": deleted(Subscription.objects.filter(target_type="user", target_id=user.pk))}
