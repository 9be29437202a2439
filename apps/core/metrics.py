"""Prometheus metrics at /metrics: requests, latencies, WebSocket connections, Celery queue depth,
outside-source health. Apps import the metric objects from here so names stay in one place.

With several server processes set PROMETHEUS_MULTIPROC_DIR to a shared empty folder (the client's
multiprocess mode); otherwise each process reports its own numbers.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apps.core.client_address import client_address

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("sk_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "sk_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WS_CONNECTIONS = Gauge("sk_websocket_connections", "Open WebSocket connections", multiprocess_mode="livesum")
WS_MESSAGES = Counter("sk_websocket_messages_total", "WebSocket frames", ["direction"])
RLS_SYSTEM_CONTEXTS = Counter(
    "sk_rls_system_context_total", "Row-level security bypasses (system context), by reason", ["reason"]
)
SOURCE_UP = Gauge("sk_source_up", "Outside source health (1 healthy, 0 failing)", ["source"], multiprocess_mode="max")


class CeleryQueueCollector:
    """Queue depth read from the broker at scrape time (cheap: one call per queue)."""

    def collect(self):
        from django.conf import settings

        family = GaugeMetricFamily("sk_celery_queue_depth", "Messages waiting in a Celery queue", labels=["queue"])
        try:
            from celery import current_app

            with current_app.connection_for_read() as conn:
                channel = conn.default_channel
                for queue in getattr(settings, "CELERY_QUEUE_NAMES", ("celery",)):
                    try:
                        _, depth, _ = channel.queue_declare(queue=queue, passive=True)
                    except Exception:
                        depth = 0
                    family.add_metric([queue], depth)
        except Exception as exc:
            logger.debug("queue depth unavailable: %s", exc)
        yield family


class OutboxCollector:
    """The outbox read from the database at scrape time (apps/core/outbox.py)."""

    def collect(self):
        from apps.core import outbox

        lag = GaugeMetricFamily("sk_outbox_lag_seconds", "Age of the oldest event with an undelivered receiver")
        parked = GaugeMetricFamily("sk_outbox_parked", "Event deliveries parked after too many failures")
        pending = GaugeMetricFamily("sk_outbox_pending", "Event deliveries not yet done")
        try:
            lag.add_metric([], outbox.lag_seconds())
            parked.add_metric([], outbox.parked_count())
            pending.add_metric([], outbox.pending_count())
        except Exception as exc:
            logger.debug("outbox figures unavailable: %s", exc)
            return
        yield from (lag, parked, pending)


_outbox_registry = CollectorRegistry()
_outbox_registry.register(OutboxCollector())


def _registry() -> CollectorRegistry:
    from prometheus_client import REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


_queue_collector_registered = False


_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _direct_loopback(request: HttpRequest) -> bool:
    """A scrape from this machine that no proxy relayed: the client address (TRUSTED_PROXIES
    applied) is loopback and the request carries no forwarding header. A local reverse proxy makes
    every visitor's peer address loopback, but it says so in X-Forwarded-For / Forwarded."""
    if any(request.META.get(h) for h in _PROXY_HEADERS):
        return False
    return client_address(request) in ("127.0.0.1", "::1")


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Bearer METRICS_TOKEN when configured; otherwise only a direct scrape from this machine."""
    global _queue_collector_registered
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, token):
            return HttpResponse(status=403)
    elif not _direct_loopback(request):
        return HttpResponse(status=403)
    registry = _registry()
    if not _queue_collector_registered:
        registry.register(CeleryQueueCollector())
        _queue_collector_registered = True
    body = generate_latest(registry) + generate_latest(_outbox_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times requests by route pattern (not raw path: bounded label cardinality)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response, started)
        return response

    async def _acall(self, request):
        started = time.perf_counter()
        response = await self.get_response(request)
        self._observe(request, response, started)
        return response

    @staticmethod
    def _observe(request, response, started: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        if route == "^.*$":
            route = "unmatched"
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
