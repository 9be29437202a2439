from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import require
from apps.core.filters import FilteredView
from apps.core.idempotency import IdempotentPostMixin
from apps.core.pagination import KeysetPagination
from apps.moderation import selectors, services
from apps.moderation.api.filters import AuditLogFilter, QueueFilter
from apps.moderation.api.serializers import (
    ActionSerializer,
    AuditLogEntrySerializer,
    ReportCreateSerializer,
    ReportSerializer,
    ReviewableSerializer,
    TargetActionSerializer,
    WatchedWordSerializer,
)
from apps.moderation.models import ReviewableStatus, WatchedWord


class ReportCreateView(IdempotentPostMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ReportCreateSerializer,
        responses={201: ReportSerializer, 200: ReportSerializer},
        summary="Report a post, comment or user",
        description=(
            "One open report per reporter per item: repeating it answers 200 with the existing report "
            "(idempotent) instead of 201. Reporters are rate-limited (429 with Retry-After)."
        ),
    )
    def post(self, request: Request) -> Response:
        ser = ReportCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.report_create(reporter=request.user, **ser.validated_data)
        return Response(
            ReportSerializer(result.report).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class QueueView(FilteredView, APIView):
    permission_classes = [require("content.moderate")]
    filterset_class = QueueFilter
    pagination_class = KeysetPagination
    ordering = ("-score", "-id")

    @extend_schema(
        responses=ReviewableSerializer(many=True),
        summary="The review queue, highest score first (moderators)",
    )
    def get(self, request: Request) -> Response:
        status_ = self.filter_values().get("status", ReviewableStatus.PENDING)
        qs = self.filter_queryset(selectors.reviewable_queue(viewer=request.user, status=status_))
        paginator = self.pagination_class()
        page = selectors.attach_targets(paginator.paginate_queryset(qs, request, view=self))
        return paginator.get_paginated_response(ReviewableSerializer(page, many=True).data)


def _check_visible(pk: int, viewer) -> None:
    """Before acting on an item: one the moderator may not read answers like a missing one."""
    if not selectors.reviewable_queue(viewer=viewer, status=None).filter(pk=pk).exists():
        raise Http404


def _reviewable_data(pk: int, viewer) -> dict:
    reviewable = get_object_or_404(selectors.reviewable_queue(viewer=viewer, status=None), pk=pk)
    return ReviewableSerializer(selectors.attach_targets([reviewable])[0]).data


class QueueItemView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(responses=ReviewableSerializer, summary="One queue item with its reports and content")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_reviewable_data(pk, request.user))


class QueueClaimView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(
        request=None, responses=ReviewableSerializer, summary="Claim an item (409 if another moderator holds it)"
    )
    def post(self, request: Request, pk: int) -> Response:
        _check_visible(pk, request.user)
        services.reviewable_claim(reviewable_id=pk, moderator=request.user)
        return Response(_reviewable_data(pk, request.user))

    @extend_schema(request=None, responses=ReviewableSerializer, summary="Release a claim")
    def delete(self, request: Request, pk: int) -> Response:
        _check_visible(pk, request.user)
        services.reviewable_unclaim(reviewable_id=pk, moderator=request.user)
        return Response(_reviewable_data(pk, request.user))


class QueueActionView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(
        request=ActionSerializer,
        responses=ReviewableSerializer,
        summary="Act on a queue item",
        description=(
            "hide, remove, restore, approve, lock, unlock, pin, unpin, warn, suspend (with duration_hours), "
            "ban, unsuspend, agree, dismiss, ignore. Lock/pin leave the item open; the others resolve it."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        ser = ActionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        _check_visible(pk, request.user)
        services.reviewable_act(
            reviewable_id=pk,
            actor=request.user,
            action=ser.validated_data["action"],
            reason=ser.validated_data["reason"],
            duration=ser.validated_duration(),
        )
        return Response(_reviewable_data(pk, request.user))


class TargetActionView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(
        request=TargetActionSerializer,
        responses={200: {"type": "object", "properties": {"reviewable_id": {"type": "integer", "nullable": True}}}},
        summary="Act on a post, comment or user directly (resolves its pending queue item, if any)",
    )
    def post(self, request: Request) -> Response:
        ser = TargetActionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        reviewable = services.moderate(
            actor=request.user,
            action=data["action"],
            target_type=data["target_type"],
            target_id=data["target_id"],
            reason=data["reason"],
            duration=ser.validated_duration(),
        )
        return Response({"reviewable_id": reviewable.pk if reviewable else None})


class AuditLogView(FilteredView, APIView):
    permission_classes = [require("audit.read")]
    filterset_class = AuditLogFilter
    pagination_class = KeysetPagination
    ordering = ("-id",)

    @extend_schema(
        responses=AuditLogEntrySerializer(many=True),
        summary="The moderation audit log, newest first",
    )
    def get(self, request: Request) -> Response:
        qs = self.filter_queryset(selectors.audit_log(viewer=request.user))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(AuditLogEntrySerializer(page, many=True).data)


class WatchedWordListView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(responses=WatchedWordSerializer(many=True), summary="Watched words")
    def get(self, request: Request) -> Response:
        return Response(WatchedWordSerializer(WatchedWord.objects.order_by("word")[:1000], many=True).data)

    @extend_schema(request=WatchedWordSerializer, responses={201: WatchedWordSerializer}, summary="Watch a word")
    def post(self, request: Request) -> Response:
        ser = WatchedWordSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ww = services.watched_word_add(actor=request.user, **ser.validated_data)
        return Response(WatchedWordSerializer(ww).data, status=status.HTTP_201_CREATED)


class WatchedWordDetailView(APIView):
    permission_classes = [require("content.moderate")]

    @extend_schema(request=None, responses={204: None}, summary="Stop watching a word")
    def delete(self, request: Request, pk: int) -> Response:
        services.watched_word_remove(actor=request.user, word_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
