"""Concurrency limits on heavy endpoints: at most N requests in flight per caller (user, else IP)
and M in total per scope; one more is a 429 `rate_limited` with Retry-After.

    class SearchView(ConcurrencyLimitMixin, APIView):
        concurrency_scope = "search"     # limits in settings.CONCURRENCY_LIMITS["search"]

Slots are counters in THROTTLE_CACHE (Redis when present: the limits hold across every process;
else the per-process memory cache: per process). A slot is taken after authentication and the rate
throttles and freed when dispatch ends, whether the view returned, raised or was refused; a slot
that a killed process never freed expires with its counter after CONCURRENCY_SLOT_SECONDS. As for
the rate limits, an unreachable cache lets the request through (fail open).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches

from apps.core.exceptions import RateLimited
from apps.core.throttling import caller_ident

logger = logging.getLogger(__name__)


def acquire(scope: str, ident: str) -> list[str] | None:
    """Take a slot; returns the counter keys to release, None when not counted (cache down).
    Raises RateLimited when the caller or the scope is at its limit."""
    per_caller, total = settings.CONCURRENCY_LIMITS[scope]
    cache = caches[settings.THROTTLE_CACHE]
    taken: list[str] = []
    try:
        for key, limit in ((f"conc:{scope}:{ident}", per_caller), (f"conc:{scope}:*", total)):
            cache.add(key, 0, settings.CONCURRENCY_SLOT_SECONDS)
            count = cache.incr(key)
            if count is None:  # django-redis with IGNORE_EXCEPTIONS: Redis is down
                release(taken)
                return None
            taken.append(key)
            if count > limit:
                release(taken)
                who = "you have" if key.endswith(ident) else "the server has"
                raise RateLimited(
                    f"Too many requests in progress ({who} {limit} of this kind running). Try again shortly.",
                    retry_after=settings.CONCURRENCY_RETRY_AFTER,
                    details={"concurrency": scope, "limit": limit},
                )
    except RateLimited:
        raise
    except Exception:
        logger.warning("concurrency counters unavailable; letting the request through", exc_info=True)
        release(taken)
        return None
    return taken


def release(keys: list[str] | None) -> None:
    if not keys:
        return
    cache = caches[settings.THROTTLE_CACHE]
    for key in keys:
        try:
            cache.decr(key)
        except Exception:  # expired meanwhile (ValueError) or the cache is down
            logger.debug("could not release concurrency slot %s", key, exc_info=True)


class ConcurrencyLimitMixin:
    concurrency_scope: str | None = None
    _concurrency_slot: list[str] | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.concurrency_scope and request.method not in ("OPTIONS", "HEAD"):
            self._concurrency_slot = acquire(self.concurrency_scope, caller_ident(request))

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            release(self._concurrency_slot)
            self._concurrency_slot = None
