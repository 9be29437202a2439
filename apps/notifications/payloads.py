"""The wire shape of a notification, one definition for HTTP answers and socket frames.

The API's serializers module re-exports `NotificationSerializer`; services and selectors build
`notification.created` frames with `notification_payload`, so no domain module imports `api/`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """API.md "notification": id, type, title, body, data, read, created_at (+ link, count)."""

    read = serializers.BooleanField(read_only=True)
    count = serializers.IntegerField(read_only=True, help_text="People or events folded into this notification.")
    created_at = serializers.DateTimeField(read_only=True, help_text="Time of the latest activity.")

    class Meta:
        model = Notification
        fields = ["id", "type", "title", "body", "link", "data", "read", "count", "created_at"]
        read_only_fields = fields


def notification_payload(notification: Notification) -> dict[str, Any]:
    return dict(NotificationSerializer(notification).data)
