"""Request rate limits by endpoint class, per IP for anonymous callers and per user otherwise.

Reads and writes are separate budgets; accounts younger than NEW_ACCOUNT_HOURS get a smaller write
budget. The client IP comes from DRF's `get_ident`, which trusts exactly `TRUSTED_PROXIES`
(REST_FRAMEWORK["NUM_PROXIES"]) entries of X-Forwarded-For, so a spoofed header cannot escape.
Every refusal is a 429 `rate_limited` with Retry-After (see apps.core.exceptions).

Counting is a fixed window per (scope, caller): one atomic `add`/`incr` per request, O(1) whatever
the rate (DRF's SimpleRateThrottle re-writes a list of every request time in the window). Counters
live in THROTTLE_CACHE: Redis when there is one (shared by every process); without Redis the
per-process memory cache, because a database write on every request would cost more than the
request (measured: /api/health 6.9 → 13.1 ms), so N processes then allow up to N× the rate.
If the cache is unreachable the request is let through: a lost Redis must not take the API down.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "300/min" → (300, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def _count(key: str, duration: int) -> int | None:
    """One atomic add/incr in THROTTLE_CACHE; None when the cache is unavailable (let through)."""
    try:
        cache = caches[settings.THROTTLE_CACHE]
        return 1 if cache.add(key, 1, duration + 1) else cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        return 1
    except Exception:
        logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
        return None


class EndpointClassThrottle(BaseThrottle):
    """Scope = (anon|user|new_user) x (read|write); rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""

    def allow_request(self, request, view) -> bool:
        if getattr(view, "throttle_exempt", False):
            return True
        scope = self.scope_for(request)
        limit, duration = parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])
        now = int(time.time())
        window = now // duration
        user = request.user
        ident = f"u{user.pk}" if user and user.is_authenticated else f"ip{self.get_ident(request)}"
        count = _count(f"throttle:{scope}:{ident}:{window}", duration)
        if count is None:  # unreachable, or django-redis with IGNORE_EXCEPTIONS: Redis is down
            return True
        if count > limit:
            self._wait = (window + 1) * duration - now
            return False
        return True

    def wait(self) -> float:
        return max(1, getattr(self, "_wait", 1))

    @staticmethod
    def scope_for(request) -> str:
        kind = "read" if request.method in SAFE_METHODS else "write"
        user = request.user
        if not (user and user.is_authenticated):
            return f"anon_{kind}"
        young = user.date_joined > timezone.now() - timedelta(hours=settings.NEW_ACCOUNT_HOURS)
        if kind == "write" and young:
            return "new_user_write"
        return f"user_{kind}"


class ScopedThrottle(BaseThrottle):
    """An extra, tighter budget for one heavy endpoint, on top of the endpoint class's: the view
    names it (`throttle_scope = "privacy_export"`) and the rate is the setting
    `THROTTLE_<SCOPE>` ("3/hour"). Per user when signed in, else per IP; same fixed window."""

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        rate = getattr(settings, f"THROTTLE_{scope.upper()}", None) if scope else None
        if not rate:
            return True
        limit, duration = parse_rate(rate)
        now = int(time.time())
        window = now // duration
        user = request.user
        ident = f"u{user.pk}" if user and user.is_authenticated else f"ip{self.get_ident(request)}"
        count = _count(f"throttle:{scope}:{ident}:{window}", duration)
        if count is not None and count > limit:
            self._wait = (window + 1) * duration - now
            return False
        return True

    def wait(self) -> float:
        return max(1, getattr(self, "_wait", 1))
