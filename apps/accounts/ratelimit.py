"""Abuse limits for the auth endpoints: fixed windows counted in the cache, 429 + Retry-After.

The client IP is the address `TRUSTED_PROXIES` hops back: with N trusted proxies in front of us,
each appends the address it saw to X-Forwarded-For, so the client is the N-th entry from the right.
Anything left of that is whatever the client wrote and is never believed, so a spoofed header
cannot move a caller into a fresh bucket.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache import cache

from apps.core.exceptions import RateLimited

logger = logging.getLogger(__name__)

UNKNOWN_IP = "0.0.0.0"  # noqa: S104 - a placeholder for "no address", never bound to


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str:
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "")) or UNKNOWN_IP
    hops = int(getattr(settings, "TRUSTED_PROXIES", 0) or 0)
    if hops <= 0:
        return remote
    forwarded = [p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
    if len(forwarded) < hops:
        # Fewer entries than trusted proxies: the request did not come through all of them.
        return remote
    return _valid_ip(forwarded[-hops]) or remote


def _key(scope: str, ident: str, window: int) -> tuple[str, int]:
    digest = hashlib.sha256(ident.lower().encode()).hexdigest()[:32]
    now = int(time.time())
    start = now - now % window
    return f"rl:{scope}:{digest}:{start}", start + window - now


def _limit(scope: str) -> tuple[int, int]:
    return settings.AUTH_RATE_LIMITS[scope]


def check(scope: str, ident: str) -> None:
    """Refuse if the bucket is already full (without counting this request)."""
    limit, window = _limit(scope)
    key, retry = _key(scope, ident, window)
    if int(cache.get(key) or 0) >= limit:
        raise RateLimited(retry_after=retry)


def record(scope: str, ident: str) -> None:
    """Count one event in the bucket."""
    limit, window = _limit(scope)
    key, _ = _key(scope, ident, window)
    try:
        if not cache.add(key, 1, timeout=window + 1):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window + 1)
    except Exception:  # the cache is down: degrade to no limit rather than fail sign-in
        logger.warning("rate-limit cache unavailable", exc_info=True)


def hit(scope: str, ident: str) -> None:
    """Count this request, refusing it once the bucket is over its limit."""
    check(scope, ident)
    record(scope, ident)


def clear(scope: str, ident: str) -> None:
    _, window = _limit(scope)
    key, _ = _key(scope, ident, window)
    cache.delete(key)
