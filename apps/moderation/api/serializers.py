from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer
from apps.forum.models import Comment, Post
from apps.moderation.models import (
    AuditAction,
    AuditLogEntry,
    Report,
    ReportReason,
    Reviewable,
    TargetType,
    WatchedWord,
)


class ReportCreateSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReportSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="open, agreed, rejected or ignored.")

    class Meta:
        model = Report
        fields = ["id", "target_type", "target_id", "reason", "note", "status", "created_at"]
        read_only_fields = fields


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class QueueReportSerializer(serializers.ModelSerializer):
    reporter = UserRefSerializer()
    status = serializers.CharField(read_only=True, help_text="open, agreed, rejected or ignored.")

    class Meta:
        model = Report
        fields = ["id", "reporter", "reason", "note", "weight", "status", "created_at"]
        read_only_fields = fields


def target_snapshot(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    if isinstance(obj, Post):
        return {
            "id": obj.pk,
            "title": obj.title,
            "body": obj.body,
            "status": obj.status,
            "is_locked": obj.is_locked,
            "is_pinned": obj.is_pinned,
            "author_id": obj.author_id,
            "category": obj.category.slug if obj.category_id else None,
            "created_at": obj.created_at,
        }
    if isinstance(obj, Comment):
        return {
            "id": obj.pk,
            "post_id": obj.post_id,
            "body": obj.body,
            "status": obj.status,
            "author_id": obj.author_id,
            "created_at": obj.created_at,
        }
    return {
        "id": obj.pk,
        "username": obj.username,
        "is_active": obj.is_active,
        "suspended_until": obj.suspended_until,
    }


class ReviewableSerializer(serializers.ModelSerializer):
    target = serializers.SerializerMethodField()
    target_user = PublicUserSerializer(allow_null=True)
    category = serializers.SerializerMethodField()
    claimed_by = UserRefSerializer(allow_null=True)
    reports = QueueReportSerializer(many=True)
    kind = serializers.CharField(read_only=True, help_text="flagged (by reports) or queued (held for approval).")
    status = serializers.CharField(read_only=True, help_text="pending, approved, rejected or ignored.")

    class Meta:
        model = Reviewable
        fields = [
            "id",
            "kind",
            "target_type",
            "target_id",
            "target",
            "target_user",
            "category",
            "status",
            "score",
            "report_count",
            "reasons",
            "auto_hidden",
            "claimed_by",
            "claimed_at",
            "resolution",
            "resolved_at",
            "created_at",
            "reports",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_target(self, obj: Reviewable) -> dict[str, Any] | None:
        from rest_framework.fields import DateTimeField

        snap = target_snapshot(getattr(obj, "target", None))
        if snap:
            for key in ("created_at", "suspended_until"):
                if snap.get(key) is not None:
                    snap[key] = DateTimeField().to_representation(snap[key])
        return snap

    @extend_schema_field(
        {"type": "object", "nullable": True, "properties": {"slug": {"type": "string"}, "name": {"type": "string"}}}
    )
    def get_category(self, obj: Reviewable) -> dict[str, str] | None:
        return {"slug": obj.category.slug, "name": obj.category.name} if obj.category_id else None


ACTION_CHOICES = [
    (a.value, a.label)
    for a in AuditAction
    if a not in (AuditAction.AUTO_HIDE, AuditAction.CLAIM, AuditAction.UNCLAIM, AuditAction.WATCHED_WORD)
]


class ActionSerializer(serializers.Serializer):
    action = serializers.CharField(
        max_length=32, help_text="One of: " + ", ".join(value for value, _ in ACTION_CHOICES) + "."
    )

    def validate_action(self, value: str) -> str:
        if value not in dict(ACTION_CHOICES):
            raise serializers.ValidationError(f"Unknown action. One of: {', '.join(v for v, _ in ACTION_CHOICES)}.")
        return value

    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    duration_hours = serializers.IntegerField(min_value=1, max_value=24 * 3650, required=False, allow_null=True)

    def validated_duration(self) -> timedelta | None:
        hours = self.validated_data.get("duration_hours")
        return timedelta(hours=hours) if hours else None


class TargetActionSerializer(ActionSerializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class AuditLogEntrySerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(allow_null=True)
    target_user = UserRefSerializer(allow_null=True)
    action = serializers.CharField(read_only=True)

    class Meta:
        model = AuditLogEntry
        fields = [
            "id",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_user",
            "reviewable_id",
            "reason",
            "before",
            "after",
            "created_at",
        ]
        read_only_fields = fields


class WatchedWordSerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchedWord
        fields = ["id", "word", "action", "created_at"]
        read_only_fields = ["id", "created_at"]
