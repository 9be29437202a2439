"""Query filters of the moderation lists (see apps.core.filters). Who may read them is the views'
permission (`require(...)`), not a filter."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import IntegerFilter
from apps.moderation.models import (
    ALL_REASONS,
    AuditLogEntry,
    Reviewable,
    ReviewableKind,
    ReviewableStatus,
    TargetType,
)


class QueueFilter(filters.FilterSet):
    """`GET /api/moderation/queue`."""

    status = filters.ChoiceFilter(choices=ReviewableStatus.choices, help_text="Default: pending.")
    kind = filters.ChoiceFilter(choices=ReviewableKind.choices, help_text="Flagged by reports, or held for approval.")
    category = filters.CharFilter(field_name="category__slug", max_length=100, help_text="Category slug.")
    target_type = filters.ChoiceFilter(choices=TargetType.choices)
    reason = filters.ChoiceFilter(choices=list(ALL_REASONS), method="by_reason", help_text="A report reason.")

    class Meta:
        model = Reviewable
        fields: list[str] = []

    def by_reason(self, queryset, name, value):
        return queryset.filter(reasons__contains=[value])


class AuditLogFilter(filters.FilterSet):
    """`GET /api/moderation/log`."""

    actor = IntegerFilter(field_name="actor_id")
    target_type = filters.ChoiceFilter(choices=TargetType.choices)
    target_id = IntegerFilter()
    user = IntegerFilter(field_name="target_user_id", help_text="Entries affecting this user.")
    action = filters.CharFilter(max_length=64)

    class Meta:
        model = AuditLogEntry
        fields: list[str] = []
