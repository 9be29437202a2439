"""Request rate limits by endpoint class, per IP for anonymous callers and per user otherwise.

Reads and writes are separate budgets; accounts younger than NEW_ACCOUNT_HOURS get a smaller write
budget. The client IP comes from DRF's `get_ident`, which trusts exactly `TRUSTED_PROXIES`
(REST_FRAMEWORK["NUM_PROXIES"]) entries of X-Forwarded-For, so a spoofed header cannot escape.
Every refusal is a 429 `rate_limited` with Retry-After (see apps.core.exceptions).

Counting is a fixed window per (scope, caller): one atomic count per request, O(1) whatever
the rate (DRF's SimpleRateThrottle re-writes a list of every request time in the window). Counters
live in THROTTLE_CACHE: Redis when there is one (shared by every process); without Redis the
per-process memory cache, because a database write on every request would cost more than the
request (measured: /api/health 6.9 → 13.1 ms), so N processes then allow up to N× the rate.
If the cache is unreachable the request is let through: a lost Redis must not take the API down.

Clients that keep failing get a stricter budget: every 401/403/404/429 answer (recorded by the
exception handler, `record_failure`) counts against the caller (user, else IP) in a fixed window of
THROTTLE_FAILURE_WINDOW seconds; past THROTTLE_FAILURE_LIMIT failures every request of that caller
counts against the `penalty` rate (THROTTLE_PENALTY_RATE) instead of its usual one until the
window ends. Defaults: more than 50 failures in 10 minutes → 10 requests a minute. On Redis the
penalty check and the count are one script, one round trip (apps.core.redis_scripts); elsewhere the
check is one extra cache read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from apps.core.redis_scripts import LuaScript, redis_client

logger = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "300/min" → (300, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


_HIT = LuaScript(
    """
    local n = redis.call('INCR', KEYS[1])
    if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
    return n
    """
)

# The penalty check and the count of the budget it selects, in one round trip.
_HIT_UNLESS_PENALISED = LuaScript(
    """
    local penalised = (tonumber(redis.call('GET', KEYS[1]) or '0') or 0) > tonumber(ARGV[1])
    local key, ttl = KEYS[2], ARGV[2]
    if penalised then key, ttl = KEYS[3], ARGV[3] end
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('EXPIRE', key, ttl) end
    return {penalised and 1 or 0, n}
    """
)


def _count(key: str, duration: int) -> int | None:
    """One atomic count in a fixed window of THROTTLE_CACHE; None when the cache is unavailable
    (let through). On Redis one script (apps.core.redis_scripts), else add/incr."""
    try:
        cache = caches[settings.THROTTLE_CACHE]
        client = redis_client(cache)
        if client is not None:
            return int(_HIT(client, [cache.make_key(key)], [duration + 1]))
        return 1 if cache.add(key, 1, duration + 1) else cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        return 1
    except Exception:
        logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
        return None


@dataclass(frozen=True)
class _Budget:
    key: str
    limit: int
    duration: int
    window: int


def _budget(scope: str, rate: str, ident: str, now: int) -> _Budget:
    limit, duration = parse_rate(rate)
    window = now // duration
    return _Budget(f"throttle:{scope}:{ident}:{window}", limit, duration, window)


def _count_unless_penalised(ident: str, now: int, usual: _Budget, penalty: _Budget) -> tuple[_Budget, int | None]:
    """Which budget applies (the penalty one past THROTTLE_FAILURE_LIMIT failures) and its count."""
    try:
        cache = caches[settings.THROTTLE_CACHE]
        client = redis_client(cache)
        if client is not None:
            keys = [cache.make_key(k) for k in (_failure_key(ident, now), usual.key, penalty.key)]
            args = [settings.THROTTLE_FAILURE_LIMIT, usual.duration + 1, penalty.duration + 1]
            penalised, count = _HIT_UNLESS_PENALISED(client, keys, args)
            return (penalty if penalised else usual), int(count)
        penalised = is_penalised(cache, ident, now)
    except Exception:  # the cache is down: no penalty, and the request is let through
        logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
        return usual, None
    budget = penalty if penalised else usual
    return budget, _count(budget.key, budget.duration)


class EndpointClassThrottle(BaseThrottle):
    """Scope = (anon|user|new_user) x (read|write); rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""

    def allow_request(self, request, view) -> bool:
        if getattr(view, "throttle_exempt", False):
            return True
        scope = self.scope_for(request)
        now = int(time.time())
        ident = caller_ident(request, self)
        usual = _budget(scope, settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope], ident, now)
        penalty = _budget("penalty", settings.THROTTLE_PENALTY_RATE, ident, now)
        budget, count = _count_unless_penalised(ident, now, usual, penalty)
        if count is None:  # unreachable, or django-redis with IGNORE_EXCEPTIONS: Redis is down
            return True
        if count > budget.limit:
            self._wait = (budget.window + 1) * budget.duration - now
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
        ident = caller_ident(request, self)
        count = _count(f"throttle:{scope}:{ident}:{window}", duration)
        if count is not None and count > limit:
            self._wait = (window + 1) * duration - now
            return False
        return True

    def wait(self) -> float:
        return max(1, getattr(self, "_wait", 1))


def caller_ident(request, throttle: BaseThrottle | None = None) -> str:
    """`u<id>` for a signed-in caller, else `ip<address>` (X-Forwarded-For trusted for exactly
    TRUSTED_PROXIES hops, through DRF's get_ident)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return f"ip{(throttle or BaseThrottle()).get_ident(request)}"


def _failure_key(ident: str, now: int) -> str:
    return f"throttle:failures:{ident}:{now // settings.THROTTLE_FAILURE_WINDOW}"


def is_penalised(cache, ident: str, now: int) -> bool:
    return (cache.get(_failure_key(ident, now)) or 0) > settings.THROTTLE_FAILURE_LIMIT


def record_failure(request, status: int) -> None:
    """Count a 401/403/404/429 answer against its caller (called by the exception handler)."""
    if status not in settings.THROTTLE_FAILURE_STATUSES or request is None:
        return
    try:
        ident = caller_ident(request)
        key = _failure_key(ident, int(time.time()))
        cache = caches[settings.THROTTLE_CACHE]
        if not cache.add(key, 1, settings.THROTTLE_FAILURE_WINDOW + 1):
            cache.incr(key)
    except Exception:  # the key expired in between, or the cache is down: not worth failing over
        logger.debug("could not record a failed request", exc_info=True)
