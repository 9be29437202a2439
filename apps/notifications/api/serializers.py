from __future__ import annotations

from rest_framework import serializers

from apps.notifications import types
from apps.notifications.models import (
    EmailFrequency,
    Level,
    NotificationSettings,
    Subscription,
    TargetType,
)
from apps.notifications.payloads import NotificationSerializer as NotificationSerializer  # the wire shape
from apps.notifications.selectors import channels_for


class NotificationReadSerializer(serializers.Serializer):
    read = serializers.BooleanField()


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=500)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": ['Give "ids" or "all": true.']})
        return attrs


class UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()


class MarkReadResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class ChannelsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class TypeSettingSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class TypeChannelsField(serializers.DictField):
    """`{"<type>": {"in_app": bool, "email": bool}}`; the schema names every registered type."""

    @property
    def _spectacular_annotation(self):  # read by drf-spectacular when it documents the field
        channels = {"type": "object", "properties": {"in_app": {"type": "boolean"}, "email": {"type": "boolean"}}}
        return {
            "field": {
                "type": "object",
                "properties": {key: channels for key in types.KEYS},
                "additionalProperties": False,
            }
        }


class SettingsSerializer(serializers.Serializer):
    """Output: every type with its effective channels; input: a partial update."""

    types = TypeChannelsField(child=ChannelsSerializer(), required=False)
    email_frequency = serializers.ChoiceField(choices=EmailFrequency.choices, required=False)
    dnd_until = serializers.DateTimeField(required=False, allow_null=True)

    def validate_types(self, value):
        unknown = sorted(set(value) - set(types.REGISTRY))
        if unknown:
            raise serializers.ValidationError([f"Unknown type: {k}" for k in unknown])
        return value


class SettingsOutputSerializer(serializers.Serializer):
    types = TypeSettingSerializer(many=True)
    email_frequency = serializers.CharField()
    dnd_until = serializers.DateTimeField(allow_null=True)

    @staticmethod
    def build(prefs: NotificationSettings) -> dict:
        rows = []
        for kind in types.REGISTRY.values():
            in_app, email = channels_for(prefs, kind)
            rows.append({"type": kind.key, "label": kind.label, "in_app": in_app, "email": email})
        return {"types": rows, "email_frequency": prefs.email_frequency, "dnd_until": prefs.dnd_until}


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = ["id", "target_type", "target_id", "level", "created_at", "updated_at"]
        read_only_fields = fields


class SubscriptionInputSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    level = serializers.ChoiceField(choices=[*Level.choices, ("normal", "Normal: back to the default")])

    def validate(self, attrs):
        if attrs["target_type"] == TargetType.USER and attrs["level"] == Level.TRACK:
            raise serializers.ValidationError({"level": ["A user can be watched or muted, not tracked."]})
        return attrs
