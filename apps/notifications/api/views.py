from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import ValidationFailed
from apps.core.filters import FilteredView
from apps.core.pagination import KeysetPagination
from apps.core.sparse import SparseFieldsetMixin
from apps.notifications import selectors, services
from apps.notifications.api.filters import NotificationFilter, SubscriptionFilter
from apps.notifications.api.serializers import (
    MarkReadResultSerializer,
    MarkReadSerializer,
    NotificationReadSerializer,
    NotificationSerializer,
    SettingsOutputSerializer,
    SettingsSerializer,
    SubscriptionInputSerializer,
    SubscriptionSerializer,
    UnreadCountSerializer,
)
from apps.notifications.models import TargetType

TAGS = ["notifications"]


class NotificationListView(FilteredView, SparseFieldsetMixin, APIView):
    permission_classes = [IsAuthenticated]
    filterset_class = NotificationFilter
    sparse_serializer = NotificationSerializer
    pagination_class = KeysetPagination
    ordering = ("-created_at", "-id")

    @extend_schema(
        summary="My notifications, newest activity first",
        tags=TAGS,
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses=NotificationSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.notification_list(user=request.user, **self.filter_values())
        paginator = KeysetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        services.record_visit(user=request.user)
        return paginator.get_paginated_response(self.trim_serializer(NotificationSerializer(page, many=True)).data)


class NotificationDetailView(APIView):
    partial_patch = False  # PATCH validates the whole body, like PUT (apps.core.schema)
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark one notification read or unread",
        tags=TAGS,
        request=NotificationReadSerializer,
        responses=NotificationSerializer,
    )
    def put(self, request, pk: int):
        body = NotificationReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = services.notification_set_read(
            user=request.user, notification_id=pk, read=body.validated_data["read"]
        )
        return Response(NotificationSerializer(notification).data)

    patch = put

    @extend_schema(summary="Delete one notification", tags=TAGS, responses={204: None})
    def delete(self, request, pk: int):
        services.notification_delete(user=request.user, notification_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MarkReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark many notifications read",
        description='Body: `{"ids": [...]}` or `{"all": true}`. Ids of other people\'s notifications match nothing.',
        tags=TAGS,
        request=MarkReadSerializer,
        responses=MarkReadResultSerializer,
    )
    def post(self, request):
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.notifications_mark_read(
            user=request.user, ids=body.validated_data.get("ids"), all=body.validated_data["all"]
        )
        return Response({"updated": updated, "unread_count": selectors.unread_count(request.user.pk)})


class UnreadCountView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="How many unread notifications I have", tags=TAGS, responses=UnreadCountSerializer)
    def get(self, request):
        services.record_visit(user=request.user)
        return Response({"unread_count": selectors.unread_count(request.user.pk)})


class SettingsView(APIView):
    partial_patch = False  # PATCH validates the whole body, like PUT (apps.core.schema)
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="My notification settings", tags=TAGS, responses=SettingsOutputSerializer)
    def get(self, request):
        return Response(SettingsOutputSerializer.build(selectors.settings_for(request.user.pk)))

    @extend_schema(
        summary="Change my notification settings",
        description=(
            'Partial update: `{"types": {"vote": {"email": true}}, "email_frequency": "immediate"|"daily"|'
            '"weekly"|"off", "dnd_until": "<time>"|null}`. During do-not-disturb nothing is pushed or emailed; '
            "notifications still collect in the list."
        ),
        tags=TAGS,
        request=SettingsSerializer,
        responses=SettingsOutputSerializer,
    )
    def put(self, request):
        body = SettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        prefs = services.settings_update(
            user=request.user,
            types_=data.get("types"),
            email_frequency=data.get("email_frequency"),
            dnd_until=data.get("dnd_until", ...),
        )
        return Response(SettingsOutputSerializer.build(prefs))

    patch = put


class SubscriptionListView(FilteredView, APIView):
    permission_classes = [IsAuthenticated]
    filterset_class = SubscriptionFilter

    @extend_schema(
        summary="My subscriptions (watch / track / mute on categories, threads, users)",
        tags=TAGS,
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses=SubscriptionSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.subscription_list(user=request.user, **self.filter_values())
        paginator = KeysetPagination()
        page = paginator.paginate_queryset(qs, request, ordering=("-id",))
        return paginator.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        summary="Watch, track, mute, or reset (level normal) a category, thread or user",
        tags=TAGS,
        request=SubscriptionInputSerializer,
        responses={200: SubscriptionSerializer, 204: None},
    )
    def put(self, request):
        body = SubscriptionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_set(user=request.user, **body.validated_data)
        if subscription is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(SubscriptionSerializer(subscription).data)

    post = put


class SubscriptionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Back to the default level for one target",
        tags=TAGS,
        parameters=[OpenApiParameter("target_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=TargetType.values)],
        responses={204: None},
    )
    def delete(self, request, target_type: str, target_id: int):
        if target_type not in TargetType.values:
            raise ValidationFailed("Unknown target_type.", details={"target_type": ["Unknown target type."]})
        services.subscription_set(user=request.user, target_type=target_type, target_id=target_id, level=None)
        return Response(status=status.HTTP_204_NO_CONTENT)
