"""Concurrency limits on heavy endpoints: at most N requests in flight per caller (user, else IP)
and M in total per scope; one more is a 429 `rate_limited` with Retry-After.

    class SearchView(ConcurrencyLimitMixin, APIView):
        concurrency_scope = "search"     # limits in settings.CONCURRENCY_LIMITS["search"]

Slots are counters in THROTTLE_CACHE (Redis when present: the limits hold across every process,
and taking or freeing a slot is one script, one round trip; else the per-process memory cache:
per process). A slot is taken after authentication and the rate
throttles and freed when dispatch ends, whether the view returned, raised or was refused; a slot
that a killed process never freed expires with its counter after CONCURRENCY_SLOT_SECONDS. As for
the rate limits, an unreachable cache lets the request through (fail open).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches

from apps.core.exceptions import RateLimited
from apps.core.redis_scripts import LuaScript, redis_client
from apps.core.throttling import caller_ident

logger = logging.getLogger(__name__)


# Both counters taken, or neither (the one over its limit is given back), in one round trip.
# Returns 0 when taken, 1 when the caller is at its limit, 2 when the scope is.
_ACQUIRE = LuaScript(
    """
    local mine = redis.call('INCR', KEYS[1])
    if mine == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
    local all = redis.call('INCR', KEYS[2])
    if all == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
    local refused = 0
    if mine > tonumber(ARGV[1]) then refused = 1 elseif all > tonumber(ARGV[2]) then refused = 2 end
    if refused > 0 then
        redis.call('DECR', KEYS[1])
        redis.call('DECR', KEYS[2])
    end
    return refused
    """
)

# A counter that expired meanwhile is not brought back below zero.
_RELEASE = LuaScript(
    """
    for _, key in ipairs(KEYS) do
        if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
    end
    return 0
    """
)


def _refused(scope: str, limit: int, who: str) -> RateLimited:
    return RateLimited(
        f"Too many requests in progress ({who} {limit} of this kind running). Try again shortly.",
        retry_after=settings.CONCURRENCY_RETRY_AFTER,
        details={"concurrency": scope, "limit": limit},
    )


def acquire(scope: str, ident: str) -> list[str] | None:
    """Take a slot; returns the counter keys to release, None when not counted (cache down).
    Raises RateLimited when the caller or the scope is at its limit."""
    per_caller, total = settings.CONCURRENCY_LIMITS[scope]
    keys = [f"conc:{scope}:{ident}", f"conc:{scope}:*"]
    try:
        cache = caches[settings.THROTTLE_CACHE]
        client = redis_client(cache)
        if client is not None:
            args = [per_caller, total, settings.CONCURRENCY_SLOT_SECONDS]
            refused = int(_ACQUIRE(client, [cache.make_key(k) for k in keys], args))
            if refused:
                limit, who = (per_caller, "you have") if refused == 1 else (total, "the server has")
                raise _refused(scope, limit, who)
            return keys
        return _acquire_portable(cache, scope, keys, (per_caller, total))
    except RateLimited:
        raise
    except Exception:
        logger.warning("concurrency counters unavailable; letting the request through", exc_info=True)
        return None


def _acquire_portable(cache, scope: str, keys: list[str], limits: tuple[int, int]) -> list[str] | None:
    taken: list[str] = []
    try:
        for key, limit in zip(keys, limits, strict=True):
            cache.add(key, 0, settings.CONCURRENCY_SLOT_SECONDS)
            count = cache.incr(key)
            if count is None:  # django-redis with IGNORE_EXCEPTIONS: Redis is down
                release(taken)
                return None
            taken.append(key)
            if count > limit:
                release(taken)
                raise _refused(scope, limit, "you have" if key == keys[0] else "the server has")
    except RateLimited:
        raise
    except Exception:
        release(taken)
        raise
    return taken


def release(keys: list[str] | None) -> None:
    if not keys:
        return
    try:
        cache = caches[settings.THROTTLE_CACHE]
        client = redis_client(cache)
        if client is not None:
            _RELEASE(client, [cache.make_key(k) for k in keys], [])
            return
    except Exception:  # the cache is down or gone: the slots expire with their counters
        logger.debug("could not release concurrency slots %s", keys, exc_info=True)
        return
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
