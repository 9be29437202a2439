"""The one limiter: every rate limit and lockout the platform applies.

A limit is a line in `LIMITS` (name → how many per how many seconds, read from settings at call
time so an operator's env and a test's `settings` fixture both apply). Callers name the limit and
who is counted (`hit("login_account", f"user:{pk}")`); the limiter counts first and refuses after
(increment-then-check, one atomic step), so concurrent attempts cannot slip past a limit between a
check and a record.

Counting happens OUTSIDE the request's transaction, or a failed request (a 401 rolls its
transaction back) would erase its own count:
- on Redis when `LIMITS_REDIS_URL` (default `REDIS_URL`) is set: one Lua script (INCR + EXPIRE);
- else, and whenever Redis errors, in PostgreSQL's `limit_counters` table through the limiter's own
  autocommit connection (one `INSERT … ON CONFLICT DO UPDATE … RETURNING`): shared by every
  process, committed at once. Beat purges expired rows (`core.purge_limit_counters`).
If both stores are unreachable the request is let through (fail open): a lost store must not take
sign-in down, and without its database the platform is down anyway.

A window opens at a caller's first attempt and lasts the limit's seconds (the store's expiry, not
a clock boundary), so "1 per 60 s" is a real cooldown; `Retry-After` is what is left of it.
Per-socket message budgets are token buckets in the socket's own memory (`bucket()`): one socket
lives in one process, so there is nothing to share.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from django.conf import settings

from apps.core import autocommit
from apps.core.exceptions import RateLimited

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "300/min" → (300, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


def _rate(getter: Callable[[], str]) -> Callable[[], Limit]:
    return lambda: Limit(*parse_rate(getter()))


def _auth(name: str) -> Callable[[], Limit]:
    return lambda: Limit(*settings.AUTH_RATE_LIMITS[name])


def _endpoint(scope: str) -> Callable[[], Limit]:
    return _rate(lambda: settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])


# Every limit the platform applies. README "Throttling" lists them with their settings.
LIMITS: dict[str, Callable[[], Limit]] = {
    # HTTP endpoint classes, per IP (anonymous) or per user (apps.core.throttling)
    "anon_read": _endpoint("anon_read"),
    "anon_write": _endpoint("anon_write"),
    "user_read": _endpoint("user_read"),
    "user_write": _endpoint("user_write"),
    "new_user_write": _endpoint("new_user_write"),
    "penalty": _rate(lambda: settings.THROTTLE_PENALTY_RATE),
    "failures": lambda: Limit(settings.THROTTLE_FAILURE_LIMIT, settings.THROTTLE_FAILURE_WINDOW),
    # accounts: sign-in, registration, resets, email codes; every password check shares login_account
    "login_ip": _auth("login_ip"),
    "login_account": _auth("login_account"),
    "register_ip": _auth("register_ip"),
    "reset_address": _auth("reset_address"),
    "reset_ip": _auth("reset_ip"),
    "verify_code": _auth("verify_code"),
    "verify_send": _auth("verify_send"),
    "refresh_ip": _auth("refresh_ip"),
    # moderation reports per reporter an hour
    "reports": lambda: Limit(settings.MODERATION_REPORTS_PER_HOUR, 3600),
    "reports_new_user": lambda: Limit(settings.MODERATION_NEW_USER_REPORTS_PER_HOUR, 3600),
    # wallet: SIWS challenges and sign-ins per client, on-demand balance refresh per user
    "siws": _rate(lambda: settings.SIWS_CHALLENGE_RATE),
    "wallet_refresh": lambda: Limit(1, max(1, settings.WALLET_REFRESH_COOLDOWN_SECONDS)),
    # not a refusal: Profile.last_seen_at is written on the first request of each minute only
    "last_seen": lambda: Limit(1, 60),
}
# Per-socket token buckets (rate per second, burst): see bucket().
BUCKETS: dict[str, Callable[[], tuple[float, int]]] = {
    "socket_message": lambda: (settings.REALTIME_RATE_PER_SECOND, settings.REALTIME_RATE_BURST),
    "socket_broadcast": lambda: (
        settings.REALTIME_BROADCAST_RATE_PER_SECOND,
        settings.REALTIME_BROADCAST_BURST,
    ),
}


def limit_for(name: str) -> Limit:
    """The limit called `name`; `scoped:<scope>` is an endpoint's extra budget `THROTTLE_<SCOPE>`."""
    if name.startswith("scoped:"):
        rate = getattr(settings, f"THROTTLE_{name.split(':', 1)[1].upper()}", None)
        return Limit(*parse_rate(rate)) if rate else Limit(0, 0)
    return LIMITS[name]()


@dataclass(frozen=True)
class Outcome:
    count: int  # this caller's count in the window, this attempt included (0: not counted)
    limit: Limit
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit.count


def _key(name: str, ident: str) -> str:
    digest = hashlib.sha256(str(ident).lower().encode()).hexdigest()[:32]
    return f"lim:{name}:{digest}"


# --- stores ------------------------------------------------------------------------------------
# A window opens at a caller's first attempt and lasts the limit's seconds (the store's expiry),
# never at a clock boundary: with clock windows, "1 per 60 s" let two attempts a second apart
# through when a minute turned between them. Each store answers (count, seconds left).
_INCR = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local left = redis.call('TTL', KEYS[1])
if left < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]); left = tonumber(ARGV[2]) end
return {n, left}
"""
_redis_lock = threading.Lock()
_redis_clients: dict[str, object] = {}


def _redis():
    url = getattr(settings, "LIMITS_REDIS_URL", None)
    if url is None:
        url = settings.REDIS_URL
    if not url:
        return None
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            client._sk_incr = client.register_script(_INCR)
            client._sk_incr_unless_failing = client.register_script(_INCR_UNLESS_FAILING)
            _redis_clients[url] = client
    return client


# An expired row starts a new window (beat purges them only now and then).
_INCR_SQL = """
INSERT INTO limit_counters AS c (key, count, expires_at) VALUES (%s, %s, now() + make_interval(secs => %s))
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at <= now() THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
    expires_at = CASE WHEN c.expires_at <= now() THEN EXCLUDED.expires_at ELSE c.expires_at END
RETURNING c.count, ceil(extract(epoch FROM c.expires_at - now()))::int"""


def _incr(key: str, amount: int, ttl: int) -> tuple[int, int]:
    client = _redis()
    if client is not None:
        try:
            count, left = client._sk_incr(keys=[key], args=[amount, ttl], client=client)
            return int(count), int(left)
        except Exception:
            logger.warning("limiter: Redis unavailable, counting in PostgreSQL", exc_info=True)
    rows = autocommit.execute(_INCR_SQL, [key, amount, ttl])
    return int(rows[0][0]), int(rows[0][1])


_INCR_UNLESS_FAILING = """
local failing = tonumber(redis.call('GET', KEYS[1]) or '0') > tonumber(ARGV[1])
local key, ttl = KEYS[2], ARGV[2]
if failing then key, ttl = KEYS[3], ARGV[3] end
local n = redis.call('INCRBY', key, ARGV[4])
local left = redis.call('TTL', key)
if left < 0 then redis.call('EXPIRE', key, ttl); left = tonumber(ttl) end
if failing then return {1, n, left} end
return {0, n, left}
"""
_INCR_UNLESS_FAILING_SQL = """
WITH failing AS (
    SELECT COALESCE((SELECT count FROM limit_counters WHERE key = %s AND expires_at > now()), 0) > %s AS yes
)
INSERT INTO limit_counters AS c (key, count, expires_at)
SELECT CASE WHEN yes THEN %s ELSE %s END, %s, now() + make_interval(secs => CASE WHEN yes THEN %s ELSE %s END)
FROM failing
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at <= now() THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
    expires_at = CASE WHEN c.expires_at <= now() THEN EXCLUDED.expires_at ELSE c.expires_at END
RETURNING c.key = %s, c.count, ceil(extract(epoch FROM c.expires_at - now()))::int"""


def _incr_unless_failing(
    failures_key: str, over: int, key: str, ttl: int, instead_key: str, instead_ttl: int, amount: int = 1
):
    """(failing, count, seconds left): one round trip for "count `amount` attempts against
    `instead_key` if the failures count is over `over`, else against `key`"."""
    client = _redis()
    if client is not None:
        try:
            failing, count, left = client._sk_incr_unless_failing(
                keys=[failures_key, key, instead_key], args=[over, ttl, instead_ttl, amount], client=client
            )
            return bool(failing), int(count), int(left)
        except Exception:
            logger.warning("limiter: Redis unavailable, counting in PostgreSQL", exc_info=True)
    rows = autocommit.execute(
        _INCR_UNLESS_FAILING_SQL, [failures_key, over, instead_key, key, amount, instead_ttl, ttl, instead_key]
    )
    return bool(rows[0][0]), int(rows[0][1]), int(rows[0][2])


def _get(key: str) -> int:
    client = _redis()
    if client is not None:
        try:
            return int(client.get(key) or 0)
        except Exception:
            logger.warning("limiter: Redis unavailable, reading PostgreSQL", exc_info=True)
    rows = autocommit.execute("SELECT count FROM limit_counters WHERE key = %s AND expires_at > now()", [key])
    return int(rows[0][0]) if rows else 0


def _delete(key: str) -> None:
    client = _redis()
    if client is not None:
        try:
            client.delete(key)
        except Exception:
            logger.warning("limiter: Redis unavailable", exc_info=True)
    autocommit.execute("DELETE FROM limit_counters WHERE key = %s", [key])


# --- the API -----------------------------------------------------------------------------------
def attempt(name: str, ident: str, *, limit: Limit | None = None, amount: int = 1) -> Outcome:
    """Count one attempt and say whether it is within the limit (never raises for the limit)."""
    limit = limit or limit_for(name)
    if limit.seconds <= 0:
        return Outcome(0, Limit(1, 1), 0)
    _leases.end(ident)
    try:
        count, left = _incr(_key(name, ident), amount, limit.seconds)
    except Exception:
        logger.warning("limiter unavailable: letting %s through", name, exc_info=True)
        count, left = 0, 1
    return Outcome(count, limit, max(1, left))


_counted_here: dict[str, int] = {}  # (key, clock minute) pairs this process has counted


def first_in_window(name: str, ident: str) -> bool:
    """Whether this attempt of `name` is `ident`'s first in its window, across every process. A
    process that has counted the key within the limit's seconds on the clock knows no later attempt
    in them can be the first, so it asks the store at most once per key and such a stretch."""
    limit = limit_for(name)
    memo = f"{_key(name, ident)}:{int(time.time()) // limit.seconds}"
    if memo in _counted_here:
        return False
    outcome = attempt(name, ident, limit=limit)
    if outcome.count:  # 0: the store was unreachable and nothing was counted; ask again next time
        if len(_counted_here) > 100_000:  # old stretches' keys: forget them all at once
            _counted_here.clear()
        _counted_here[memo] = 1
    return outcome.count == 1


@dataclass(slots=True)
class _Lease:
    """Attempts of one caller's budget that this process has already counted in the store, to be
    handed out here without a round trip: counts `next_count`..`last_count` of the window that
    the store says ends at `until` (monotonic clock)."""

    limit: Limit
    next_count: int
    last_count: int
    until: float
    size: int


class _Leases:
    """A process's leases of hot callers' endpoint budgets (`attempt_unless_failing`).

    Every API request counts against its caller's endpoint-class budget. A caller that keeps
    sending has its next attempts counted in the store several at a time (1, then 2, 4 … up to
    `THROTTLE_LEASE_MAX` and never more than a fiftieth of the budget) and served here from the
    lease. Nothing is let through that the store has not counted, so a limit is never exceeded; a
    lease left unused when its window ends refuses its caller that much early, at most a fiftieth
    of the budget per process. A caller's leases end when anything else is counted against them
    (a failure, apps.core.throttling.record_failure), so the penalty check runs again."""

    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_ident: dict[str, dict[str, _Lease]] = {}

    def take(self, name: str, ident: str, now: float) -> Outcome | None:
        with self.lock:
            lease = self.by_ident.get(ident, {}).get(name)
            if lease is None or now >= lease.until or lease.next_count > lease.last_count:
                return None
            lease.next_count += 1
            return Outcome(lease.next_count - 1, lease.limit, max(1, int(lease.until - now)))

    @staticmethod
    def most(budget: int) -> int:
        """The largest lease of a budget: 1 is no lease."""
        return max(1, min(settings.THROTTLE_LEASE_MAX, budget // 50))

    def next_size(self, name: str, ident: str, most: int) -> int:
        with self.lock:
            lease = self.by_ident.get(ident, {}).get(name)
        return min(most, lease.size * 2) if lease is not None else 1

    def keep(self, name: str, ident: str, lease: _Lease, now: float) -> None:
        with self.lock:
            if len(self.by_ident) >= self.MAX_KEYS:
                self._forget_expired(now)
            self.by_ident.setdefault(ident, {})[name] = lease

    def end(self, ident: str) -> None:
        with self.lock:
            self.by_ident.pop(ident, None)

    def clear(self) -> None:
        with self.lock:
            self.by_ident.clear()

    def _forget_expired(self, now: float) -> None:
        for ident in [i for i, leases in self.by_ident.items() if all(now >= x.until for x in leases.values())]:
            del self.by_ident[ident]
        if len(self.by_ident) >= self.MAX_KEYS:
            self.by_ident.clear()


_leases = _Leases()


def attempt_unless_failing(name: str, ident: str, *, failures: str, instead: str) -> Outcome:
    """`attempt(instead, ident)` when `ident`'s count of `failures` is over that limit's count,
    else `attempt(name, ident)`, in one round trip to the store (every API request makes this
    call: the throttle's budget or, for a caller that keeps failing, its penalty budget). A
    caller that keeps sending is counted a lease at a time (`_Leases`): most of its requests
    make no round trip."""
    limit, failure_limit, instead_limit = limit_for(name), limit_for(failures), limit_for(instead)
    if min(limit.seconds, failure_limit.seconds, instead_limit.seconds) <= 0:
        failing = count(failures, ident, limit=failure_limit) > failure_limit.count
        return attempt(instead, ident) if failing else attempt(name, ident, limit=limit)
    now = monotonic()
    leased = _leases.take(name, ident, now)
    if leased is not None:
        return leased
    most = _leases.most(limit.count)
    size = _leases.next_size(name, ident, most) if most > 1 else 1
    try:
        failing, counted, left = _incr_unless_failing(
            _key(failures, ident),
            failure_limit.count,
            _key(name, ident),
            limit.seconds,
            _key(instead, ident),
            instead_limit.seconds,
            size,
        )
    except Exception:
        logger.warning("limiter unavailable: letting %s through", name, exc_info=True)
        return Outcome(0, limit, 1)
    applied = instead_limit if failing else limit
    first = counted - size + 1  # this attempt's count; the lease holds the rest up to the budget
    last = min(counted, applied.count)
    if most > 1 and not failing and first <= last:
        # The store's whole seconds round up: end the lease a second early, inside its window.
        _leases.keep(name, ident, _Lease(applied, first + 1, last, now + left - 1, size), now)
    return Outcome(first, applied, max(1, left))


def hit(name: str, ident: str, *, limit: Limit | None = None, message: str | None = None) -> Outcome:
    """Count one attempt; 429 `rate_limited` with Retry-After when it is over the limit."""
    outcome = attempt(name, ident, limit=limit)
    if not outcome.allowed:
        raise RateLimited(message, retry_after=outcome.retry_after)
    return outcome


def count(name: str, ident: str, *, limit: Limit | None = None) -> int:
    """The current count (no attempt recorded)."""
    limit = limit or limit_for(name)
    if limit.seconds <= 0:
        return 0
    try:
        return _get(_key(name, ident))
    except Exception:
        logger.warning("limiter unavailable", exc_info=True)
        return 0


def undo(name: str, ident: str) -> None:
    """Give back one attempt that turned out well (a right password does not count as a failure)."""
    try:
        _incr(_key(name, ident), -1, limit_for(name).seconds)
    except Exception:
        logger.warning("limiter unavailable", exc_info=True)


def clear(name: str, ident: str) -> None:
    key = _key(name, ident)
    _leases.end(ident)
    _counted_here.pop(f"{key}:{int(time.time()) // limit_for(name).seconds}", None)
    try:
        _delete(key)
    except Exception:
        logger.warning("limiter unavailable", exc_info=True)


def purge() -> int:
    """Forget expired PostgreSQL counters (beat, `core.purge_limit_counters`)."""
    sql = "WITH gone AS (DELETE FROM limit_counters WHERE expires_at < now() RETURNING 1) SELECT count(*) FROM gone"
    rows = autocommit.execute(sql, [])
    return int(rows[0][0]) if rows else 0


def reset_all() -> None:
    """Forget every counter (tests)."""
    _counted_here.clear()
    _leases.clear()
    client = _redis()
    if client is not None:
        keys = list(client.scan_iter(match="lim:*", count=1000))
        if keys:
            client.delete(*keys)
    autocommit.execute("DELETE FROM limit_counters", [])


class TokenBucket:
    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate, self.capacity = rate, float(capacity)
        self.tokens, self.stamp = float(capacity), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def bucket(name: str) -> TokenBucket:
    """A fresh per-socket token bucket for the limit called `name` (see BUCKETS)."""
    rate, burst = BUCKETS[name]()
    return TokenBucket(rate, burst)
