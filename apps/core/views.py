"""Health, readiness and the fallbacks that keep every /api/ answer inside the envelope."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import health
from apps.core.exceptions import NotFound, error_body
from apps.core.middleware import is_api_path

logger = logging.getLogger(__name__)


class HealthView(APIView):
    """Liveness: 200 while the process can answer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness",
        responses=inline_serializer("Health", {"status": serializers.CharField()}),
        tags=["health"],
    )
    def get(self, request):
        return Response({"status": "ok"})


class ReadinessView(APIView):
    """Readiness: 200 only when the database, and the cache and broker where configured, answer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness",
        responses={
            503: OpenApiResponse(description="A dependency is down: `service_unavailable` with `details.checks`."),
            200: inline_serializer(
                "Readiness",
                {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
            ),
        },
        tags=["health"],
    )
    def get(self, request):
        checks = health.run_checks()
        # Only hard dependencies make a node unready. Redis (cache, broker) is soft: the API keeps
        # serving without it (bench/README.md, fault "redis"), and failing readiness on every node
        # at once would turn that degraded mode into a full outage behind a load balancer.
        failed = sorted(n for n, r in checks.items() if r != "ok" and n in settings.HEALTH_REQUIRED_CHECKS)
        if any(r != "ok" for r in checks.values()) and not failed:
            return Response({"status": "degraded", "checks": checks})
        if failed:
            return Response(
                error_body("service_unavailable", f"Not ready: {', '.join(failed)} unavailable.", {"checks": checks}),
                status=503,
            )
        return Response({"status": "ok", "checks": checks})


class ApiNotFoundView(APIView):
    """Catch-all for unknown /api/ paths: a 404 in the envelope for every method."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request = args, kwargs, self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        exc: Exception = NotFound("No such API path.")
        try:
            self.check_throttles(self.request)  # path scanners spend a budget (and earn the penalty) too
        except Throttled as throttled:
            exc = throttled
        response = self.handle_exception(exc)
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response


def handler404(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if is_api_path(request.path):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("bad_request", "The request was malformed."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)
