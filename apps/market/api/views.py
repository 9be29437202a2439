from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.exceptions import NotFound, ValidationFailed
from apps.core.filters import FilteredView
from apps.core.idempotency import IdempotentPostMixin
from apps.core.pagination import KeysetPagination
from apps.core.sparse import SparseFieldsetMixin
from apps.market import selectors, services
from apps.market.cards import milestone_card
from apps.market.jobs import INTERVAL_SECONDS
from apps.market.models import SourceHealth

from .filters import HistoryFilter
from .serializers import (
    HistoryPointSerializer,
    MilestoneSerializer,
    PriceAlertCreateSerializer,
    PriceAlertSerializer,
    PriceAlertUpdateSerializer,
    PriceSerializer,
    SourceHealthSerializer,
)

# The widest `from`..`to` each interval answers (a wider range is a 400, not silently clamped).
HISTORY_MAX_SPAN = {
    "1m": timedelta(days=31),
    "5m": timedelta(days=93),
    "1h": timedelta(days=731),
    "1d": timedelta(days=3653 * 2),
}
HISTORY_MAX_POINTS = 1000


class HistoryPagination(KeysetPagination):
    """Market history is a feed (API.md): keyset cursors, oldest first, up to 1,000 points a page
    (default 1,000 too: a chart wants the whole range at once)."""

    ordering = ("bucket",)
    default_limit = HISTORY_MAX_POINTS
    max_limit = HISTORY_MAX_POINTS


class MilestonePagination(KeysetPagination):
    ordering = ("market_cap_usd", "id")
    default_limit = 100


class AlertPagination(KeysetPagination):
    ordering = ("-id",)


class PriceView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Current token price",
        description=(
            "Served from the cache that every accepted quote refreshes. When every source fails, the "
            "last good quote is returned with `stale: true` (never an error); with no quote at all yet, "
            "every number is null and `stale` is true."
        ),
        responses=PriceSerializer,
        tags=["market"],
    )
    def get(self, request):
        return Response(selectors.price_current())


class HistoryView(FilteredView, ConcurrencyLimitMixin, SparseFieldsetMixin, APIView):
    permission_classes = [AllowAny]
    filterset_class = HistoryFilter
    concurrency_scope = "history"
    sparse_serializer = HistoryPointSerializer
    sparse_always = ("t",)

    @extend_schema(
        summary="Price history (OHLCV candles)",
        description=(
            "Candles of one interval with bucket start `t` in [`from`, `to`], oldest first. Buckets "
            "with no data are absent (gaps stay gaps). `from`/`to` are ISO 8601 (UTC if no offset); "
            "`to` defaults to now, `from` to 1,000 intervals before `to`. A range wider than the "
            "interval allows (1m: 31 days, 5m: 93 days, 1h: 2 years, 1d: 20 years) or `from` after "
            "`to` is a 400. At most 1,000 points a page (`limit`, default 1000); follow "
            "`meta.pagination.next_cursor` for more. `volume` is the rolling 24 h USD volume at the "
            "candle's close."
        ),
        parameters=[
            OpenApiParameter("limit", int, required=False, description="1..1000, default 1000 (larger is clamped)"),
            OpenApiParameter("cursor", str, required=False),
        ],
        responses=HistoryPointSerializer(many=True),
        tags=["market"],
    )
    def get(self, request):
        given = self.filter_values()
        interval = given.get("interval", "1h")
        step = timedelta(seconds=INTERVAL_SECONDS[interval])
        end = given.get("to") or timezone.now()
        try:
            start = given.get("from") or end - step * HISTORY_MAX_POINTS
        except OverflowError:
            raise ValidationFailed("to is too early.", details={"to": ["Out of range."]}) from None
        if start > end:
            raise ValidationFailed("from must not be after to.", details={"from": ["Must not be after to."]})
        if end - start > HISTORY_MAX_SPAN[interval]:
            raise ValidationFailed(
                f"The range is too large for interval {interval}.",
                details={"from": [f"At most {HISTORY_MAX_SPAN[interval].days} days before to for {interval}."]},
            )
        paginator = HistoryPagination()
        rows = paginator.paginate_queryset(
            selectors.history_candles(interval=interval, start=start, end=end), request, view=self
        )
        return paginator.get_paginated_response(HistoryPointSerializer(rows, many=True).data)


class MilestoneListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Market-cap milestones",
        description="Lowest threshold first. `progress_pct` is the current market cap as a percent of the "
        "threshold (100 once reached).",
        responses=MilestoneSerializer(many=True),
        parameters=[OpenApiParameter("limit", int, required=False), OpenApiParameter("cursor", str, required=False)],
        tags=["market"],
    )
    def get(self, request):
        paginator = MilestonePagination()
        rows = paginator.paginate_queryset(selectors.milestone_list(), request, view=self)
        context = {"market_cap": selectors.current_market_cap(), "request": request}
        data = MilestoneSerializer(rows, many=True, context=context).data
        return paginator.get_paginated_response(data)


class _AnyAcceptNegotiation(BaseContentNegotiation):
    """The card answers PNG whatever Accept says; errors still render as the JSON envelope."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class MilestoneCardView(APIView):
    permission_classes = [AllowAny]
    content_negotiation_class = _AnyAcceptNegotiation

    @extend_schema(
        summary="Share card of a reached milestone (PNG, 1200×630)",
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="PNG image"),
        },
        tags=["market"],
    )
    def get(self, request, milestone_id: int):
        milestone = selectors.milestone_list().filter(pk=milestone_id, reached_at__isnull=False).first()
        if milestone is None:
            raise NotFound("No reached milestone with this id.")
        png, etag = milestone_card(milestone)
        quoted = f'"{etag}"'
        if request.headers.get("If-None-Match") == quoted:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(png, content_type="image/png")
        response["ETag"] = quoted
        response["Cache-Control"] = "public, max-age=86400"
        # The media policy: an SPA on a configured origin may show it.
        response["Cross-Origin-Resource-Policy"] = settings.MEDIA_CROSS_ORIGIN_RESOURCE_POLICY
        return response


class PriceAlertListView(IdempotentPostMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="My price alerts",
        responses=PriceAlertSerializer(many=True),
        parameters=[OpenApiParameter("limit", int, required=False), OpenApiParameter("cursor", str, required=False)],
        tags=["market"],
    )
    def get(self, request):
        paginator = AlertPagination()
        rows = paginator.paginate_queryset(selectors.alert_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(PriceAlertSerializer(rows, many=True).data)

    @extend_schema(
        summary="Create a price alert",
        description=(
            "`above`/`below` take `target_price_usd` (positive, within a factor of 1000 of the current "
            "price); `change` takes `change_pct` (non-zero, -95..1000) measured from the price when set. "
            "One-shot alerts fire once; `repeating` ones re-arm when the price crosses back (above/below) "
            "or re-anchor at the price that fired them (change). At most MARKET_ALERTS_PER_USER alerts "
            "per user (409 beyond). A firing is delivered as a notification."
        ),
        request=PriceAlertCreateSerializer,
        responses={201: PriceAlertSerializer},
        tags=["market"],
    )
    def post(self, request):
        body = PriceAlertCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_create(user=request.user, **body.validated_data)
        return Response(PriceAlertSerializer(alert).data, status=201)


class PriceAlertDetailView(APIView):
    permission_classes = [IsAuthenticated]

    def _alert(self, request, alert_id: int):
        alert = selectors.alert_list(user=request.user).filter(pk=alert_id).first()
        if alert is None:
            raise NotFound("No such alert.")
        return alert

    @extend_schema(summary="One of my price alerts", responses=PriceAlertSerializer, tags=["market"])
    def get(self, request, alert_id: int):
        return Response(PriceAlertSerializer(self._alert(request, alert_id)).data)

    @extend_schema(
        summary="Change a price alert (a new target re-arms it)",
        request=PriceAlertUpdateSerializer,
        responses=PriceAlertSerializer,
        tags=["market"],
    )
    def patch(self, request, alert_id: int):
        alert = self._alert(request, alert_id)
        body = PriceAlertUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_update(alert=alert, **body.validated_data)
        return Response(PriceAlertSerializer(alert).data)

    @extend_schema(summary="Delete a price alert", responses={204: None}, tags=["market"])
    def delete(self, request, alert_id: int):
        services.alert_delete(alert=self._alert(request, alert_id))
        return Response(status=204)


class SourceHealthView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Health of the price sources",
        description="Circuit state, back-off and last error of each source (sources never called yet are absent).",
        responses=SourceHealthSerializer(many=True),
        tags=["market"],
    )
    def get(self, request):
        rows = SourceHealth.objects.order_by("source")
        data = SourceHealthSerializer(rows, many=True).data
        return Response(
            {"data": data, "meta": {"pagination": {"limit": len(data), "next_cursor": None, "prev_cursor": None}}}
        )
