"""Caching and the stricter throttles (see README "Caching strategy" and "Throttling").
Every name can be overridden from the environment."""

from successkid.settings.env import env

# --- The caches ---------------------------------------------------------------------------------
_redis_url = env("REDIS_URL", default="")
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="sk"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Redis may be lost: the database is the source of truth, so degrade, don't fail.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # Shared across processes (rate limits, cached price) without Redis.
    CACHES = {
        "default": {
            # On its own autocommit connection: a failed request must not roll back its cache writes.
            "BACKEND": "apps.core.autocommit.AutocommitDatabaseCache",
            "LOCATION": "core_cache",
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="sk"),
            # Django's default (300) culls a third of the entries, feed pages and shared versions
            # alike, whenever the table passes it; a table holds far more than that.
            "OPTIONS": {"MAX_ENTRIES": env.int("CACHE_MAX_ENTRIES", default=100_000)},
        }
    }
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"}

# --- Per-process reference data (apps.core.refcache) ----------------------------------------------
# Where the shared versions live (Redis when REDIS_URL is set, else the database cache).
REFERENCE_CACHE_ALIAS = env("REFERENCE_CACHE_ALIAS", default="default")
# How often a process compares its loaded versions with the shared ones (the cross-process staleness).
REFERENCE_CACHE_CHECK_SECONDS = env.float("REFERENCE_CACHE_CHECK_SECONDS", default=1.0)
# Reload at least this often even without a version change (bounds staleness while Redis is down).
REFERENCE_CACHE_MAX_AGE = env.int("REFERENCE_CACHE_MAX_AGE", default=300)

# --- Anonymous feed pages (apps.forum.feed_cache) -------------------------------------------------
# Pages are keyed by a version every post/comment change bumps, so new content shows at once; votes
# do not bump it (one per vote would empty the cache under load): scores and score-driven orders
# (hot, top, controversial) in a cached page are at most this many seconds old. 0 disables.
FEED_CACHE_SECONDS = env.int("FEED_CACHE_SECONDS", default=15)
FEED_CACHE_ALIAS = env("FEED_CACHE_ALIAS", default="default")
# Each process answers the pages it served in the last this many seconds from its own memory, without
# asking the shared cache (a version bump in another process reaches it that much later). 0: off.
FEED_CACHE_LOCAL_SECONDS = env.float("FEED_CACHE_LOCAL_SECONDS", default=1.0)

# --- Throttling: clients that keep failing (apps.core.throttling) ---------------------------------
# More than FAILURE_LIMIT answers of 401/403/404/429 within FAILURE_WINDOW seconds put the caller
# (user, else IP) on the penalty budget PENALTY_RATE for every request until the window ends.
THROTTLE_FAILURE_STATUSES = (401, 403, 404, 429)
THROTTLE_FAILURE_LIMIT = env.int("THROTTLE_FAILURE_LIMIT", default=50)
THROTTLE_FAILURE_WINDOW = env.int("THROTTLE_FAILURE_WINDOW", default=600)
THROTTLE_PENALTY_RATE = env("THROTTLE_PENALTY_RATE", default="10/min")
# A caller that keeps sending is counted in the limiter's store up to this many requests at a time,
# and never more than a fiftieth of its budget (apps.core.limits._Leases); 1 counts each request.
THROTTLE_LEASE_MAX = env.int("THROTTLE_LEASE_MAX", default=32)

# --- Concurrency limits on heavy endpoints (apps.core.concurrency) --------------------------------
# scope: (in flight per caller, in flight in total). Counted in THROTTLE_CACHE: Redis when present
# (across every process), else per process. A slot is freed when the view returns or raises; a slot
# a killed process never freed expires after CONCURRENCY_SLOT_SECONDS.
CONCURRENCY_LIMITS = {
    "search": (env.int("CONCURRENCY_SEARCH_PER_CALLER", default=2), env.int("CONCURRENCY_SEARCH_TOTAL", default=16)),
    "export": (env.int("CONCURRENCY_EXPORT_PER_CALLER", default=1), env.int("CONCURRENCY_EXPORT_TOTAL", default=2)),
    "history": (env.int("CONCURRENCY_HISTORY_PER_CALLER", default=2), env.int("CONCURRENCY_HISTORY_TOTAL", default=8)),
    "leaderboard": (
        env.int("CONCURRENCY_LEADERBOARD_PER_CALLER", default=2),
        env.int("CONCURRENCY_LEADERBOARD_TOTAL", default=8),
    ),
    "upload": (env.int("CONCURRENCY_UPLOAD_PER_CALLER", default=2), env.int("CONCURRENCY_UPLOAD_TOTAL", default=4)),
}
CONCURRENCY_SLOT_SECONDS = env.int("CONCURRENCY_SLOT_SECONDS", default=120)
CONCURRENCY_RETRY_AFTER = env.int("CONCURRENCY_RETRY_AFTER", default=2)
