"""Request rate limits by endpoint class, per IP for anonymous callers and per user otherwise:
DRF throttle classes over the one limiter (apps.core.limits), which counts outside the request's
transaction (Redis, else PostgreSQL) so every process shares the same counters.

Reads and writes are separate budgets; accounts younger than NEW_ACCOUNT_HOURS get a smaller write
budget. The caller's address is apps.core.client_address (exactly `TRUSTED_PROXIES` hops of
X-Forwarded-For), so a spoofed header cannot escape. Every refusal is a 429 `rate_limited` with
Retry-After (see apps.core.exceptions). If the limiter's stores are unreachable the request is let
through: a lost Redis must not take the API down.

Clients that keep failing get a stricter budget: every 401/403/404/429 answer (recorded by the
exception handler, `record_failure`) counts against the caller (user, else IP) in the limiter's
`failures` window (THROTTLE_FAILURE_WINDOW seconds); past THROTTLE_FAILURE_LIMIT failures every
request of that caller counts against the `penalty` limit (THROTTLE_PENALTY_RATE) instead of its
usual one until the window ends. Defaults: more than 50 failures in 10 minutes → 10 requests a
minute.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from apps.core import limits
from apps.core.client_address import client_address

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
parse_rate = limits.parse_rate


class _LimiterThrottle(BaseThrottle):
    _wait = 1

    def _allow(self, outcome: limits.Outcome) -> bool:
        if outcome.allowed:
            return True
        self._wait = outcome.retry_after
        return False

    def wait(self) -> float:
        return max(1, self._wait)


class EndpointClassThrottle(_LimiterThrottle):
    """Scope = (anon|user|new_user) x (read|write); rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""

    def allow_request(self, request, view) -> bool:
        if getattr(view, "throttle_exempt", False):
            return True
        outcome = limits.attempt_unless_failing(
            self.scope_for(request), caller_ident(request), failures="failures", instead="penalty"
        )
        return self._allow(outcome)

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


class ScopedThrottle(_LimiterThrottle):
    """An extra, tighter budget for one heavy endpoint, on top of the endpoint class's: the view
    names it (`throttle_scope = "privacy_export"`) and the rate is the setting
    `THROTTLE_<SCOPE>` ("3/hour"). Per user when signed in, else per IP."""

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        return self._allow(limits.attempt(f"scoped:{scope}", caller_ident(request)))


class LimitThrottle(_LimiterThrottle):
    """A named limit of the limiter's table for a view (subclass with `limit_name = "siws"`), per
    user when signed in, else per IP."""

    limit_name = ""

    def allow_request(self, request, view) -> bool:
        return self._allow(limits.attempt(self.limit_name, caller_ident(request)))


def caller_ident(request, throttle: BaseThrottle | None = None) -> str:
    """`u<id>` for a signed-in caller, else `ip<address>` (apps.core.client_address)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return f"ip{client_address(request)}"


def record_failure(request, status: int) -> None:
    """Count a 401/403/404/429 answer against its caller (called by the exception handler)."""
    if status not in settings.THROTTLE_FAILURE_STATUSES or request is None:
        return
    limits.attempt("failures", caller_ident(request))
