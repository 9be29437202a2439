"""The test suite: fast hashing, eager Celery, no outside network."""

from urllib.parse import urlsplit

from .base import *  # noqa: F403
from .base import CACHES, DATABASE_OWNER, DATABASES, MARKET_SOURCE_REGISTRY, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
EVENTS_SPOOL_RETRY_THREAD = False  # the spool's tests drive draining themselves
EVENTS_FAN_OUT_IN_RELAY = False  # no relay loop runs in tests (its own tests turn this on)
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests must never reach the real outside world: adapters are pointed at unroutable hosts and
# tests replay recorded answers through respx.
SOLANA_RPC_URLS = ["http://rpc-1.test", "http://rpc-2.test"]
# Every registered price source at http://<name>.test, with its default URL's path
# (http://coingecko.test/api/v3).
for _source, _spec in MARKET_SOURCE_REGISTRY.items():
    globals()[f"{_source.upper()}_BASE_URL"] = f"http://{_source}.test{urlsplit(_spec['base_url']).path}"
# Each test gets an empty per-process cache; Redis-backed tests ask for the shared one explicitly.
CACHES = {**CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "test"}}
LOGGING_CONFIG = None
# Consumer tests use the in-memory layer; the cross-process tests set the real layers explicitly.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Rate limits are tested explicitly (tests set their own rates); elsewhere they must not interfere.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
THROTTLE_PENALTY_RATE = "100000/min"  # the failing-client penalty too (tests set their own)

# Tests run each in a transaction on one connection; the pool is exercised by `make run` and CI's
# deploy check, not inside the test transactions.
DATABASES["default"]["OPTIONS"].pop("pool", None)
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A request thread's connection kept from one test into the next would outlive that test's database
# access: tests/core/test_asgi_http.py turns holding on where it tests it.
DB_POOL_HOLD_SECONDS = 0

# Row-level security: the test database is created and migrated as the owner, then tests/conftest.py
# grants the app role and switches every connection to it, so the suite runs as production does.
DATABASE_APP_USER = env("DATABASE_APP_USER", default="successkid_app")
for _db in DATABASES.values():
    _db.update(DATABASE_OWNER)
