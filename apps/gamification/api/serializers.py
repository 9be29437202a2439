from __future__ import annotations

from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer
from apps.gamification.models import Achievement, Activity, Level, PointTransaction


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["code", "name", "description", "points", "daily_cap", "counts_toward_daily_cap"]
        read_only_fields = fields


class LevelSerializer(serializers.ModelSerializer):
    level = serializers.IntegerField(source="number", read_only=True)

    class Meta:
        model = Level
        fields = ["level", "name", "min_points", "perks"]
        read_only_fields = fields


SECRET_NAME = "Secret achievement"
SECRET_DESCRIPTION = "Keep playing to find out."


class AchievementSerializer(serializers.ModelSerializer):
    """A definition. Secret ones stay masked unless the viewer has unlocked them
    (context["revealed"]: set of achievement ids)."""

    target = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Achievement
        fields = [
            "id",
            "code",
            "name",
            "description",
            "icon",
            "tier",
            "secret",
            "criteria_type",
            "target",
            "bonus_points",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.secret and instance.pk not in self.context.get("revealed", set()):
            data.update(
                {"code": None, "name": SECRET_NAME, "description": SECRET_DESCRIPTION, "icon": "", "target": None}
            )
            data["criteria_type"] = None
        return data


class ProgressSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    target = serializers.IntegerField()


class UserAchievementSerializer(serializers.Serializer):
    achievement = serializers.SerializerMethodField()
    unlocked = serializers.BooleanField()
    unlocked_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressSerializer(allow_null=True, help_text="Counters only, and only for the owner.")

    def get_achievement(self, view) -> dict:
        return AchievementSerializer(view.achievement, context=self.context).data

    def to_representation(self, view):
        progress = None
        if self.context.get("with_progress") and view.current is not None and view.target is not None:
            progress = {"current": view.current, "target": view.target}
        return {
            "achievement": self.get_achievement(view),
            "unlocked": view.unlocked_at is not None,
            "unlocked_at": serializers.DateTimeField().to_representation(view.unlocked_at)
            if view.unlocked_at
            else None,
            "progress": progress,
        }


class PointTransactionSerializer(serializers.ModelSerializer):
    source_type = serializers.CharField(read_only=True)
    source_id = serializers.CharField(read_only=True)
    reverses_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = PointTransaction
        fields = [
            "id",
            "activity",
            "kind",
            "amount",
            "source_type",
            "source_id",
            "category_id",
            "reverses_id",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user = PublicUserSerializer()
    points = serializers.IntegerField()
